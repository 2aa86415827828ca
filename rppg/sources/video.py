"""Video files (any container OpenCV reads); cameras are in :mod:`rppg.sources.webcam`."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from rppg.containers import Frame
from rppg.errors import SourceError
from rppg.sources.base import FrameSource


class VideoFileSource(FrameSource):
    """Frames of a video file, timestamped by the container (or by given times).

    ``times`` (seconds, one per frame) overrides the container's timestamps, for
    datasets that record capture times next to the video.
    """

    def __init__(self, path: str | Path, realtime: bool = False, times: np.ndarray | None = None) -> None:
        super().__init__(realtime)
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"video file not found: {self.path}")
        if self.path.stat().st_size == 0:
            raise SourceError(f"video file is empty (0 bytes): {self.path}")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise SourceError(f"cannot decode video file: {self.path}")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if 1.0 <= fps <= 240.0 else 30.0
        self.name = self.path.name
        self.frame_count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self._times = None if times is None else np.asarray(times, dtype=np.float64)
        self._index = 0
        self._t0: float | None = None
        self._last_t = -1.0
        first = self._read_raw()
        if first is None:
            raise SourceError(f"video file has no readable frames: {self.path}")
        self._pending: Frame | None = first

    def _container_time(self) -> float:
        msec = self._cap.get(cv2.CAP_PROP_POS_MSEC)
        return msec / 1000.0 if msec > 0 or self._index == 0 else self._index / self.fps

    def _read_raw(self) -> Frame | None:
        if self._times is not None and self._index >= len(self._times):
            return None
        ok, image = self._cap.read()
        if not ok or image is None:
            return None
        if self._times is not None:
            t = float(self._times[self._index])
        else:
            t = self._container_time()
            # Containers without timestamps, or with repeated ones, fall back to the nominal rate.
            if t <= self._last_t:
                t = self._last_t + 1.0 / self.fps
        self._index += 1
        if self._t0 is None:
            self._t0 = t
        self._last_t = t
        return Frame(image=image, t=t - self._t0)

    def _read(self) -> Frame | None:
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        return self._read_raw()

    def close(self) -> None:
        self._cap.release()

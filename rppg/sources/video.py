"""Video files (any container OpenCV reads); cameras are in :mod:`rppg.sources.webcam`.

A file is decoded on its own thread into a small bounded queue, so decoding the next
frames overlaps the work on the current one (OpenCV releases the GIL while it decodes).
"""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path

import cv2
import numpy as np

from rppg.containers import Frame
from rppg.errors import SourceError
from rppg.sources.base import FrameSource

#: Decoded frames waiting for the consumer: enough to ride out a slow frame, little memory (8 VGA frames: 7 MB).
QUEUE_FRAMES = 8


def _quiet_ffmpeg() -> None:
    """Hide FFmpeg's per-macroblock messages on damaged files ("error while decoding MB ..."):
    the frames that cannot be read are reported in one line by the caller instead. OpenCV reads
    this setting when it opens its first FFmpeg capture; a value the user set is kept."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET


class _End:
    """Queue marker: the reader thread stopped (``error`` set when decoding raised)."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


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
        _quiet_ffmpeg()
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
            self._cap.release()
            raise SourceError(f"video file has no readable frames: {self.path}")
        self._queue: queue.Queue[Frame | _End] = queue.Queue(maxsize=QUEUE_FRAMES)
        self._queue.put(first)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._decode, name=f"decode {self.name}", daemon=True)
        self._thread.start()

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

    def _decode(self) -> None:
        """The reader thread: decode ahead until the end, an error, or close()."""
        end = _End()
        try:
            while not self._stop.is_set():
                frame = self._read_raw()
                if frame is None:
                    break
                self._put(frame)
        except Exception as exc:  # handed to the consumer, raised there
            end = _End(exc)
        self._put(end)

    def _put(self, item: Frame | _End) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _read(self) -> Frame | None:
        if self._done:
            return None
        item = self._queue.get()
        if isinstance(item, _End):
            self._done = True
            if item.error is not None:
                raise SourceError(f"decoding failed: {self.path}: {item.error}") from item.error
            return None
        return item

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._cap.release()

"""Cameras by index, and telling "no such camera" apart from "the camera went away".

A camera that never existed is a configuration error, reported once at start-up.
A camera that was there and stopped delivering is "lost": the live engine retries
it. On Linux the device node ``/dev/videoN`` says which case it is without
opening anything (:mod:`rppg.cameras`); elsewhere opening the camera is the only test.
"""

from __future__ import annotations

import time

import cv2

from rppg.cameras import missing_camera_message
from rppg.containers import Frame
from rppg.errors import SourceError
from rppg.sources.base import FrameSource


def _open_quietly(index: int) -> cv2.VideoCapture:
    """Open a camera without OpenCV's multi-line warnings when it is absent: the caller
    reports that in one line, and a daemon retrying every few seconds must not flood its log."""
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        return cv2.VideoCapture(index)
    finally:
        cv2.utils.logging.setLogLevel(level)


class WebcamSource(FrameSource):
    """A camera by index; timestamps are capture times on the monotonic clock."""

    live = True

    def __init__(self, index: int, width: int = 640, height: int = 480) -> None:
        super().__init__(realtime=False)
        self.index = index
        self.name = f"camera {index}"
        missing = missing_camera_message(index)
        if missing:
            raise SourceError(missing)
        self._cap = _open_quietly(index)
        if not self._cap.isOpened():
            self._cap.release()
            raise SourceError(f"cannot open camera {index} (not connected, or in use by another program)")
        self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if 1.0 <= fps <= 240.0 else 30.0
        self._t0: float | None = None

    def _read(self) -> Frame | None:
        ok, image = self._cap.read()
        now = time.monotonic()
        if not ok or image is None:
            return None
        if self._t0 is None:
            self._t0 = now
        return Frame(image=image, t=now - self._t0)

    def close(self) -> None:
        self._cap.release()

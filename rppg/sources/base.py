"""The frame-source interface."""

from __future__ import annotations

import time
from collections.abc import Iterator

from rppg.containers import Frame


class FrameSource:
    """Iterator of frames with timestamps (seconds from the first frame).

    Subclasses implement :meth:`_read` (next frame or None at the end). With
    ``realtime`` set, frames are released no faster than their timestamps, so a
    file plays like a camera.
    """

    fps: float = 30.0
    name: str = "source"
    live: bool = False  # a camera: can disappear and come back

    def __init__(self, realtime: bool = False) -> None:
        self.realtime = realtime
        self._wall_start: float | None = None

    def _read(self) -> Frame | None:
        raise NotImplementedError

    def close(self) -> None:
        """Release the device or file."""

    def __iter__(self) -> Iterator[Frame]:
        return self

    def __next__(self) -> Frame:
        frame = self._read()
        if frame is None:
            raise StopIteration
        if self.realtime and not self.live:
            self._pace(frame.t)
        return frame

    def _pace(self, t: float) -> None:
        now = time.monotonic()
        if self._wall_start is None:
            self._wall_start = now - t
        delay = self._wall_start + t - now
        if delay > 0:
            time.sleep(delay)

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""Turn a ``--source`` string into a frame source."""

from __future__ import annotations

from pathlib import Path

from rppg.errors import SourceError
from rppg.sources.base import FrameSource
from rppg.sources.demo import DemoSource
from rppg.sources.faulty import PREFIX as FAULTY_PREFIX
from rppg.sources.faulty import FaultySource
from rppg.sources.folder import ImageFolderSource
from rppg.sources.video import VideoFileSource
from rppg.sources.webcam import WebcamSource


def open_source(spec: str, realtime: bool = False) -> FrameSource:
    """``"0"`` (camera index), a video file, an image folder, ``"demo"``, or ``"faulty:KIND?..."``
    (a fault injected into another source, see :mod:`rppg.sources.faulty`)."""
    spec = str(spec).strip()
    if spec == "demo":
        return DemoSource(realtime=realtime)
    if spec.startswith(FAULTY_PREFIX):
        return FaultySource(spec)
    if spec.isdigit():
        return WebcamSource(int(spec))
    path = Path(spec).expanduser()
    if path.is_dir():
        return ImageFolderSource(path, realtime=realtime)
    if path.is_file():
        return VideoFileSource(path, realtime=realtime)
    raise SourceError(f"source not found: {spec!r} (expected a camera index, a video file, an image folder, or 'demo')")

"""A folder of still images (PNG/JPEG/BMP) played as a video."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from rppg.containers import Frame
from rppg.errors import SourceError
from rppg.sources.base import FrameSource

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> list:
    """Sort key that puts ``frame2`` before ``frame10``."""
    return [int(part) if part.isdigit() else part.lower() for part in _DIGITS.split(name)]


def timestamps_from_names(names: list[str], fps: float) -> np.ndarray:
    """Seconds per image: from a long number in each name (ns, us, ms or s epoch) when all
    names carry one that increases; otherwise the nominal rate."""
    stamps = []
    for name in names:
        runs = [int(m) for m in _DIGITS.findall(name) if len(m) >= 10]
        if not runs:
            return np.arange(len(names)) / fps
        stamps.append(runs[-1])
    values = np.asarray(stamps, dtype=np.float64)
    if len(values) > 1 and not np.all(np.diff(values) > 0):
        return np.arange(len(names)) / fps
    scale = 1e9 if values[0] > 1e17 else 1e6 if values[0] > 1e14 else 1e3 if values[0] > 1e11 else 1.0
    return (values - values[0]) / scale


class ImageFolderSource(FrameSource):
    """Images in natural order; timestamps from file names when present."""

    def __init__(self, folder: str | Path, fps: float = 30.0, realtime: bool = False,
                 times: np.ndarray | None = None) -> None:
        super().__init__(realtime)
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise SourceError(f"image folder not found: {self.folder}")
        self.files = sorted((p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
                            key=lambda p: natural_key(p.name))
        if not self.files:
            raise SourceError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in folder: {self.folder}")
        self.times = (np.asarray(times, dtype=np.float64) if times is not None
                      else timestamps_from_names([p.name for p in self.files], fps))
        if len(self.times) != len(self.files):
            raise SourceError(f"{len(self.times)} timestamps for {len(self.files)} images in {self.folder}")
        span = self.times[-1] - self.times[0]
        self.fps = (len(self.files) - 1) / span if span > 0 else fps
        self.name = self.folder.name
        self._index = 0

    def _read(self) -> Frame | None:
        while self._index < len(self.files):
            path = self.files[self._index]
            t = float(self.times[self._index] - self.times[0])
            self._index += 1
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is not None:
                return Frame(image=image, t=t)
        return None

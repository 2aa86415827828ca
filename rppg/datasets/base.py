"""What every dataset loader returns, and the file checks they share.

A :class:`Clip` is one video with its reference pulse, both on one clock whose
origin is the clip's first frame, so evaluation can pair them by time alone.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from rppg.errors import DatasetError
from rppg.sources import FrameSource

log = logging.getLogger("rppg.datasets")

#: Containers the recorder and common re-encodes use; anything cv2 decodes works.
VIDEO_SUFFIXES: tuple[str, ...] = (".avi", ".mp4", ".mkv", ".mov", ".m4v", ".webm")


@dataclass(frozen=True)
class Clip:
    """One evaluation clip: frames to open later, reference pulse loaded now.

    ``frame_times`` and ``ref_times`` are seconds from the clip's first frame.
    """

    id: str
    frame_times: np.ndarray = field(repr=False)
    ref_times: np.ndarray = field(repr=False)
    ref_bvp: np.ndarray = field(repr=False)
    opener: Callable[[], FrameSource] = field(repr=False, compare=False)

    def open_source(self) -> FrameSource:
        """A fresh frame source over the clip (the caller closes it)."""
        return self.opener()

    @property
    def n_frames(self) -> int:
        return len(self.frame_times)

    @property
    def duration_s(self) -> float:
        return float(self.frame_times[-1] - self.frame_times[0]) if self.n_frames else 0.0


@dataclass(frozen=True)
class DatasetFormat:
    """A registry entry: how to find clips under a root, and the layout to name in errors."""

    name: str
    load: Callable[[Path], list[Clip]]
    layout: str


def require_folder(path: str | Path) -> Path:
    """The dataset root as a Path, or a DatasetError saying why it cannot be one."""
    root = Path(path).expanduser()
    if not root.exists():
        raise DatasetError(f"dataset folder not found: {root}")
    if not root.is_dir():
        raise DatasetError(f"dataset path is not a folder: {root}")
    if not any(root.iterdir()):
        raise DatasetError(f"dataset folder is empty: {root}")
    return root


def subfolders(root: Path) -> list[Path]:
    """Child folders in natural order (subject2 before subject10)."""
    from rppg.sources.folder import natural_key

    return sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name))


def clip_folders(root: Path, is_clip: Callable[[Path], bool]) -> list[Path]:
    """``root`` itself when it is one clip, else every child folder that is one, in natural order."""
    return [root] if is_clip(root) else [folder for folder in subfolders(root) if is_clip(folder)]


def check_times(times: np.ndarray, path: Path, what: str) -> np.ndarray:
    """Timestamps must be finite and never go backwards; resampling by time depends on it."""
    if len(times) < 2:
        raise DatasetError(f"{path}: {what} has {len(times)} sample(s); need at least 2")
    if not np.all(np.isfinite(times)):
        raise DatasetError(f"{path}: {what} contains non-finite values")
    back = np.flatnonzero(np.diff(times) < 0)
    if len(back):
        raise DatasetError(f"{path}: {what} go backwards at sample {int(back[0]) + 1}")
    return times


def read_csv_columns(path: Path, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Named numeric columns of a CSV with a header row (names matched case-insensitively)."""
    if not path.is_file():
        raise DatasetError(f"missing file: {path}")
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        rows = [row for row in csv.reader(f) if any(cell.strip() for cell in row)]
    if not rows:
        raise DatasetError(f"{path}: file is empty")
    header = [cell.strip().lower() for cell in rows[0]]
    missing = [c for c in columns if c.lower() not in header]
    if missing:
        raise DatasetError(f"{path}: header must name columns {','.join(columns)}; found {','.join(header)}")
    index = [header.index(c.lower()) for c in columns]
    values = np.empty((len(rows) - 1, len(columns)), dtype=np.float64)
    for r, row in enumerate(rows[1:]):
        for k, i in enumerate(index):
            cell = row[i].strip() if i < len(row) else ""
            try:
                values[r, k] = float(cell)
            except ValueError:
                msg = f"{path}: row {r + 2}, column {columns[k]!r} is not a number: {cell!r}"
                raise DatasetError(msg) from None
    if len(values) == 0:
        raise DatasetError(f"{path}: no data rows after the header")
    return {c: values[:, k] for k, c in enumerate(columns)}


def video_frame_count(path: Path) -> int:
    """Frames the container announces (0 when it does not say); raises if cv2 cannot open it."""
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise DatasetError(f"cannot decode video file: {path}")
        return max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0)
    finally:
        cap.release()


def match_frame_count(times: np.ndarray, video: Path, times_file: Path) -> np.ndarray:
    """Per-frame timestamps cut to the frames the video has; warns once when they disagree."""
    count = video_frame_count(video)
    if count and count != len(times):
        log.warning("%s: %d timestamps in %s for %d video frames; using the first %d",
                    video.parent.name, len(times), times_file.name, count, min(count, len(times)))
        return times[: min(count, len(times))]
    return times

"""UBFC-rPPG DATASET_2: ``subjectN/vid.avi`` (or a re-encoded ``vid.mp4``) and ``ground_truth.txt``.

``ground_truth.txt`` holds three lines of whitespace-separated numbers: the PPG
waveform, the device's heart rate, and the timestamps (seconds), one per video
frame. The heart-rate line is not used: the reference rate is computed from the
waveform by the same method as the estimate.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from rppg.datasets.base import Clip, DatasetFormat, check_times, clip_folders, match_frame_count
from rppg.errors import DatasetError
from rppg.sources.video import VideoFileSource

GROUND_TRUTH = "ground_truth.txt"
VIDEO_NAMES: tuple[str, ...] = ("vid.avi", "vid.mp4")


def _video(folder: Path) -> Path | None:
    return next((folder / name for name in VIDEO_NAMES if (folder / name).is_file()), None)


def _is_subject(folder: Path) -> bool:
    return (folder / GROUND_TRUTH).is_file() or _video(folder) is not None


def read_ground_truth(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(ppg, timestamps) from a ground_truth.txt; DatasetError naming the line when malformed."""
    lines = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    if len(lines) < 3:
        raise DatasetError(f"{path}: expected 3 lines (PPG, HR, timestamps), found {len(lines)}")
    rows = []
    for number in (0, 2):
        tokens = lines[number].split()
        try:
            rows.append(np.array([float(tok) for tok in tokens], dtype=np.float64))
        except ValueError as exc:
            raise DatasetError(f"{path}: line {number + 1} is not a list of numbers ({exc})") from None
    ppg, times = rows
    if len(ppg) != len(times):
        raise DatasetError(f"{path}: {len(ppg)} PPG samples (line 1) but {len(times)} timestamps (line 3)")
    if not np.all(np.isfinite(ppg)):
        raise DatasetError(f"{path}: PPG (line 1) contains non-finite values")
    check_times(times, path, "timestamps (line 3)")
    return ppg, times


def load_subject(folder: Path) -> Clip:
    """One subject folder as a clip; frames and PPG share the ground-truth timestamps."""
    video = _video(folder)
    if video is None:
        raise DatasetError(f"{folder}: no video ({' or '.join(VIDEO_NAMES)}) next to {GROUND_TRUTH}")
    gt_path = folder / GROUND_TRUTH
    if not gt_path.is_file():
        raise DatasetError(f"{folder}: no {GROUND_TRUTH} next to {video.name}")
    ppg, stamps = read_ground_truth(gt_path)
    times = stamps - stamps[0]
    frame_times = match_frame_count(times, video, gt_path)
    return Clip(id=folder.name, frame_times=frame_times, ref_times=times, ref_bvp=ppg,
                opener=partial(VideoFileSource, video, times=frame_times))


def load_ubfc(root: Path) -> list[Clip]:
    """Every subject under ``root`` in natural order, or ``root`` itself when it is one subject."""
    return [load_subject(folder) for folder in clip_folders(root, _is_subject)]


FORMAT = DatasetFormat(
    name="ubfc", load=load_ubfc,
    layout="subjectN/vid.avi (or vid.mp4) with subjectN/ground_truth.txt",
)

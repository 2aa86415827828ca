"""The project's own recording format (also PhysRecorder's): one video, ``frames_timestamp.csv``
(``frame,timestamp``) and ``BVP.csv`` (``timestamp,bvp``), both in Unix seconds on one clock.

The reference runs at its own rate (about 20 Hz for a PhysRecorder finger
sensor); it is paired with the frames by timestamp, never by index.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from rppg.datasets.base import (
    VIDEO_SUFFIXES,
    Clip,
    DatasetFormat,
    check_times,
    clip_folders,
    match_frame_count,
    read_csv_columns,
)
from rppg.errors import DatasetError
from rppg.sources.video import VideoFileSource

FRAMES_CSV = "frames_timestamp.csv"
BVP_CSV = "BVP.csv"


def _is_recording(folder: Path) -> bool:
    return (folder / FRAMES_CSV).is_file()


def find_video(folder: Path) -> Path:
    """The folder's single video file."""
    videos = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    if not videos:
        raise DatasetError(f"{folder}: no video file ({', '.join(VIDEO_SUFFIXES)}) next to {FRAMES_CSV}")
    if len(videos) > 1:
        names = ", ".join(p.name for p in videos)
        raise DatasetError(f"{folder}: several videos ({names}); keep one per recording")
    return videos[0]


def load_recording_folder(folder: Path) -> Clip:
    """One recording; times become seconds from its first frame."""
    video = find_video(folder)
    frames_csv = folder / FRAMES_CSV
    bvp_csv = folder / BVP_CSV
    if not bvp_csv.is_file():
        raise DatasetError(f"{folder}: no {BVP_CSV} (reference pulse, columns timestamp,bvp)")
    stamps = check_times(read_csv_columns(frames_csv, ("frame", "timestamp"))["timestamp"],
                         frames_csv, "frame timestamps")
    ref = read_csv_columns(bvp_csv, ("timestamp", "bvp"))
    ref_stamps = check_times(ref["timestamp"], bvp_csv, "BVP timestamps")
    t0 = stamps[0]
    frame_times = match_frame_count(stamps - t0, video, frames_csv)
    return Clip(id=folder.name, frame_times=frame_times, ref_times=ref_stamps - t0, ref_bvp=ref["bvp"],
                opener=partial(VideoFileSource, video, times=frame_times))


def load_recordings(root: Path) -> list[Clip]:
    """``root`` itself when it is one recording, else every recording folder inside it."""
    return [load_recording_folder(folder) for folder in clip_folders(root, _is_recording)]


FORMAT = DatasetFormat(
    name="recording", load=load_recordings,
    layout=f"a folder with one video, {FRAMES_CSV} (frame,timestamp) and {BVP_CSV} (timestamp,bvp)",
)

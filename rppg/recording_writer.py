"""Writes a session in the ``recording`` dataset format, so it can be evaluated later.

Layout: ``video.mkv`` (FFV1, lossless: the pulse is a colour change of a fraction of
a percent, which any lossy codec, MJPG included, smooths away; every FFV1 frame is
a key frame, so after a crash the file still decodes up to the last block the
muxer flushed, a few frames at most), ``frames_timestamp.csv`` (``frame,timestamp``,
Unix seconds), and optionally ``BVP.csv`` (``timestamp,bvp``, from a reference
sensor on the same clock, written live with :meth:`RecordingWriter.add_bvp` or
afterwards from the sensor's own CSV with :func:`attach_reference`) and
``readings.jsonl`` (one reading per line). Every CSV/JSONL line is flushed as it
is written; the loader keeps the frames both the video and the CSV have.

Lossless costs disk: about 10-15 MB/s at 640x480 and 30 fps for camera footage.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import IO

import cv2
import numpy as np

from rppg.containers import Frame
from rppg.errors import RppgError

VIDEO_NAME = "video.mkv"
VIDEO_CODEC = "FFV1"
FRAMES_CSV = "frames_timestamp.csv"
BVP_CSV = "BVP.csv"
READINGS_JSONL = "readings.jsonl"


class RecordingWriter:
    """Records frames (and optionally reference pulse and readings) into ``out_dir``.

    Frame times (seconds from the source start) become Unix seconds by anchoring
    the first frame to the wall clock, so a reference device that stamps its
    samples with Unix time lines up with the video. ``size`` is (width, height);
    frames of another size are resized so the video stays valid.
    """

    def __init__(self, out_dir: str | Path, fps: float, size: tuple[int, int]) -> None:
        self.out_dir = Path(out_dir)
        self.size = (int(size[0]), int(size[1]))
        if (self.out_dir / FRAMES_CSV).exists():
            raise RppgError(f"{self.out_dir} already holds a recording; choose a new folder")
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RppgError(f"cannot create recording folder {self.out_dir}: {exc.strerror}") from None
        fourcc = cv2.VideoWriter_fourcc(*VIDEO_CODEC)
        video = cv2.VideoWriter(str(self.out_dir / VIDEO_NAME), fourcc, float(fps), self.size)
        if not video.isOpened():
            raise RppgError(f"cannot write {VIDEO_CODEC} video in {self.out_dir} (OpenCV without FFmpeg?)")
        self._video: cv2.VideoWriter | None = video
        self._frames = self._open_text(FRAMES_CSV, "frame,timestamp\n")
        self._bvp: IO[str] | None = None
        self._readings: IO[str] | None = None
        self.epoch: float | None = None  # Unix time of t = 0
        self.frames_written = 0

    def _open_text(self, name: str, header: str = "") -> IO[str]:
        f = (self.out_dir / name).open("w", encoding="utf-8", newline="")
        if header:
            f.write(header)
            f.flush()
        return f

    def unix_time(self, t: float) -> float:
        """Unix seconds of source time ``t`` (anchored at the first frame)."""
        if self.epoch is None:
            self.epoch = time.time() - t
        return self.epoch + t

    def write(self, frame: Frame) -> None:
        """Append one frame to the video and its timestamp to the CSV."""
        if self._video is None:
            raise RppgError(f"recording in {self.out_dir} is closed")
        image = frame.image
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self._video.write(np.ascontiguousarray(image, dtype=np.uint8))
        self._frames.write(f"{self.frames_written},{self.unix_time(frame.t):.6f}\n")
        self._frames.flush()
        self.frames_written += 1

    def add_bvp(self, timestamp: float, value: float) -> None:
        """One reference-pulse sample stamped in Unix seconds (same clock as the frames)."""
        if self._bvp is None:
            self._bvp = self._open_text(BVP_CSV, "timestamp,bvp\n")
        self._bvp.write(f"{timestamp:.6f},{value:.6g}\n")
        self._bvp.flush()

    def add_reading(self, reading_json: dict) -> None:
        """One reading (``Reading.to_json()``), with its Unix ``timestamp`` added when known."""
        if self._readings is None:
            self._readings = self._open_text(READINGS_JSONL)
        record = dict(reading_json)
        if "t" in record and self.epoch is not None:
            record["timestamp"] = round(self.epoch + float(record["t"]), 6)
        self._readings.write(json.dumps(record) + "\n")
        self._readings.flush()

    def close(self) -> None:
        """Finish the video index and close the files; safe to call twice."""
        if self._video is not None:
            self._video.release()
            self._video = None
        for f in (self._frames, self._bvp, self._readings):
            if f is not None and not f.closed:
                f.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: Column names a contact sensor's CSV may use, tried in order (case-insensitive).
TIME_COLUMNS = ("timestamp", "time", "unix_time", "ts", "t")
VALUE_COLUMNS = ("bvp", "ppg", "pulse", "value", "signal", "red", "ir")


def to_unix_seconds(stamps: np.ndarray) -> np.ndarray:
    """Unix time in ns, us, ms or s (told apart by magnitude) -> seconds."""
    first = float(abs(stamps[0])) if len(stamps) else 0.0
    scale = 1e9 if first > 1e17 else 1e6 if first > 1e14 else 1e3 if first > 1e11 else 1.0
    return np.asarray(stamps, np.float64) / scale


def _pick(header: list[str], wanted: str | None, candidates: tuple[str, ...], what: str, path: Path) -> str:
    names = [h.strip().lower() for h in header]
    if wanted is not None:
        if wanted.lower() not in names:
            raise RppgError(f"{path}: no column {wanted!r} (columns: {', '.join(header)})")
        return wanted.lower()
    found = next((c for c in candidates if c in names), None)
    if found is None:
        raise RppgError(f"{path}: cannot tell the {what} column among {', '.join(header)}; name it with "
                        f"--{what}-column")
    return found


def attach_reference(recording: str | Path, sensor_csv: str | Path, time_column: str | None = None,
                     value_column: str | None = None, offset_s: float = 0.0, overwrite: bool = False) -> Path:
    """Write a contact sensor's pulse CSV into a recording as ``BVP.csv`` (Unix seconds, one clock).

    The sensor's timestamps (Unix s/ms/us/ns, plus ``offset_s`` to correct its clock)
    must overlap the frames', so a wrong clock or unit is an error, not a silent
    misalignment. Returns the written path.
    """
    import csv

    from rppg.datasets.base import read_csv_columns

    recording, sensor_csv = Path(recording), Path(sensor_csv)
    frames_csv, out = recording / FRAMES_CSV, recording / BVP_CSV
    if not frames_csv.is_file():
        raise RppgError(f"{recording} is not a recording (no {FRAMES_CSV})")
    if out.exists() and not overwrite:
        raise RppgError(f"{out} exists; pass --overwrite to replace it")
    if not sensor_csv.is_file():
        raise RppgError(f"sensor file not found: {sensor_csv}")
    with sensor_csv.open(newline="", encoding="utf-8", errors="replace") as f:
        header = next(csv.reader(f), [])
    t_col = _pick(header, time_column, TIME_COLUMNS, "time", sensor_csv)
    v_col = _pick(header, value_column, VALUE_COLUMNS, "value", sensor_csv)
    sensor = read_csv_columns(sensor_csv, (t_col, v_col))
    stamps = to_unix_seconds(sensor[t_col]) + offset_s
    order = np.argsort(stamps, kind="stable")
    stamps, values = stamps[order], sensor[v_col][order]
    frames = read_csv_columns(frames_csv, ("frame", "timestamp"))["timestamp"]
    start, end = max(stamps[0], frames[0]), min(stamps[-1], frames[-1])
    if end <= start:
        raise RppgError(f"{sensor_csv.name} ({stamps[0]:.1f}-{stamps[-1]:.1f} s) and the video "
                        f"({frames[0]:.1f}-{frames[-1]:.1f} s, Unix time) do not overlap: check the sensor's "
                        "clock and units, or shift it with --offset")
    with out.open("w", encoding="utf-8", newline="") as f:
        f.write("timestamp,bvp\n")
        f.writelines(f"{t:.6f},{v:.6g}\n" for t, v in zip(stamps, values, strict=True))
    return out

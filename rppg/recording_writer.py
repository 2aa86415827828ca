"""Writes a session in the ``recording`` dataset format, so it can be evaluated later.

Layout: ``video.avi`` (MJPG: every frame is a standalone JPEG, so after a crash the
file still decodes up to the last block the encoder flushed, a few frames at most),
``frames_timestamp.csv`` (``frame,timestamp``, Unix seconds), and optionally
``BVP.csv`` (``timestamp,bvp``, from a reference sensor on the same clock) and
``readings.jsonl`` (one reading per line). Every CSV/JSONL line is flushed as it is
written; the loader keeps the frames both the video and the CSV have.
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

VIDEO_NAME = "video.avi"
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
        fourcc = cv2.VideoWriter_fourcc(*"MJPG")
        video = cv2.VideoWriter(str(self.out_dir / VIDEO_NAME), fourcc, float(fps), self.size)
        if not video.isOpened():
            raise RppgError(f"cannot write MJPG video in {self.out_dir}")
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

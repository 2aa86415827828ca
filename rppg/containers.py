"""Plain result types passed between the pipeline stages and the front ends."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One BGR uint8 image and its capture time in seconds."""

    image: np.ndarray
    t: float


@dataclass(frozen=True)
class FaceBox:
    """A face in pixel coordinates; keypoints are (6, 2): right eye, left eye,
    nose tip, mouth centre, right ear, left ear (mediapipe BlazeFace order)."""

    x: float
    y: float
    w: float
    h: float
    keypoints: np.ndarray | None = None
    score: float = 1.0

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.w / 2.0, self.y + self.h / 2.0

    @property
    def area(self) -> float:
        return self.w * self.h


@dataclass(frozen=True)
class HeartRate:
    """A spectral heart-rate estimate; ``bpm`` is None when the quality gate withheld it."""

    bpm: float | None
    quality: float  # SNR in dB
    peak_bpm: float  # the raw spectral peak, reported even when gated (diagnostics only)


@dataclass(frozen=True)
class Reading:
    """What every front end receives once per second."""

    t: float
    bpm: float | None
    quality: float
    face: bool
    waveform: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    box: FaceBox | None = None
    source: str = "ok"

    def to_json(self) -> dict:
        """The documented JSON schema: t, bpm (or null), quality (dB, or null when there was
        no signal to measure), face (+ source when not ok). Always strict JSON: no NaN/Infinity."""
        out = {
            "t": round(float(self.t), 3),
            "bpm": None if self.bpm is None else round(float(self.bpm), 2),
            "quality": round(float(self.quality), 2) if np.isfinite(self.quality) else None,
            "face": bool(self.face),
        }
        if self.source != "ok":
            out["source"] = self.source
        return out

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
    confidence: float = float("nan")  # calibrated 0-1, where a quality judge scored it
    estimator: str | None = None
    reason: str | None = None


#: Why a reading has no bpm. ``None`` when it has one.
REASONS: tuple[str, ...] = ("warming_up", "no_face", "face_too_small", "low_quality", "source_lost")


@dataclass(frozen=True)
class Reading:
    """What every front end receives once per second.

    ``estimator`` names the method whose waveform gave the bpm, ``confidence`` (0-1) is the
    calibrated probability that the bpm is right, and ``reason`` says why ``bpm`` is None.
    A reading built without a reason gets the obvious one (source lost, no face, low quality).
    """

    t: float
    bpm: float | None
    quality: float
    face: bool
    waveform: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    box: FaceBox | None = None
    source: str = "ok"
    confidence: float = 0.0
    estimator: str | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.bpm is not None:
            object.__setattr__(self, "reason", None)
        elif self.reason is None:
            reason = "source_lost" if self.source != "ok" else "no_face" if not self.face else "low_quality"
            object.__setattr__(self, "reason", reason)
        elif self.reason not in REASONS:
            raise ValueError(f"unknown reason {self.reason!r}")

    def to_json(self) -> dict:
        """The documented JSON schema (README, "Reading schema"): t, bpm (or null), quality (dB, or
        null when there was no signal to measure), confidence, estimator, reason, face (+ source
        when not ok). Always strict JSON: no NaN/Infinity."""
        confidence = float(self.confidence) if np.isfinite(self.confidence) else 0.0
        out = {
            "t": round(float(self.t), 3),
            "bpm": None if self.bpm is None else round(float(self.bpm), 2),
            "quality": round(float(self.quality), 2) if np.isfinite(self.quality) else None,
            "confidence": round(min(max(confidence, 0.0), 1.0), 3),
            "estimator": self.estimator,
            "reason": self.reason,
            "face": bool(self.face),
        }
        if self.source != "ok":
            out["source"] = self.source
        return out

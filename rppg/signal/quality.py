"""Signal quality: is this window's heart rate right? Features of the window -> a calibrated confidence.

One SNR threshold cannot tell a pulse from a face that sways at 1 Hz: both give
one clean spectral peak. A real pulse also shows up in the other method, in
every skin region with the same phase, and in the colour direction of blood
(green against red), and it moves slowly from reading to reading. Each of these
is one feature; a small logistic model, calibrated on windows with and without
a pulse by ``scripts/calibrate_quality.py``, turns them into the probability
that the reading is within 5 bpm of the truth. Its coefficients and the chosen
operating point live in ``quality_model.json`` beside this file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from rppg.errors import ConfigError
from rppg.methods.classical import pos
from rppg.signal.filters import bandpass
from rppg.signal.hr import band_spectrum, refine_peak, snr_db
from rppg.signal.hr_tracking import HrTracker

MODEL_PATH = Path(__file__).with_name("quality_model.json")

#: Feature names, in the order the model's coefficients use.
FEATURES: tuple[str, ...] = ("snr", "peer_snr", "region_agreement", "pulse_colour", "jump")

#: Blood-volume pulse signature in normalised R, G, B (de Haan & van Leest 2014), with its mean taken
#: out: the part that tells blood from a plain brightness change (which moves all channels alike).
_PBV = np.array([0.33, 0.77, 0.53])
_PULSE_CHROMA = (_PBV - _PBV.mean()) / np.linalg.norm(_PBV - _PBV.mean())
_SNR_CLIP_DB = 20.0
_JUMP_CLIP_BPM = 30.0
_NARROW_BPM = 12.0  # half-width of the band around the heart rate where regions are compared


def _snr(wave: np.ndarray | None, fs: float, band: tuple[float, float], bpm: float) -> float:
    if wave is None:
        return float("nan")
    spectrum = band_spectrum(wave, fs, band)
    if spectrum is None:
        return -_SNR_CLIP_DB
    return float(np.clip(snr_db(*spectrum, bpm, band), -_SNR_CLIP_DB, _SNR_CLIP_DB))


def pulse_colour(rgb: np.ndarray | None, fs: float, band: tuple[float, float], bpm: float) -> float:
    """Cosine between the colour change at ``bpm`` (in phase with green) and blood's chroma direction.

    Near 1 for a pulse; near 0 for brightness changes (motion, light drift), which move R, G, B
    by the same fraction; NaN without a colour trace.
    """
    if rgb is None or len(rgb) < 3 or np.any(rgb.mean(axis=0) <= 0):
        return float("nan")
    c = bandpass(rgb / rgb.mean(axis=0) - 1.0, fs, band, axis=0)
    t = np.arange(len(c)) / fs
    coeffs = (np.hanning(len(c)) * np.exp(-2j * np.pi * bpm / 60.0 * t)) @ c  # (3,) complex
    green = coeffs[1]
    if abs(green) == 0:
        return 0.0
    v = np.real(coeffs * np.conj(green)) / abs(green)
    norm = np.linalg.norm(v)
    return float(v @ _PULSE_CHROMA / norm) if norm > 0 else 0.0


def region_agreement(regions: np.ndarray | None, fs: float, bpm: float) -> float:
    """Correlation of the forehead's and the cheeks' POS signals around ``bpm``: a pulse beats in
    phase everywhere on the face, noise in each patch is its own. ``regions`` is (N, 3 regions, RGB)."""
    if regions is None or len(regions) < 2 * fs or np.any(regions.mean(axis=0) <= 0):
        return float("nan")
    forehead = pos(regions[:, 0], fs)
    cheeks = pos(regions[:, 1:].mean(axis=1), fs)
    narrow = (max(bpm - _NARROW_BPM, 20.0), bpm + _NARROW_BPM)
    a, b = bandpass(forehead, fs, narrow, reuse=False), bandpass(cheeks, fs, narrow, reuse=False)
    denom = np.linalg.norm(a - a.mean()) * np.linalg.norm(b - b.mean())
    return float(np.dot(a - a.mean(), b - b.mean()) / denom) if denom > 0 else 0.0


@dataclass(frozen=True)
class QualityModel:
    """Logistic model over standardised features; a missing (NaN) feature counts as average."""

    weights: np.ndarray
    bias: float
    mean: np.ndarray
    std: np.ndarray
    threshold: float

    def confidence(self, features: dict[str, float]) -> float:
        x = np.array([features.get(name, float("nan")) for name in FEATURES], float)
        z = np.where(np.isfinite(x), (x - self.mean) / self.std, 0.0)
        return float(1.0 / (1.0 + np.exp(-(self.bias + z @ self.weights))))

    @classmethod
    def from_dict(cls, data: dict) -> QualityModel:
        if list(data.get("features", [])) != list(FEATURES):
            raise ConfigError(f"quality model features {data.get('features')} do not match {list(FEATURES)}")
        return cls(np.asarray(data["weights"], float), float(data["bias"]), np.asarray(data["mean"], float),
                   np.maximum(np.asarray(data["std"], float), 1e-9), float(data["threshold"]))


@lru_cache(maxsize=4)
def load_model(path: str | None = None) -> QualityModel:
    """The calibrated model shipped with the package (or the one at ``path``)."""
    path = str(MODEL_PATH) if path is None else path
    try:
        return QualityModel.from_dict(json.loads(Path(path).read_text()))
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"cannot read the quality model {path}: {exc}") from exc


@dataclass(frozen=True)
class Verdict:
    """One window judged: the tracked bpm (None when withheld), its confidence and where it came from."""

    bpm: float | None
    confidence: float
    quality: float  # harmonic-aware SNR (dB) of the chosen waveform at the bpm
    estimator: str | None
    wave: int  # index of the chosen waveform
    candidate_bpm: float | None  # the tracked bpm before the confidence gate
    features: dict[str, float] = field(default_factory=dict)


class Judge:
    """Chooses the waveform, tracks the heart rate across readings and scores the result.

    ``threshold`` overrides the model's operating point (``0`` answers every window, for
    calibration); ``track=False`` judges every window on its own.
    """

    def __init__(self, band: tuple[float, float], fs: float, model: QualityModel | None = None,
                 threshold: float | None = None, track: bool = True) -> None:
        self.band, self.fs = band, fs
        self.model = load_model() if model is None else model
        self.threshold = self.model.threshold if threshold is None else threshold
        self.tracker = HrTracker(band) if track else None

    def reset(self) -> None:
        if self.tracker is not None:
            self.tracker.reset()

    def __call__(self, t: float, waves: dict[str, np.ndarray], rgb: np.ndarray | None = None,
                 regions: np.ndarray | None = None, peer: np.ndarray | None = None) -> Verdict:
        """Judge the window ending at ``t``. ``waves``: estimator name -> BVP (the candidates);
        ``peer``: an independent BVP to check agreement with when there is only one candidate."""
        names = list(waves)
        spectra = [band_spectrum(waves[n], self.fs, self.band) for n in names]
        if all(s is None for s in spectra):
            return Verdict(None, 0.0, float("-inf"), None, 0, None)
        peaks, snrs = [], []
        for s in spectra:
            if s is None:
                peaks.append(float("nan"))
                snrs.append(-np.inf)
                continue
            inside = s[0] <= self.band[1]
            peaks.append(refine_peak(s[0], s[1], int(np.argmax(np.where(inside, s[1], -1.0)))))
            snrs.append(snr_db(*s, peaks[-1], self.band))
        best = int(np.argmax(snrs))
        freqs, power = spectra[best]
        previous = self.tracker.bpm if self.tracker is not None else None
        if self.tracker is not None:
            inside = freqs <= self.band[1]
            bpm = self.tracker.update(t, freqs[inside], power[inside])
        else:
            bpm = peaks[best]
        others = [waves[n] for i, n in enumerate(names) if i != best]
        peer_wave = others[0] if others else peer
        features = {
            "snr": _snr(waves[names[best]], self.fs, self.band, bpm),
            "peer_snr": _snr(peer_wave, self.fs, self.band, bpm),
            "region_agreement": region_agreement(regions, self.fs, bpm),
            "pulse_colour": pulse_colour(rgb, self.fs, self.band, bpm),
            "jump": float("nan") if previous is None else min(abs(peaks[best] - previous), _JUMP_CLIP_BPM),
        }
        confidence = self.model.confidence(features)
        quality = snr_db(freqs, power, bpm, self.band)
        return Verdict(bpm if confidence >= self.threshold else None, confidence, quality, names[best], best, bpm,
                       features)

"""The blood-volume pulse: real beat shapes strung along a varying heart rate.

Sign convention: BVP up = more blood in the skin = skin darker (mostly in green). The
beat shapes come from fingertip-camera PPG, whose raw brightness falls when blood volume
rises; the template builder negated them, so here a beat rises fast (systole), peaks,
and decays with a dicrotic notch, like a contact PPG reference.

A :class:`PulseTrain` is built once per clip; it can then be evaluated at any times
(frame times, or frame times minus a region's phase delay).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from rppg.synth.spec import SynthSpec

TEMPLATES_FILE = Path(__file__).with_name("ppg_templates.npz")
REF_BEAT_S = 0.8  # beat duration (75 bpm) at which a template is used unwarped


@lru_cache(maxsize=1)
def beat_templates() -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """(templates (K, 64) foot-to-foot beats with peak 1, RR deviation sequences (relative))."""
    with np.load(TEMPLATES_FILE) as z:
        templates = z["templates"].astype(np.float64)
        rr = np.split(z["rr_rel"].astype(np.float64), np.cumsum(z["rr_lengths"])[:-1])
    return templates, tuple(rr)


@dataclass(frozen=True)
class PulseTrain:
    """Beats as (onset time, duration, amplitude, shape); evaluates to BVP and heart rate."""

    onsets: np.ndarray  # (B,) seconds
    durations: np.ndarray  # (B,) seconds
    amplitudes: np.ndarray  # (B,)
    shapes: np.ndarray  # (B, 64) per-beat shape (already warped for its duration)
    wander_amp: float
    resp_hz: float
    resp_phase: float

    def _beat_index(self, t: np.ndarray) -> np.ndarray:
        return np.clip(np.searchsorted(self.onsets, t, side="right") - 1, 0, len(self.onsets) - 1)

    def bvp(self, t: np.ndarray) -> np.ndarray:
        """Blood volume at times ``t`` (a beat spans about 0..1, plus respiratory baseline wander)."""
        t = np.asarray(t, np.float64)
        i = self._beat_index(t)
        pos = np.clip((t - self.onsets[i]) / self.durations[i], 0.0, 1.0) * (self.shapes.shape[1] - 1)
        j = np.minimum(pos.astype(np.int64), self.shapes.shape[1] - 2)
        frac = pos - j
        beat = self.shapes[i, j] * (1 - frac) + self.shapes[i, j + 1] * frac
        wander = self.wander_amp * np.sin(2 * np.pi * self.resp_hz * t + self.resp_phase)
        return self.amplitudes[i] * beat + wander

    def hr(self, t: np.ndarray) -> np.ndarray:
        """Instantaneous heart rate (bpm): 60 / duration of the beat in progress."""
        return 60.0 / self.durations[self._beat_index(np.asarray(t, np.float64))]


def _smooth_wander(rng: np.random.Generator, t: np.ndarray, std: float) -> np.ndarray:
    """Slow random variation (periods of 20-100 s) with the given std."""
    if std <= 0:
        return np.zeros_like(t)
    freqs = rng.uniform(0.01, 0.05, 3)
    phases = rng.uniform(0, 2 * np.pi, 3)
    w = np.sin(2 * np.pi * freqs[:, None] * t[None] + phases[:, None]).sum(0)
    return std * w / np.sqrt(1.5)


def _warp(shape: np.ndarray, duration: float) -> np.ndarray:
    """Fast beats keep their systolic upstroke and lose diastole: stretch the start of the beat."""
    gamma = (REF_BEAT_S / duration) ** 0.35
    u = np.linspace(0.0, 1.0, len(shape)) ** gamma
    return np.interp(u, np.linspace(0.0, 1.0, len(shape)), shape)


def make_pulse(spec: SynthSpec, rng: np.random.Generator, t_start: float, t_end: float) -> PulseTrain:
    """Beats covering [t_start, t_end] for the spec's heart rate, variability and respiration."""
    templates, rr_sets = beat_templates()
    k = spec.template % len(templates) if spec.template >= 0 else int(rng.integers(len(templates)))
    k2 = int(rng.integers(len(templates)))
    # a real RR-deviation sequence, cut to this clip's beats and made zero-mean over them, so the
    # clip's mean heart rate is the spec's (trend and wander aside)
    source = rr_sets[int(rng.integers(len(rr_sets)))]
    n_beats = int((t_end - t_start + 2.0) * 240.0 / 60.0) + 2
    rr_pattern = np.take(source, np.arange(n_beats) + int(rng.integers(len(source))), mode="wrap")
    expected = int((t_end - t_start) * spec.hr_bpm / 60.0) + 1
    rr_pattern = rr_pattern - rr_pattern[:expected].mean()
    rr_pattern /= rr_pattern[:expected].std() + 1e-9
    resp_phase = rng.uniform(0, 2 * np.pi)
    rsa_share = rng.uniform(0.3, 0.8)  # part of the variability that follows breathing

    span = t_end - t_start
    grid = np.linspace(t_start, t_end, max(2, int(span * 4)))
    hr_curve = spec.hr_bpm + spec.hr_trend_bpm * ((grid - t_start) / max(span, 1e-9) - 0.5)
    hr_curve = np.clip(hr_curve + _smooth_wander(rng, grid, spec.hr_wander_bpm), 30.0, 240.0)

    onsets, durations = [], []
    t = t_start - rng.uniform(0, 60.0 / spec.hr_bpm)
    n = 0
    while t < t_end:
        mean_rr = 60.0 / np.interp(t, grid, hr_curve)
        rsa = np.sin(2 * np.pi * spec.resp_hz * t + resp_phase) * np.sqrt(2)
        pattern = rr_pattern[min(n, len(rr_pattern) - 1)]
        hrv = spec.hrv * min(1.0, (75.0 * mean_rr / 60.0) ** 1.5)  # variability shrinks at high rates
        dev = hrv * (np.sqrt(rsa_share) * rsa + np.sqrt(1 - rsa_share) * pattern)
        rr = float(np.clip(mean_rr * (1 + dev), 60.0 / 240.0, 60.0 / 30.0))
        onsets.append(t)
        durations.append(rr)
        t += rr
        n += 1
    onsets_a, durations_a = np.array(onsets), np.array(durations)

    resp = np.sin(2 * np.pi * spec.resp_hz * onsets_a + resp_phase)
    amps = 1.0 + spec.beat_amp_jitter * rng.standard_normal(len(onsets_a)) + spec.resp_amp_mod * resp
    amps = np.clip(amps, 0.3, 2.0)
    # slow morph toward a second real shape: beat shapes drift a little, as in real recordings
    mix = np.clip(np.cumsum(rng.normal(0, 0.03, len(onsets_a))), -0.3, 0.3)
    mix = np.abs(mix)[:, None]
    base = (1 - mix) * templates[k] + mix * templates[k2]
    shapes = np.stack([_warp(s, d) for s, d in zip(base, durations_a, strict=True)])
    return PulseTrain(onsets_a, durations_a, amps, shapes, spec.baseline_wander, spec.resp_hz, resp_phase)

"""Head motion over time: smooth random walk, sudden moves, breathing and talking.

All trajectories are computed once per clip at the frame times; the renderer reads
one row per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from rppg.synth.spec import SynthSpec


@dataclass(frozen=True)
class Motion:
    """Per-frame pose: offsets (pixels, relative to the face box size), rotation (deg), scale, jaw (0..1)."""

    dx: np.ndarray
    dy: np.ndarray
    angle: np.ndarray
    scale: np.ndarray
    jaw: np.ndarray


def random_walk(rng: np.random.Generator, t: np.ndarray, std: float, tau: float) -> np.ndarray:
    """Ornstein-Uhlenbeck random walk (std ``std``, correlation time ``tau`` s) sampled at ``t``,
    smoothed so the velocity is continuous."""
    if std <= 0 or len(t) < 2:
        return np.zeros_like(t)
    dt = 0.02
    grid = np.arange(t[0] - 1.0, t[-1] + 1.0 + dt, dt)
    a = np.exp(-dt / tau)
    noise = rng.standard_normal(len(grid)) * std * np.sqrt(1 - a * a)
    x0 = rng.standard_normal() * std
    x = lfilter([1.0], [1.0, -a], noise, zi=[a * x0])[0]
    k = int(0.15 / dt)
    x = np.convolve(x, np.ones(2 * k + 1) / (2 * k + 1), mode="same")
    return np.interp(t, grid, x)


def sudden_moves(rng: np.random.Generator, t: np.ndarray, per_min: float, size: float) -> np.ndarray:
    """Fast moves: go somewhere in 0.15-0.5 s, stay 0.5-4 s, come back."""
    out = np.zeros_like(t)
    if per_min <= 0 or size <= 0:
        return out
    n = rng.poisson(per_min * (t[-1] - t[0] + 1e-9) / 60.0)
    for start in rng.uniform(t[0], t[-1], n):
        rise, hold = rng.uniform(0.15, 0.5), rng.uniform(0.5, 4.0)
        amp = rng.normal(0, size)
        out += amp * (_step(t - start - rise / 2, rise) - _step(t - start - rise - hold - rise / 2, rise))
    return out


def _step(dt: np.ndarray, rise: float) -> np.ndarray:
    """A smooth 0 -> 1 step centred on dt = 0 over about ``rise`` seconds (a logistic; the exponent is
    clipped, so far from the step it is 1 or vanishingly small instead of an overflow warning)."""
    return 1 / (1 + np.exp(np.clip(-dt * 8 / rise, -700.0, 700.0)))


def _talking(rng: np.random.Generator, t: np.ndarray, level: float) -> np.ndarray:
    """Jaw opening 0..level: syllables at 3-6 Hz inside phrases of 1-4 s with pauses."""
    if level <= 0:
        return np.zeros_like(t)
    syll = rng.uniform(3, 6)
    phase = 2 * np.pi * syll * t + 0.8 * np.sin(2 * np.pi * rng.uniform(0.3, 1.0) * t)
    opening = np.clip(np.sin(phase), 0, 1) ** 1.5
    env = np.zeros_like(t)
    s = t[0] - rng.uniform(0, 2)
    while s < t[-1]:
        length = rng.uniform(1, 4)
        env += (t >= s) & (t < s + length)
        s += length + rng.uniform(0.3, 2.0)
    return level * opening * np.clip(env, 0, 1)


def make_motion(spec: SynthSpec, rng: np.random.Generator, t: np.ndarray) -> Motion:
    """Pose of the head at times ``t``; translations are in units of the face box size."""
    m = spec.motion
    resp = np.sin(2 * np.pi * spec.resp_hz * t + rng.uniform(0, 2 * np.pi))
    jaw = _talking(rng, t, spec.talking)
    dx = random_walk(rng, t, 0.04 * m, rng.uniform(0.5, 3)) + random_walk(rng, t, 0.004 * m, 0.1) \
        + sudden_moves(rng, t, spec.fast_moves_per_min, 0.15 * min(m, 1.5))
    dy = random_walk(rng, t, 0.03 * m, rng.uniform(0.5, 3)) + random_walk(rng, t, 0.004 * m, 0.1) \
        + sudden_moves(rng, t, spec.fast_moves_per_min * 0.5, 0.1 * min(m, 1.5)) \
        + 0.003 * resp * min(m * 2, 1) + 0.02 * jaw
    angle = random_walk(rng, t, spec.rotation_deg * min(m, 1.5), rng.uniform(1, 4)) \
        + sudden_moves(rng, t, spec.fast_moves_per_min * 0.5, spec.rotation_deg)
    scale = 1 + random_walk(rng, t, spec.scale_var * min(m, 1.5), rng.uniform(2, 6)) + 0.002 * resp * min(m * 2, 1)
    return Motion(dx, dy, angle, np.clip(scale, 0.7, 1.4), jaw)

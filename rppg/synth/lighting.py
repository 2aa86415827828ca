"""Scene illumination over time: drift, sudden steps, mains flicker, colour and direction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rppg.synth.motion import random_walk, sudden_moves
from rppg.synth.spec import SynthSpec

LINE_TIME_S = 1 / 30 / 500  # rolling-shutter time per sensor row: flicker shows as moving bands


@dataclass(frozen=True)
class Lighting:
    """Per-frame BGR gains (N, 3), a static directional field (H, W, 1), and flicker parameters."""

    gains: np.ndarray
    field: np.ndarray | None
    flicker: float
    flicker_hz: float
    flicker_phase: float

    def rows(self, t: float, height: int) -> np.ndarray | None:
        """Per-row flicker factor (H, 1, 1) for a frame exposed from time ``t``; None without flicker."""
        if self.flicker <= 0:
            return None
        tr = t + np.arange(height, dtype=np.float64) * LINE_TIME_S
        f = 1 + self.flicker * np.cos(2 * np.pi * self.flicker_hz * tr + self.flicker_phase)
        return f.astype(np.float32)[:, None, None]


def camera_steps(spec: SynthSpec, rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """(N, 3) gains of a camera's automatic white balance and exposure re-adjusting in steps:
    per-channel steps of a few percent (white balance) and all-channel steps (exposure)."""
    out = np.ones((len(t), 3))
    if spec.wb_steps_per_min > 0:
        out *= 1 + np.stack([sudden_moves(rng, t, spec.wb_steps_per_min, 0.03) for _ in range(3)], axis=1)
    if spec.exposure_steps_per_min > 0:
        out *= (1 + sudden_moves(rng, t, spec.exposure_steps_per_min, 0.08))[:, None]
    return np.clip(out, 0.5, 2.0)


def make_lighting(spec: SynthSpec, rng: np.random.Generator, t: np.ndarray) -> Lighting:
    level = 1 + random_walk(rng, t, spec.light_drift, rng.uniform(3, 15))
    level = level + sudden_moves(rng, t, spec.light_steps_per_min, 0.15)
    level = np.clip(level, 0.2, 3.0) * spec.brightness
    tint = np.asarray(spec.light_rgb, np.float64)[::-1]  # RGB -> BGR
    colour_drift = 1 + np.stack([random_walk(rng, t, spec.light_drift * 0.3, 10.0) for _ in range(3)], axis=1)
    gains = level[:, None] * tint[None] * colour_drift * camera_steps(spec, rng, t)
    gains = gains.astype(np.float32)
    field = None
    if spec.light_gradient > 0:
        h, w = spec.height, spec.width
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        a = rng.uniform(0, 2 * np.pi)
        ramp = (np.cos(a) * (xx - w / 2) + np.sin(a) * (yy - h / 2)) / max(h, w)
        field = (1 + spec.light_gradient * ramp)[..., None].astype(np.float32)
    return Lighting(gains, field, spec.flicker, spec.flicker_hz, rng.uniform(0, 2 * np.pi))

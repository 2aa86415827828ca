"""Backgrounds behind the face: solid, gradient, textured noise, or blurred random shapes."""

from __future__ import annotations

import cv2
import numpy as np

from rppg.synth.face import smooth_noise


def _gradient(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(a) * xx / w + np.sin(a) * yy / h
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    c0, c1 = rng.uniform(10, 245, 3), rng.uniform(10, 245, 3)
    return (c0 + (c1 - c0) * ramp[..., None]).astype(np.float32)


def _noise(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    base = rng.uniform(30, 220, 3).astype(np.float32)
    tex = sum(rng.uniform(3, 25) * smooth_noise(rng, h, w, s) for s in (2.0, max(h, w) / 20, max(h, w) / 5))
    tint = rng.uniform(0.7, 1.3, 3).astype(np.float32)
    return base + tex[..., None] * tint


def _shapes(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    img = _gradient(rng, h, w)
    for _ in range(int(rng.integers(4, 16))):
        color = tuple(float(c) for c in rng.uniform(0, 255, 3))
        x, y = int(rng.uniform(0, w)), int(rng.uniform(0, h))
        sx, sy = int(rng.uniform(0.03, 0.3) * w) + 1, int(rng.uniform(0.03, 0.3) * h) + 1
        if rng.random() < 0.5:
            cv2.rectangle(img, (x - sx, y - sy), (x + sx, y + sy), color, -1)
        else:
            cv2.ellipse(img, (x, y), (sx, sy), rng.uniform(0, 180), 0, 360, color, -1)
    return cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 0.02 * max(h, w) + 0.6))


_KINDS = {
    "solid": lambda rng, h, w: np.broadcast_to(rng.uniform(10, 245, 3).astype(np.float32), (h, w, 3)).copy(),
    "gradient": _gradient,
    "noise": _noise,
    "shapes": _shapes,
}


def make_background(kind: str, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """float32 (h, w, 3) BGR background of the given kind (one of rppg.synth.spec.BACKGROUNDS)."""
    return np.clip(_KINDS[kind](rng, h, w), 0, 255).astype(np.float32)

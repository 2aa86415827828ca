"""Window augmentations that mimic what happens between the tracker's box and the face in use.

A head that sways moves inside the crop: the tracker's smoothed box lags it, and BlazeFace's box
follows the head's outline while the skin texture turns with it. On the real clip the face shifts
inside the crop and back within about a second, on the time scale of a heartbeat, and networks
that take the intensity changes this causes for a pulse read them as the heart rate. ``sway`` moves and scales the
crop content along a smooth random path with components in and below the band, so the pulse
target stays the same while the motion changes: the network learns to ignore it.
"""

from __future__ import annotations

import cv2
import numpy as np

from rppg.constants import MODEL_FPS

#: Frequencies of the sway's components (Hz): from slow drift to the top of the heart-rate band.
SWAY_HZ = (0.1, 3.0)


def sway_path(rng: np.random.Generator, n: int, max_px: float, max_scale: float) -> np.ndarray:
    """(n, 3) per-frame (dx, dy, scale) of a smooth path: two sinusoids per axis, random phases."""
    t = np.arange(n) / MODEL_FPS
    path = np.zeros((n, 3))
    for axis, limit in ((0, max_px), (1, max_px), (2, max_scale)):
        amps = rng.uniform(0, limit, 2) / 2
        freqs = np.exp(rng.uniform(*np.log(SWAY_HZ), 2))
        phases = rng.uniform(0, 2 * np.pi, 2)
        path[:, axis] = (amps[:, None] * np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None])).sum(0)
    path[:, 2] += 1.0
    return path


def sway(crops: np.ndarray, rng: np.random.Generator, max_px: float, max_scale: float = 0.04) -> np.ndarray:
    """uint8 (n, S, S, 3) crops whose content moves by up to ``max_px`` pixels and scales by up to
    ``max_scale`` along one smooth random path (edges replicated, as a slightly larger crop would)."""
    crops = np.ascontiguousarray(crops)  # a flipped window is a view with a negative stride
    n, side = crops.shape[0], crops.shape[1]
    centre = (side - 1) / 2
    out = np.empty_like(crops)
    for i, (dx, dy, s) in enumerate(sway_path(rng, n, max_px, max_scale)):
        m = np.array([[s, 0, (1 - s) * centre + dx], [0, s, (1 - s) * centre + dy]], np.float32)
        out[i] = cv2.warpAffine(crops[i], m, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out

"""The one input normalisation shared by inference, training and export (DiffNormalized).

Frame-to-frame normalised differences remove skin tone and the illumination level,
which is what lets a network trained on synthetic faces transfer to real video.
"""

from __future__ import annotations

import numpy as np

#: Bumped whenever :func:`preprocess` or :func:`preprocess_label` changes; stored in weight files.
NORM_VERSION = "diffnorm-v1"

_EPS = 1e-6
_CLIP = 5.0


def preprocess(crops: np.ndarray) -> np.ndarray:
    """uint8 (T, H, W, 3) BGR crops -> float32 (3, T, H, W) RGB normalised differences.

    d(t) = (c(t+1) - c(t)) / (c(t+1) + c(t)), divided by its std over the window and
    clipped to +-5; the last step is zero so the output keeps T frames.
    """
    if crops.ndim != 4 or crops.shape[-1] != 3:
        raise ValueError(f"crops must be (T, H, W, 3), got {crops.shape}")
    c = crops[..., ::-1].astype(np.float32)
    d = np.zeros_like(c)
    d[:-1] = (c[1:] - c[:-1]) / (c[1:] + c[:-1] + _EPS)
    std = float(d[:-1].std()) if len(c) > 1 else 0.0
    d /= std + _EPS
    np.clip(d, -_CLIP, _CLIP, out=d)
    return np.ascontiguousarray(d.transpose(3, 0, 1, 2))


def preprocess_label(bvp: np.ndarray) -> np.ndarray:
    """Reference BVP (T,) -> float32 (T,) standardised first difference (the training target)."""
    b = np.asarray(bvp, np.float32)
    d = np.zeros_like(b)
    d[:-1] = np.diff(b)
    d /= float(d[:-1].std()) + _EPS if len(b) > 1 else 1.0
    return d


def integrate(diff: np.ndarray) -> np.ndarray:
    """Network output (a derivative signal) -> a pulse-shaped waveform, linear trend removed."""
    d = np.asarray(diff, np.float64)
    x = np.concatenate([[0.0], np.cumsum(d[:-1])])  # d(t) = b(t+1) - b(t), so b(t) sums d before t
    n = np.arange(len(x), dtype=np.float64)
    if len(x) > 1:
        x -= np.polyval(np.polyfit(n, x, 1), n)
    s = x.std()
    return (x / s if s > 0 else x).astype(np.float32)

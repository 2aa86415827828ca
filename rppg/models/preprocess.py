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


#: Frames normalised at a time: bounds the float scratch to about a megabyte per block, where the
#: whole window at once would allocate several float copies of it every reading.
_BLOCK_FRAMES = 32


def preprocess(crops: np.ndarray, frames: int | None = None) -> np.ndarray:
    """uint8 (T, H, W, 3) BGR crops -> float32 (3, frames, H, W) RGB normalised differences.

    d(t) = (c(t+1) - c(t)) / (c(t+1) + c(t)), divided by its std over the window and
    clipped to +-5; the last step is zero so the output keeps T frames. ``frames`` (at least T,
    default T) pads the end with zeros, as the networks' time padding wants, without a copy.
    """
    if crops.ndim != 4 or crops.shape[-1] != 3:
        raise ValueError(f"crops must be (T, H, W, 3), got {crops.shape}")
    t = len(crops)
    frames = t if frames is None else frames
    if frames < t:
        raise ValueError(f"cannot pad {t} frames to {frames}")
    d = np.zeros((3, frames, *crops.shape[1:3]), np.float32)
    rgb = crops[..., ::-1]
    total = total_sq = 0.0
    for start in range(0, t - 1, _BLOCK_FRAMES):
        stop = min(start + _BLOCK_FRAMES, t - 1)
        now, nxt = rgb[start:stop].astype(np.float32), rgb[start + 1:stop + 1].astype(np.float32)
        den = nxt + now
        den += _EPS
        nxt -= now
        nxt /= den
        d[:, start:stop] = nxt.transpose(3, 0, 1, 2)
        total += float(nxt.sum(dtype=np.float64))
        total_sq += float(np.square(nxt, out=nxt).sum(dtype=np.float64))
    n = (t - 1) * d[0, 0].size * 3
    std = float(np.sqrt(max(total_sq / n - (total / n) ** 2, 0.0))) if n else 0.0
    d /= std + _EPS
    np.clip(d, -_CLIP, _CLIP, out=d)
    return d


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

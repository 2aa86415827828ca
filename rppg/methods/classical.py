"""Classical rPPG methods: RGB trace (N, 3) sampled at ``fs`` -> BVP (N,).

GREEN (Verkruysse 2008), CHROM (de Haan & Jeanne 2013) and POS (Wang et al.
2017). CHROM and POS work on overlapping windows of about 1.6 s, normalised by
their own mean, and overlap-add the result, as in the papers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rppg.constants import HR_MAX_BPM, HR_MIN_BPM
from rppg.signal.filters import bandpass

_WINDOW_S = 1.6


def _window_length(fs: float) -> int:
    return max(int(round(_WINDOW_S * fs)), 2)


def green(rgb: np.ndarray, fs: float) -> np.ndarray:
    """The green channel, inverted (more blood, darker skin) and normalised by its mean."""
    g = np.asarray(rgb, np.float64)[:, 1]
    return -(g / max(np.mean(g), 1e-9) - 1.0)


def _overlap_add(rgb: np.ndarray, fs: float, project: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Run ``project`` on every window (all at once, shape (W, L, 3)) and overlap-add the
    standardised results."""
    rgb = np.asarray(rgb, np.float64)
    n = len(rgb)
    length = min(_window_length(fs), n)
    blocks = np.lib.stride_tricks.sliding_window_view(rgb, length, axis=0).transpose(0, 2, 1)
    mean = blocks.mean(axis=1, keepdims=True)
    valid = np.all(mean > 0, axis=2)[:, 0]
    h = project(blocks / np.where(mean > 0, mean, 1.0))
    h = h - h.mean(axis=1, keepdims=True)
    std = h.std(axis=1, keepdims=True)
    h = np.where((std > 0) & valid[:, None], h / np.where(std > 0, std, 1.0), 0.0)
    out = np.zeros(n)
    for offset in range(length):  # L additions of strided views instead of W window loops
        out[offset:offset + len(h)] += h[:, offset]
    return out


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sa, sb = a.std(axis=1, keepdims=True), b.std(axis=1, keepdims=True)
    return np.where(sb > 0, sa / np.where(sb > 0, sb, 1.0), 0.0)


def _pos_project(cn: np.ndarray) -> np.ndarray:
    s1 = cn[..., 1] - cn[..., 2]
    s2 = -2.0 * cn[..., 0] + cn[..., 1] + cn[..., 2]
    return s1 + _ratio(s1, s2) * s2


def pos(rgb: np.ndarray, fs: float) -> np.ndarray:
    """Plane-orthogonal-to-skin projection, overlap-added over 1.6 s windows."""
    return _overlap_add(rgb, fs, _pos_project)


def chrom(rgb: np.ndarray, fs: float) -> np.ndarray:
    """Chrominance method; each window's chrominance signals are band-passed before the alpha tuning."""
    band = (HR_MIN_BPM, HR_MAX_BPM)

    def project(cn: np.ndarray) -> np.ndarray:
        xs = 3.0 * cn[..., 0] - 2.0 * cn[..., 1]
        ys = 1.5 * cn[..., 0] + cn[..., 1] - 1.5 * cn[..., 2]
        if cn.shape[1] > 12:
            xs, ys = bandpass(xs, fs, band, axis=1), bandpass(ys, fs, band, axis=1)
        return xs - _ratio(xs, ys) * ys

    return _overlap_add(rgb, fs, project)


CLASSICAL_METHODS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "green": green,
    "chrom": chrom,
    "pos": pos,
}

"""Band-pass filtering and timestamp-based resampling."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal


@lru_cache(maxsize=32)
def _butter_sos(fs: float, lo_hz: float, hi_hz: float, order: int) -> np.ndarray:
    nyq = fs / 2.0
    hi = min(hi_hz, 0.95 * nyq)
    return signal.butter(order, [lo_hz / nyq, hi / nyq], btype="bandpass", output="sos")


def bandpass(x: np.ndarray, fs: float, band_bpm: tuple[float, float], order: int = 2, axis: int = -1) -> np.ndarray:
    """Zero-phase Butterworth band-pass; the band is given in beats per minute."""
    x = np.asarray(x, np.float64)
    sos = _butter_sos(float(fs), band_bpm[0] / 60.0, band_bpm[1] / 60.0, order)
    padlen = min(3 * (2 * len(sos) + 1), x.shape[axis] - 1)
    return signal.sosfiltfilt(sos, x, axis=axis, padlen=padlen)


def _interp_weights(t: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each grid time: the index of the sample at or before it and the weight of the next
    one, clamped at both ends as ``np.interp`` does."""
    idx = np.clip(np.searchsorted(t, grid, side="right") - 1, 0, len(t) - 2)
    span = t[idx + 1] - t[idx]
    frac = np.divide(grid - t[idx], span, out=np.zeros_like(grid), where=span > 0)
    return idx, np.clip(frac, 0.0, 1.0)


def resample_uniform(t: np.ndarray, x: np.ndarray, fs: float, t0: float | None = None,
                     t1: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation of samples at irregular times ``t`` onto a grid at ``fs`` Hz.

    ``x`` may be (N,) or (N, ...) (e.g. N crops): every column is interpolated at once with
    one gather and one blend, no loop over columns. float32 input stays float32 (crops are
    large); anything else comes back as float64. The grid runs from ``t0`` (default first
    time) to ``t1`` (default last time), inclusive where it lands on a sample; outside the
    samples the end values are held.
    """
    t = np.asarray(t, np.float64)
    x = np.asarray(x)
    dtype = np.float32 if x.dtype == np.float32 else np.float64
    if len(t) == 0:
        return np.zeros(0), x[:0].astype(dtype)
    t0 = t[0] if t0 is None else t0
    t1 = t[-1] if t1 is None else t1
    n = int(np.floor((t1 - t0) * fs + 1e-9)) + 1
    grid = t0 + np.arange(max(n, 0)) / fs
    if x.ndim == 1:
        return grid, np.interp(grid, t, x.astype(np.float64))
    flat = x.reshape(len(x), -1)
    if len(t) == 1:
        out = np.repeat(flat.astype(dtype), len(grid), axis=0)
    else:
        idx, frac = _interp_weights(t, grid)
        frac = frac.astype(dtype)[:, None]
        lo, hi = flat[idx].astype(dtype), flat[idx + 1].astype(dtype)
        out = lo + frac * (hi - lo)
    return grid, out.reshape((len(grid),) + x.shape[1:])

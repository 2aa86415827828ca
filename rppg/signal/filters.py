"""Band-pass filtering, linear detrending and timestamp-based resampling, in NumPy alone.

These run once per reading on every front end. SciPy's ``signal`` package would do the
same, but importing it costs about 75 MB of resident memory and a noticeable part of the
start-up time, so the Butterworth design and the zero-phase filter are written out here
(the same definitions as SciPy's ``butter`` and ``sosfiltfilt``; tests compare the two).
Zero-phase filtering of a fixed length is a linear map, so it is built once per
(rate, band, length) as a matrix and every reading costs one small matrix product.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: Signals up to this many samples (20 s at 30 Hz) are filtered by a cached matrix (at most
#: 2.9 MB each, 8 kept); longer ones (whole clips, offline) are filtered sample by sample.
_MATRIX_MAX_SAMPLES = 600


@lru_cache(maxsize=32)
def butter_bandpass_sos(fs: float, lo_hz: float, hi_hz: float, order: int = 2) -> np.ndarray:
    """Second-order sections (rows b0 b1 b2 1 a1 a2) of a digital Butterworth band-pass of
    ``order`` (``2 * order`` poles), as ``scipy.signal.butter(..., output="sos")`` designs it;
    the upper edge is kept under 0.95 of Nyquist."""
    nyq = fs / 2.0
    lo, hi = lo_hz / nyq, min(hi_hz, 0.95 * nyq) / nyq
    warped = 4.0 * np.tan(np.pi * np.array([lo, hi]) / 2.0)  # pre-warped edges, bilinear at fs=2
    bw, wo = warped[1] - warped[0], np.sqrt(warped[0] * warped[1])
    p_lp = -np.exp(1j * np.pi * np.arange(-order + 1, order, 2) / (2 * order)) * bw / 2  # analog prototype
    root = np.sqrt(p_lp**2 - wo**2)
    p_bp = np.concatenate([p_lp + root, p_lp - root])  # band-pass poles; zeros: `order` at 0
    gain = bw**order * np.real(4.0**order / np.prod(4.0 - p_bp))
    poles = (4.0 + p_bp) / (4.0 - p_bp)  # bilinear transform; zeros go to +1 (order) and -1 (order)
    upper = poles[np.imag(poles) > 0]
    if len(upper) != order:
        raise ValueError("band-pass poles must come in complex pairs")
    sos = np.zeros((order, 6))
    sos[:, :3] = [1.0, 0.0, -1.0]  # one zero at +1 and one at -1 per section
    sos[:, 3] = 1.0
    sos[:, 4] = -2.0 * np.real(upper)
    sos[:, 5] = np.abs(upper) ** 2
    sos[0, :3] *= gain
    return sos


def _sosfilt(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> np.ndarray:
    """Cascade of biquads along axis 0 (transposed direct form II); ``zi``: (sections, 2, ...).

    One signal runs on plain Python floats (many times faster than NumPy scalars), several at
    once on a row of NumPy values per sample; the recurrence is the same."""
    y = np.array(x, np.float64)
    zi = np.asarray(zi, np.float64)
    samples = y.tolist() if y.ndim == 1 else list(y)
    states = zi.reshape(len(sos), 2).tolist() if y.ndim == 1 else zi
    for (b0, b1, b2, _, a1, a2), (z0, z1) in zip(sos.tolist(), states, strict=True):
        out = []
        for xn in samples:
            yn = b0 * xn + z0
            z0 = b1 * xn - a1 * yn + z1
            z1 = b2 * xn - a2 * yn
            out.append(yn)
        samples = out
    return np.array(samples, np.float64).reshape(y.shape)


@lru_cache(maxsize=32)
def _sosfilt_zi(sos_key: bytes) -> np.ndarray:
    """Per-section states for a unit step in steady state (``scipy.signal.sosfilt_zi``)."""
    sos = np.frombuffer(sos_key).reshape(-1, 6)
    zi, scale = np.zeros((len(sos), 2)), 1.0
    for i, (b0, b1, b2, _, a1, a2) in enumerate(sos):
        companion = np.array([[-a1, -a2], [1.0, 0.0]])
        zi[i] = scale * np.linalg.solve(np.eye(2) - companion.T, np.array([b1 - a1 * b0, b2 - a2 * b0]))
        scale *= (b0 + b1 + b2) / (1.0 + a1 + a2)
    return zi


def _filtfilt_axis0(sos: np.ndarray, x: np.ndarray, padlen: int) -> np.ndarray:
    """Forward-backward filtering along axis 0 with odd extension and steady-state start,
    as ``scipy.signal.sosfiltfilt``."""
    if padlen > 0:
        x = np.concatenate([2 * x[:1] - x[padlen:0:-1], x, 2 * x[-1:] - x[-2:-padlen - 2:-1]])
    zi = _sosfilt_zi(np.ascontiguousarray(sos).tobytes())
    zi = zi.reshape(zi.shape + (1,) * (x.ndim - 1))
    y = _sosfilt(sos, x, zi * x[0])
    y = _sosfilt(sos, y[::-1], zi * y[-1])[::-1]
    return y[padlen:len(y) - padlen] if padlen > 0 else y


@lru_cache(maxsize=8)
def _filtfilt_matrix(sos_key: bytes, n: int, padlen: int) -> np.ndarray:
    """The (n, n) matrix of zero-phase filtering ``n`` samples: filtering is linear in the input."""
    return _filtfilt_axis0(np.frombuffer(sos_key).reshape(-1, 6), np.eye(n), padlen)


def bandpass(x: np.ndarray, fs: float, band_bpm: tuple[float, float], order: int = 2, axis: int = -1,
             reuse: bool = True) -> np.ndarray:
    """Zero-phase Butterworth band-pass; the band is given in beats per minute. ``reuse=False`` for a
    band that will not come again (one around a reading's own bpm): its matrix would cost more to
    build than filtering once."""
    x = np.moveaxis(np.asarray(x, np.float64), axis, 0)
    sos = butter_bandpass_sos(float(fs), band_bpm[0] / 60.0, band_bpm[1] / 60.0, order)
    n = len(x)
    padlen = max(min(3 * (2 * len(sos) + 1), n - 1), 0)
    if reuse and n <= _MATRIX_MAX_SAMPLES:
        y = np.tensordot(_filtfilt_matrix(sos.tobytes(), n, padlen), x, axes=1)
    else:
        y = _filtfilt_axis0(sos, x, padlen)
    return np.moveaxis(y, 0, axis)


def detrend_linear(x: np.ndarray) -> np.ndarray:
    """``x`` minus its least-squares straight line (``scipy.signal.detrend``, 1-D)."""
    x = np.asarray(x, np.float64)
    if len(x) < 2:
        return x - x.mean() if len(x) else x
    t = np.arange(len(x), dtype=np.float64)
    t -= t.mean()
    slope = np.dot(t, x - x.mean()) / np.dot(t, t)
    return x - x.mean() - slope * t


def _interp_weights(t: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each grid time: the index of the sample at or before it and the weight of the next
    one, clamped at both ends as ``np.interp`` does."""
    idx = np.clip(np.searchsorted(t, grid, side="right") - 1, 0, len(t) - 2)
    span = t[idx + 1] - t[idx]
    frac = np.divide(grid - t[idx], span, out=np.zeros_like(grid), where=span > 0)
    return idx, np.clip(frac, 0.0, 1.0)


#: Output rows blended at a time: bounds the float scratch of resampling a window of crops to
#: about a megabyte, where blending all rows at once would allocate several copies of the window.
_BLEND_ROWS = 16


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Round and saturate resampled pixel values, as a camera would store them."""
    y = np.rint(x)
    np.clip(y, 0, 255, out=y)
    return y.astype(np.uint8)


def resample_uniform(t: np.ndarray, x: np.ndarray, fs: float, t0: float | None = None,
                     t1: float | None = None, as_uint8: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation of samples at irregular times ``t`` onto a grid at ``fs`` Hz.

    ``x`` may be (N,) or (N, ...) (e.g. N crops): columns are interpolated together with one
    gather and one blend per block of output rows, no loop over columns. float32 input, and any
    input with ``as_uint8``, is blended in float32 (crops are large); anything else in float64. ``as_uint8``
    rounds and saturates each block to uint8 as it is made (crops, as a camera stores them),
    so no float copy of the whole window exists at any time. The grid runs from ``t0`` (default
    first time) to ``t1`` (default last time), inclusive where it lands on a sample; outside the
    samples the end values are held.
    """
    t = np.asarray(t, np.float64)
    x = np.asarray(x)
    dtype = np.float32 if x.dtype == np.float32 or as_uint8 else np.float64
    if len(t) == 0:
        return np.zeros(0), x[:0].astype(np.uint8 if as_uint8 else dtype)
    t0 = t[0] if t0 is None else t0
    t1 = t[-1] if t1 is None else t1
    n = int(np.floor((t1 - t0) * fs + 1e-9)) + 1
    grid = t0 + np.arange(max(n, 0)) / fs
    if x.ndim == 1 and not as_uint8:
        return grid, np.interp(grid, t, x.astype(np.float64))
    flat = x.reshape(len(x), -1)
    out = np.empty((len(grid), flat.shape[1]), np.uint8 if as_uint8 else dtype)
    if len(t) == 1:
        idx, frac = np.zeros(len(grid), np.intp), np.zeros(len(grid))
        flat = np.concatenate([flat, flat])  # one sample: every grid time holds it
    else:
        idx, frac = _interp_weights(t, grid)
    frac = frac.astype(dtype)[:, None]
    for start in range(0, len(grid), _BLEND_ROWS):
        rows = slice(start, start + _BLEND_ROWS)
        lo, hi = flat[idx[rows]].astype(dtype), flat[idx[rows] + 1].astype(dtype)
        hi -= lo
        hi *= frac[rows]
        hi += lo  # lo + frac * (hi - lo), in place
        out[rows] = to_uint8(hi) if as_uint8 else hi
    return grid, out.reshape((len(grid),) + x.shape[1:])

"""Accuracy of heart-rate estimates against a reference, as plain numpy functions.

Every function takes paired sequences (reference, estimate) where an estimate may
be ``None`` (withheld by the quality gate). Errors are computed over the pairs
that have both; :func:`coverage` says how many that is, so a method cannot look
accurate by refusing to answer. A metric with no pairs is ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rppg.signal.hr import power_spectrum, snr_db

Values = Sequence[float | None] | np.ndarray


def _as_float(values: Values) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def paired(ref: Values, est: Values) -> tuple[np.ndarray, np.ndarray]:
    """The (ref, est) pairs where both are present and finite."""
    r, e = _as_float(ref), _as_float(est)
    if len(r) != len(e):
        raise ValueError(f"{len(r)} reference values but {len(e)} estimates")
    keep = np.isfinite(r) & np.isfinite(e)
    return r[keep], e[keep]


def mae(ref: Values, est: Values) -> float | None:
    """Mean absolute error (bpm)."""
    r, e = paired(ref, est)
    return float(np.mean(np.abs(e - r))) if len(r) else None


def rmse(ref: Values, est: Values) -> float | None:
    """Root-mean-square error (bpm)."""
    r, e = paired(ref, est)
    return float(np.sqrt(np.mean((e - r) ** 2))) if len(r) else None


def mape(ref: Values, est: Values) -> float | None:
    """Mean absolute error relative to the reference, in percent."""
    r, e = paired(ref, est)
    return float(100.0 * np.mean(np.abs(e - r) / np.abs(r))) if len(r) else None


def pearson(ref: Values, est: Values) -> float | None:
    """Pearson correlation; None under 3 pairs or when either side is constant."""
    r, e = paired(ref, est)
    if len(r) < 3 or np.ptp(r) == 0 or np.ptp(e) == 0:
        return None
    return float(np.corrcoef(r, e)[0, 1])


def within(ref: Values, est: Values, tol_bpm: float = 5.0) -> float | None:
    """Share of pairs with |error| <= ``tol_bpm``."""
    r, e = paired(ref, est)
    return float(np.mean(np.abs(e - r) <= tol_bpm)) if len(r) else None


def coverage(ref: Values, est: Values) -> float | None:
    """Share of items with a reference for which an estimate was given."""
    r, e = _as_float(ref), _as_float(est)
    has_ref = np.isfinite(r)
    return float(np.mean(np.isfinite(e[has_ref]))) if has_ref.any() else None


def hr_metrics(ref: Values, est: Values) -> dict[str, float | None]:
    """All the above under the names the evaluation report uses."""
    return {
        "mae": mae(ref, est),
        "rmse": rmse(ref, est),
        "mape": mape(ref, est),
        "pearson": pearson(ref, est),
        "within5": within(ref, est, 5.0),
        "coverage": coverage(ref, est),
    }


def snr_at(bvp: np.ndarray, fs: float, hr_bpm: float | None, band: tuple[float, float]) -> float | None:
    """SNR (dB) of an estimated BVP at the *reference* heart rate (de Haan & Jeanne 2013):
    power within +/-6 bpm of ``hr_bpm`` and of its first harmonic against the rest of
    ``band``. Unlike the estimator's own quality, this does not trust the estimate's peak.
    """
    bvp = np.asarray(bvp, np.float64)
    if hr_bpm is None or not np.isfinite(hr_bpm) or len(bvp) < 8 or not np.all(np.isfinite(bvp)) \
            or np.ptp(bvp) == 0:
        return None
    freqs, power = power_spectrum(bvp, fs, band)
    if len(freqs) == 0 or power.sum() <= 0:
        return None
    value = snr_db(freqs, power, float(hr_bpm))
    return value if np.isfinite(value) else None

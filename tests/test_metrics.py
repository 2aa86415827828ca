"""Accuracy metrics on hand-computed arrays, and the SNR at a given heart rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rppg.metrics import coverage, hr_metrics, mae, mape, paired, pearson, rmse, snr_at, within

REF = [60.0, 70.0, 80.0, 90.0]
EST = [62.0, None, 77.0, 100.0]  # errors on the paired items: +2, -3, +10


def test_metrics_on_known_pairs():
    assert mae(REF, EST) == pytest.approx(5.0)
    assert rmse(REF, EST) == pytest.approx(math.sqrt((4 + 9 + 100) / 3))
    assert mape(REF, EST) == pytest.approx(100 * (2 / 60 + 3 / 80 + 10 / 90) / 3)
    assert within(REF, EST, 5.0) == pytest.approx(2 / 3)
    assert coverage(REF, EST) == pytest.approx(0.75)
    # r of (60, 80, 90) vs (62, 77, 100): 556.67 / sqrt(466.67 * 732.67)
    assert pearson(REF, EST) == pytest.approx(556.6667 / math.sqrt(466.6667 * 732.6667), abs=1e-5)


def test_hr_metrics_names_and_none_handling():
    out = hr_metrics(REF, EST)
    assert set(out) == {"mae", "rmse", "mape", "pearson", "within5", "coverage"}
    assert out["mae"] == pytest.approx(5.0)
    nothing = hr_metrics([70.0, 80.0], [None, None])
    assert nothing["coverage"] == 0.0
    assert all(nothing[k] is None for k in ("mae", "rmse", "mape", "pearson", "within5"))
    empty = hr_metrics([], [])
    assert all(v is None for v in empty.values())


def test_missing_reference_is_not_counted_against_coverage():
    assert coverage([70.0, None, 80.0], [70.0, 75.0, None]) == pytest.approx(0.5)
    r, e = paired([70.0, None, 80.0], [70.0, 75.0, None])
    assert r.tolist() == [70.0] and e.tolist() == [70.0]


def test_pearson_needs_three_pairs_and_variance():
    assert pearson([60.0, 70.0], [61.0, 72.0]) is None
    assert pearson([60.0, 70.0, 80.0], [75.0, 75.0, 75.0]) is None
    assert pearson([60.0, 70.0, 80.0], [61.0, 70.0, 79.0]) == pytest.approx(1.0)


def test_within_tolerance_is_inclusive():
    assert within([70.0, 70.0, 70.0], [75.0, 65.0, 75.5], 5.0) == pytest.approx(2 / 3)


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="3 reference values but 2 estimates"):
        mae([1.0, 2.0, 3.0], [1.0, 2.0])


FS = 30.0
T = np.arange(int(10 * FS)) / FS


def tone(bpm: float, amplitude: float = 1.0) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * bpm / 60.0 * T)


def test_snr_at_reference_rate():
    pulse = tone(72.0)
    at_reference = snr_at(pulse, FS, 72.0, (40, 200))
    assert at_reference > 5.0
    assert snr_at(pulse, FS, 110.0, (40, 200)) < -20.0  # the estimate's peak is not where the reference is
    noisy = pulse + np.random.default_rng(0).normal(0, 3.0, len(T))
    assert snr_at(noisy, FS, 72.0, (40, 200)) < at_reference


def test_snr_counts_the_first_harmonic_as_signal():
    pulse = tone(72.0)
    with_harmonic = snr_at(pulse + tone(144.0, 0.5), FS, 72.0, (40, 200))
    with_other = snr_at(pulse + tone(120.0, 0.5), FS, 72.0, (40, 200))
    assert with_harmonic > with_other + 3.0


def test_snr_undefined_cases():
    assert snr_at(tone(72.0), FS, None, (40, 200)) is None
    assert snr_at(np.zeros(len(T)), FS, 72.0, (40, 200)) is None
    assert snr_at(np.full(len(T), np.nan), FS, 72.0, (40, 200)) is None

"""Tracking across windows: one noisy window does not move the reading to a noise peak."""

import numpy as np
import pytest

from rppg.signal.hr import band_spectrum
from rppg.signal.hr_tracking import HrTracker

FS = 30.0
BAND = (40.0, 200.0)


def _window(bpm: float, noise_bpm: float | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A 10 s pulse at ``bpm``; with ``noise_bpm``, a stronger interfering tone there as well."""
    rng = np.random.default_rng(seed)
    t = np.arange(300) / FS
    x = np.sin(2 * np.pi * bpm / 60 * t) + 0.3 * rng.standard_normal(len(t))
    if noise_bpm is not None:
        x = x + 1.6 * np.sin(2 * np.pi * noise_bpm / 60 * t)
    freqs, power = band_spectrum(x, FS, BAND)
    inside = freqs <= BAND[1]
    return freqs[inside], power[inside]


def test_one_noisy_window_does_not_jump_to_the_noise_peak():
    tracker = HrTracker(BAND)
    for i in range(5):
        assert tracker.update(float(i), *_window(72.0, seed=i)) == pytest.approx(72.0, abs=1.0)
    assert tracker.update(5.0, *_window(72.0, noise_bpm=115.0, seed=9)) == pytest.approx(72.0, abs=1.5)
    alone = HrTracker(BAND)
    assert alone.update(5.0, *_window(72.0, noise_bpm=115.0, seed=9)) == pytest.approx(115.0, abs=1.5)


def test_a_real_change_is_followed_and_reset_forgets():
    tracker = HrTracker(BAND)
    for i in range(5):
        tracker.update(float(i), *_window(70.0, seed=i))
    readings = [tracker.update(5.0 + i, *_window(100.0, seed=20 + i)) for i in range(6)]
    assert readings[-1] == pytest.approx(100.0, abs=1.0)
    tracker.reset()
    assert tracker.bpm is None
    assert tracker.update(20.0, *_window(150.0, seed=3)) == pytest.approx(150.0, abs=1.0)


def test_a_slow_drift_is_tracked_with_sub_bin_resolution():
    tracker = HrTracker(BAND)
    for i, bpm in enumerate(np.linspace(65.0, 80.0, 16)):
        assert tracker.update(float(i), *_window(bpm, seed=i)) == pytest.approx(bpm, abs=0.8)

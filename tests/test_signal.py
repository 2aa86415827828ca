"""Heart rate from a waveform: sub-bin resolution, gating, resampling by timestamps."""

import numpy as np
import pytest

from rppg.signal.filters import bandpass, resample_uniform
from rppg.signal.hr import estimate_hr


@pytest.mark.parametrize("bpm", [41.3, 58.7, 70.6, 97.25, 133.9, 171.4, 196.0])
def test_ten_second_window_resolves_better_than_one_bpm(bpm):
    fs = 30.0
    t = np.arange(int(10 * fs)) / fs
    x = np.sin(2 * np.pi * bpm / 60 * t + 0.3) + 0.1 * np.sin(2 * np.pi * 0.2 * t)
    hr = estimate_hr(x, fs)
    assert hr.bpm is not None
    assert abs(hr.bpm - bpm) < 0.5


def test_noise_is_gated_and_pulse_is_not():
    rng = np.random.default_rng(1)
    fs = 30.0
    t = np.arange(300) / fs
    gated = [estimate_hr(rng.standard_normal(300), fs).bpm is None for _ in range(50)]
    assert np.mean(gated) > 0.8
    pulse = np.sin(2 * np.pi * 1.3 * t) + 0.5 * rng.standard_normal(300)
    assert estimate_hr(pulse, fs).bpm == pytest.approx(78, abs=1.0)


def test_too_short_or_flat_input_gives_no_reading():
    assert estimate_hr(np.ones(300), 30.0).bpm is None
    assert estimate_hr(np.sin(np.arange(20)), 30.0).bpm is None
    assert estimate_hr(np.full(300, np.nan), 30.0).bpm is None


def test_band_is_respected():
    fs = 30.0
    t = np.arange(300) / fs
    x = np.sin(2 * np.pi * 3.0 * t) + 0.6 * np.sin(2 * np.pi * 1.0 * t)  # 180 and 60 bpm
    assert estimate_hr(x, fs, band=(40, 200)).bpm == pytest.approx(180, abs=1)
    assert estimate_hr(x, fs, band=(40, 120)).bpm == pytest.approx(60, abs=1)


def test_resample_uniform_by_irregular_timestamps():
    rng = np.random.default_rng(2)
    t = np.cumsum(rng.uniform(0.02, 0.05, 400))
    x = np.sin(2 * np.pi * 1.1 * t)
    grid, y = resample_uniform(t, x, 30.0)
    assert np.allclose(np.diff(grid), 1 / 30)
    assert np.max(np.abs(y - np.sin(2 * np.pi * 1.1 * grid))) < 0.02
    hr = estimate_hr(y, 30.0)
    assert hr.bpm == pytest.approx(66.0, abs=0.5)
    _, multi = resample_uniform(t, np.stack([x, 2 * x], 1), 30.0)
    assert multi.shape == (len(grid), 2) and np.allclose(multi[:, 1], 2 * multi[:, 0])


def test_bandpass_removes_drift():
    fs = 30.0
    t = np.arange(600) / fs
    y = bandpass(np.sin(2 * np.pi * 1.2 * t) + 5 * t, fs, (40, 200))
    assert np.abs(y[60:-60]).max() < 1.2


def test_a_peak_refined_on_a_slope_stays_within_half_a_bin():
    from rppg.signal.hr import refine_peak

    freqs = np.arange(40.0, 60.0, 0.1)
    power = np.exp(-0.5 * ((freqs - 70.0) / 3.0) ** 2)  # rising all the way: no local maximum inside
    for k in (10, 100, 150):
        assert abs(refine_peak(freqs, power, k) - freqs[k]) <= 0.05 + 1e-9
    peak = np.exp(-0.5 * ((freqs - 50.03) / 1.0) ** 2)
    assert abs(refine_peak(freqs, peak, int(np.argmax(peak))) - 50.03) < 0.01

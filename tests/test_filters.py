"""The NumPy filters give SciPy's results, and the runtime path never imports SciPy."""

import subprocess
import sys

import numpy as np
import pytest
from scipy import signal

from rppg.signal.filters import bandpass, butter_bandpass_sos, detrend_linear, resample_uniform


@pytest.mark.parametrize("fs, band", [(30.0, (40, 200)), (30.0, (40, 120)), (25.0, (45, 150)), (60.0, (40, 240))])
def test_butterworth_design_matches_scipy(fs, band):
    nyq = fs / 2
    ref = signal.butter(2, [band[0] / 60 / nyq, min(band[1] / 60, 0.95 * nyq) / nyq], btype="bandpass", output="sos")
    _, want = signal.sosfreqz(ref, 256)
    _, got = signal.sosfreqz(butter_bandpass_sos(fs, band[0] / 60, band[1] / 60), 256)
    np.testing.assert_allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("n", [3, 17, 300, 601, 2000])
def test_zero_phase_bandpass_matches_scipy(n):
    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, 3)).cumsum(axis=0)
    sos = signal.butter(2, [40 / 60 / 15, 200 / 60 / 15], btype="bandpass", output="sos")
    want = signal.sosfiltfilt(sos, x, axis=0, padlen=min(15, n - 1))
    np.testing.assert_allclose(bandpass(x, 30.0, (40, 200), axis=0), want, atol=1e-9 * np.abs(want).max())
    np.testing.assert_allclose(bandpass(x.T, 30.0, (40, 200)), want.T, atol=1e-9 * np.abs(want).max())



@pytest.mark.parametrize("n", [17, 301, 2000])
def test_one_off_band_on_one_signal_matches_scipy(n):
    """A band around one reading's bpm is filtered directly (no cached matrix), with the same result."""
    x = np.random.default_rng(n).normal(size=n).cumsum()
    band = (61.3, 79.3)
    sos = signal.butter(2, [band[0] / 60 / 15, band[1] / 60 / 15], btype="bandpass", output="sos")
    want = signal.sosfiltfilt(sos, x, padlen=min(15, n - 1))
    np.testing.assert_allclose(bandpass(x, 30.0, band, reuse=False), want, atol=1e-9 * np.abs(want).max())

def test_linear_detrend_matches_scipy():
    x = np.random.default_rng(0).normal(size=200) + np.linspace(0, 5, 200)
    np.testing.assert_allclose(detrend_linear(x), signal.detrend(x), atol=1e-12)


def test_resampling_every_column_at_once_equals_one_interp_per_column():
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.uniform(0.02, 0.05, 120))
    crops = rng.integers(0, 255, (120, 6, 6, 3)).astype(np.float32)
    grid, out = resample_uniform(t, crops, 30.0, t[0] - 0.2, t[-1] + 0.2)  # both ends held
    flat = crops.reshape(120, -1).astype(np.float64)
    want = np.stack([np.interp(grid, t, flat[:, i]) for i in range(flat.shape[1])], axis=1)
    assert out.shape == (len(grid), 6, 6, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out.reshape(len(grid), -1), want, atol=1e-3)


def test_heart_rate_path_loads_no_scipy():
    code = ("import sys, numpy as np; from rppg.pipeline import Pipeline; from rppg.signal.hr import estimate_hr; "
            "t = np.arange(300) / 30; print(round(estimate_hr(np.sin(2 * np.pi * 1.2 * t), 30.0).bpm)); "
            "print('scipy' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["72", "False"], result.stderr

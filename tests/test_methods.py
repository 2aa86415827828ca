"""Classical methods recover the pulse from a skin-model RGB trace, and POS/CHROM resist lighting."""

import numpy as np
import pytest

from rppg.methods.classical import CLASSICAL_METHODS
from rppg.signal.hr import estimate_hr


def skin_trace(bpm: float, seconds: float = 12.0, fs: float = 30.0, light_flicker: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(3)
    t = np.arange(int(seconds * fs)) / fs
    pulse = np.sin(2 * np.pi * bpm / 60 * t) + 0.3 * np.sin(4 * np.pi * bpm / 60 * t)
    dc = np.array([180.0, 120.0, 90.0])
    strength = np.array([0.33, 0.77, 0.53]) * 0.004  # skin reflection: green strongest
    light = 1 + 0.05 * np.sin(2 * np.pi * 0.25 * t) + light_flicker * np.sin(2 * np.pi * 1.7 * t)
    rgb = dc * (1 - strength * pulse[:, None]) * light[:, None]
    return rgb + rng.normal(0, 0.05, rgb.shape)


@pytest.mark.parametrize("name", sorted(CLASSICAL_METHODS))
@pytest.mark.parametrize("bpm", [52.0, 75.5, 118.0])
def test_methods_find_the_pulse(name, bpm):
    bvp = CLASSICAL_METHODS[name](skin_trace(bpm), 30.0)
    assert bvp.shape == (360,)
    hr = estimate_hr(bvp, 30.0)
    assert hr.bpm == pytest.approx(bpm, abs=1.5)


@pytest.mark.parametrize("name", ["pos", "chrom"])
def test_chrominance_methods_cancel_brightness_flicker(name):
    """An intensity flicker in the band (102 bpm) fools GREEN but not POS/CHROM."""
    trace = skin_trace(66.0, light_flicker=0.01)
    assert estimate_hr(CLASSICAL_METHODS["green"](trace, 30.0), 30.0).peak_bpm == pytest.approx(102, abs=2)
    assert estimate_hr(CLASSICAL_METHODS[name](trace, 30.0), 30.0).bpm == pytest.approx(66.0, abs=1.5)

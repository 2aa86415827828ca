"""Pulse colour from a two-layer skin model, instead of one fixed colour direction.

Light passes the epidermis (melanin) twice and is diffusely reflected by the dermis,
whose absorption is blood (oxy- and deoxy-haemoglobin) plus a bloodless baseline.
Reflectance uses the diffusion approximation R = exp(-A * sqrt(mu_a / (3 (mu_a + mu_s')))).
The pulse is a small relative change of the dermal blood volume; each camera channel
sees the change of its band-integrated reflectance. So the pulse's colour depends on
melanin, blood volume, oxygen saturation and the camera's spectral sensitivities, and
its relative strength falls where the epidermis absorbs most of the light.

Sources of the coefficients (coarse, 10 nm): haemoglobin molar extinction after
S. Prahl's compilation of Gratzer and Kollias' data; melanin absorption
6.6e11 * lambda^-3.33 cm^-1 and skin reduced scattering 46 (lambda/500)^-1.421 cm^-1
after S. Jacques, "Optical properties of biological tissues: a review" (2013).
"""

from __future__ import annotations

import numpy as np

#: Wavelengths (nm) and molar extinction (cm^-1 / M) of HbO2 and Hb.
_NM = np.arange(400, 710, 10, dtype=np.float64)
_HBO2 = np.array([266232, 466840, 480360, 317760, 103292 * 0.6, 62816, 44480, 35464, 33209, 26629, 20932,
                  20035, 24202, 39956, 53236, 43016, 32613, 44496, 50104, 14400, 3200, 1506, 942, 610, 442,
                  368, 320, 294, 272, 282, 290], np.float64)
_HB = np.array([223296, 304760, 407560, 528600, 413280, 103292, 23389, 16684, 14550, 16684, 20862, 25773,
                31589, 39036, 46592, 53412, 53788, 45072, 37020, 28324, 14677, 9443, 6509, 5148, 4345, 3750,
                3227, 2795, 2408, 2052, 1794], np.float64)
#: Camera channel sensitivities: Gaussian bands (centre, width) in nm, BGR order.
_BANDS_BGR = ((465.0, 28.0), (540.0, 32.0), (605.0, 30.0))
_HB_G_PER_L, _HB_G_PER_MOL = 150.0, 64500.0
_EPIDERMIS_CM = 0.006
_BASELINE_MU_A = 0.3  # cm^-1, bloodless dermis


def melanin_fraction(skin_tone: float) -> float:
    """Epidermal melanin volume fraction for a Fitzpatrick-like tone 1..6 (about 1.5 % to 40 %)."""
    tone = float(np.clip(skin_tone, 1.0, 6.0))
    return float(np.exp(np.interp(tone, [1.0, 6.0], [np.log(0.015), np.log(0.40)])))


def _dermis(nm: np.ndarray, blood: float, saturation: float) -> tuple[np.ndarray, np.ndarray]:
    """Dermal absorption and reduced scattering (cm^-1) at wavelengths ``nm``."""
    eps = saturation * np.interp(nm, _NM, _HBO2) + (1 - saturation) * np.interp(nm, _NM, _HB)
    mu_blood = np.log(10) * eps * _HB_G_PER_L / _HB_G_PER_MOL
    return blood * mu_blood + (1 - blood) * _BASELINE_MU_A, 46.0 * (nm / 500.0) ** -1.421


def reflectance(nm: np.ndarray, melanin: float, blood: float, saturation: float) -> np.ndarray:
    """Diffuse reflectance of skin at wavelengths ``nm`` (fractions: melanin, blood volume, SO2)."""
    mu_a, mu_s = _dermis(nm, blood, saturation)
    dermis = np.exp(-7.0 * np.sqrt(mu_a / (3 * (mu_a + mu_s))))
    epidermis = np.exp(-2 * _EPIDERMIS_CM * melanin * 6.6e11 * nm ** -3.33)
    return epidermis * dermis


def reach(nm: np.ndarray, blood: float, saturation: float, depth_cm: float) -> np.ndarray:
    """Share of reflected light that went as deep as the pulsatile vessels: exp(-2 depth / delta),
    delta being the diffusion penetration depth. Blue barely reaches them; red easily does."""
    mu_a, mu_s = _dermis(nm, blood, saturation)
    delta = 1.0 / np.sqrt(3 * mu_a * (mu_a + mu_s))
    return np.exp(-2 * depth_cm / delta)


def pulse_colour(skin_tone: float, blood: float = 0.02, saturation: float = 0.85,
                 band_shift_nm: tuple[float, float, float] = (0.0, 0.0, 0.0),
                 pulsatile: float = 0.05, depth_cm: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """(relative pulse modulation per channel, BGR, green = 1; green's relative AC/DC).

    ``pulsatile`` is the relative change of the blood volume from diastole to systole, in
    vessels at ``depth_cm`` below the surface.
    """
    nm = np.arange(400.0, 701.0, 2.0)
    mel = melanin_fraction(skin_tone)
    base = reflectance(nm, mel, blood, saturation)
    full = reflectance(nm, mel, blood * (1 + pulsatile), saturation)
    change = (base - full) * reach(nm, blood, saturation, depth_cm)  # only deep light meets the pulse
    rel = []
    for (centre, width), shift in zip(_BANDS_BGR, band_shift_nm, strict=True):
        s = np.exp(-0.5 * ((nm - centre - shift) / width) ** 2)
        dc, ac = float((s * base).sum()), float((s * change).sum())
        rel.append(ac / dc)
    rel = np.asarray(rel)
    return (rel / rel[1]).astype(np.float32), float(rel[1])


def random_pulse_colour(rng: np.random.Generator, skin_tone: float) -> tuple[float, float, float]:
    """A pulse colour (RGB order, as ``SynthSpec.pulse_rgb``) for a random person and camera."""
    bgr, _ = pulse_colour(skin_tone, blood=float(np.exp(rng.uniform(np.log(0.005), np.log(0.03)))),
                          saturation=float(rng.uniform(0.7, 0.97)),
                          depth_cm=float(rng.uniform(0.01, 0.03)),
                          band_shift_nm=tuple(float(v) for v in rng.uniform(-12, 12, 3)))
    return float(bgr[2]), float(bgr[1]), float(bgr[0])

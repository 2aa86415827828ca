"""Heart rate from a BVP waveform: band-pass, zero-padded spectrum, interpolated peak, SNR.

Zero-padding to a 0.1 bpm grid plus a parabolic fit of the log-power peak gives
sub-bin resolution, so a 10 s window (FFT bin 6 bpm) still resolves well under
1 bpm. Quality is the SNR of de Haan & Jeanne (2013): power within +/-6 bpm of
the peak and its first harmonic against the rest of the band, in dB. The
harmonic counts even where it lies beyond the band (above 100 bpm with the
default 200 bpm edge), so fast heart rates are not judged harder than slow ones.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from rppg.constants import HR_MAX_BPM, HR_MIN_BPM, QUALITY_GATE_DB
from rppg.containers import HeartRate
from rppg.signal.filters import bandpass
from rppg.signal.filters import detrend_linear as detrend

_GRID_BPM = 0.1
_SNR_HALF_WIDTH_BPM = 6.0
_MIN_SECONDS = 2.0


@lru_cache(maxsize=16)
def _spectrum_setup(n: int, fs: float) -> tuple[np.ndarray, int, np.ndarray]:
    """Hann window, FFT length and frequency axis (bpm) for ``n`` samples: computed once per shape."""
    nfft = 1 << int(np.ceil(np.log2(max(60.0 * fs / _GRID_BPM, n))))
    return np.hanning(n), nfft, np.fft.rfftfreq(nfft, 1.0 / fs) * 60.0


def harmonic_edge(band: tuple[float, float], fs: float) -> float:
    """Upper edge (bpm) of the spectrum kept for the SNR: the band's first harmonic, below Nyquist."""
    return min(2.0 * band[1] + _SNR_HALF_WIDTH_BPM, 0.45 * fs * 60.0)


def power_spectrum(bvp: np.ndarray, fs: float, band: tuple[float, float],
                   upper: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(bpm axis, power) of the detrended, band-passed, Hann-windowed signal from ``band[0]`` to
    ``upper`` (default ``band[1]``)."""
    upper = band[1] if upper is None else max(upper, band[1])
    x = bandpass(detrend(np.asarray(bvp, np.float64)), fs, (band[0], upper))
    window, nfft, freqs = _spectrum_setup(len(x), float(fs))
    power = np.abs(np.fft.rfft(x * window, nfft)) ** 2
    inside = (freqs >= band[0]) & (freqs <= upper)
    return freqs[inside], power[inside]


def snr_db(freqs: np.ndarray, power: np.ndarray, hr_bpm: float, band: tuple[float, float] | None = None) -> float:
    """Power near ``hr_bpm`` and its first harmonic (wherever it lies in ``freqs``) against the
    rest of ``band`` (default: all of ``freqs``), in dB."""
    near = (np.abs(freqs - hr_bpm) <= _SNR_HALF_WIDTH_BPM) | (np.abs(freqs - 2 * hr_bpm) <= _SNR_HALF_WIDTH_BPM)
    noise_zone = ~near if band is None else ~near & (freqs >= band[0]) & (freqs <= band[1])
    signal_power, noise_power = power[near].sum(), power[noise_zone].sum()
    if signal_power <= 0:
        return -np.inf
    return float(10.0 * np.log10(signal_power / max(noise_power, 1e-30)))


def refine_peak(freqs: np.ndarray, power: np.ndarray, k: int) -> float:
    """The peak at index ``k`` refined by a parabola through the log power: sub-bin resolution.

    The shift stays within half a bin: where ``k`` is not a local maximum (the highest point of a
    slope, as a search restricted to a range can return) the parabola's vertex can lie anywhere."""
    if 0 < k < len(power) - 1:
        a, b, c = np.log(power[k - 1:k + 2] + 1e-30)
        denom = a - 2 * b + c
        if denom < 0:
            shift = float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5))
            return float(freqs[k] + shift * (freqs[1] - freqs[0]))
    return float(freqs[k])


def band_spectrum(bvp: np.ndarray, fs: float, band: tuple[float, float]) -> tuple[np.ndarray, np.ndarray] | None:
    """The spectrum up to the band's harmonic, or None when the input is too short or flat to say anything."""
    bvp = np.asarray(bvp, np.float64)
    if len(bvp) < _MIN_SECONDS * fs or not np.all(np.isfinite(bvp)) or np.ptp(bvp) == 0:
        return None
    freqs, power = power_spectrum(bvp, fs, band, harmonic_edge(band, fs))
    inside = freqs <= band[1]
    if inside.sum() < 3 or power[inside].max() <= 0:
        return None
    return freqs, power


def estimate_hr(bvp: np.ndarray, fs: float, band: tuple[float, float] = (HR_MIN_BPM, HR_MAX_BPM),
                gate_db: float = QUALITY_GATE_DB) -> HeartRate:
    """Spectral-peak heart rate; ``bpm`` is None when the SNR is under ``gate_db`` or the input
    is too short or flat to say anything."""
    spectrum = band_spectrum(bvp, fs, band)
    if spectrum is None:
        return HeartRate(bpm=None, quality=-np.inf, peak_bpm=float("nan"))
    freqs, power = spectrum
    inside = freqs <= band[1]
    peak = refine_peak(freqs, power, int(np.argmax(np.where(inside, power, -1.0))))
    quality = snr_db(freqs, power, peak, band)
    return HeartRate(bpm=peak if quality >= gate_db else None, quality=quality, peak_bpm=peak)

"""Heart-rate tracking across windows: a forward (online Viterbi/HMM) filter over the spectrum.

One 10 s window of a noisy face can put its tallest spectral peak on motion or
light flicker. The heart rate, though, moves slowly from one reading to the
next. The tracker keeps a belief over the bpm grid: each reading it spreads the
belief by the plausible heart-rate change since the last reading (a Gaussian
random walk plus a small floor, so a real jump is re-acquired within a few
readings), multiplies by the window's normalised spectrum, and reports the
spectral peak nearest the belief's maximum. The reported bpm is therefore still
a measured, sub-bin interpolated peak, only the choice between peaks is guided
by the history.
"""

from __future__ import annotations

import numpy as np

from rppg.signal.hr import refine_peak

#: Heart-rate change per second that the random walk allows (1 sigma, bpm).
DRIFT_BPM_PER_S = 2.0
#: Share of the belief spread uniformly over the band each step: lets a true jump win.
JUMP_FLOOR = 0.02
#: Spectra are raised to this power before use: a softer likelihood trusts the prior more.
LIKELIHOOD_POWER = 1.0
_GRID_STEP_BPM = 0.5
#: The reported peak is searched within this distance of the belief's maximum.
_SNAP_BPM = 4.0


class HrTracker:
    """Tracks one heart rate over ``band`` from successive power spectra."""

    def __init__(self, band: tuple[float, float], drift_bpm_per_s: float = DRIFT_BPM_PER_S,
                 jump_floor: float = JUMP_FLOOR) -> None:
        self.grid = np.arange(band[0], band[1] + 1e-9, _GRID_STEP_BPM)
        self.drift_bpm_per_s = drift_bpm_per_s
        self.jump_floor = jump_floor
        self.reset()

    def reset(self) -> None:
        """Forget the history: the next reading is judged on its own spectrum."""
        self._belief: np.ndarray | None = None
        self._last_t: float | None = None
        self.bpm: float | None = None

    def _predict(self, t: float) -> np.ndarray:
        """The belief carried forward to time ``t``: blurred by the allowed drift, plus a floor."""
        n = len(self.grid)
        if self._belief is None or self._last_t is None:
            return np.full(n, 1.0 / n)
        sigma = max(self.drift_bpm_per_s * max(t - self._last_t, 0.0), _GRID_STEP_BPM)
        offsets = np.arange(-int(4 * sigma / _GRID_STEP_BPM), int(4 * sigma / _GRID_STEP_BPM) + 1) * _GRID_STEP_BPM
        kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
        spread = np.convolve(self._belief, kernel / kernel.sum(), mode="same")
        spread /= max(spread.sum(), 1e-30)
        return (1.0 - self.jump_floor) * spread + self.jump_floor / n

    def prior_mass(self, t: float, bpm: float, half_width: float = 5.0) -> float:
        """Share of the predicted belief within ``half_width`` bpm of ``bpm`` (1/len for no history)."""
        prior = self._predict(t)
        return float(prior[np.abs(self.grid - bpm) <= half_width].sum())

    def update(self, t: float, freqs: np.ndarray, power: np.ndarray) -> float:
        """Fold in the spectrum (``freqs`` in bpm, ``power``) of the window ending at ``t``;
        returns the tracked bpm: the interpolated spectral peak nearest the belief's maximum."""
        prior = self._predict(t)
        like = np.interp(self.grid, freqs, np.maximum(power, 0.0), left=0.0, right=0.0)
        like = (like / max(like.max(), 1e-30)) ** LIKELIHOOD_POWER + 1e-3
        posterior = prior * like
        posterior /= posterior.sum()
        self._belief, self._last_t = posterior, t
        self.bpm = nearest_peak(freqs, power, float(self.grid[int(np.argmax(posterior))]))
        return self.bpm


def nearest_peak(freqs: np.ndarray, power: np.ndarray, bpm: float) -> float:
    """The highest spectral point within ``_SNAP_BPM`` of ``bpm``, refined to sub-bin resolution;
    ``bpm`` itself when the spectrum has no points there."""
    near = np.flatnonzero(np.abs(freqs - bpm) <= _SNAP_BPM)
    if len(near) == 0:
        return bpm
    return refine_peak(freqs, power, int(near[np.argmax(power[near])]))

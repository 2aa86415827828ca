"""The two plots: the pulse waveform (scrolling) and heart rate over time.

Each reading carries the whole latest window of the waveform, ending at the
reading's time. The waveform plot draws it on the engine's time axis and slides
the view with the newest displayed frame, one second behind it, so it scrolls
smoothly between readings that arrive once per second.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pyqtgraph as pg

from rppg.constants import HR_MAX_BPM, HR_MIN_BPM, MODEL_FPS
from rppg.containers import Reading
from rppg.signal.filters import bandpass

_LAG_S = 1.0  # the view trails the video by one reading step


class WaveformPlot(pg.PlotWidget):
    """The latest BVP window, band-passed to the heart-rate band (what the spectrum sees),
    normalised, on a sliding time axis."""

    def __init__(self, span_s: float = 8.0, band: tuple[float, float] = (HR_MIN_BPM, HR_MAX_BPM)) -> None:
        super().__init__(title="pulse (BVP)")
        self.span_s = span_s
        self.band = band
        self.setLabel("bottom", "time", units="s")
        self.hideAxis("left")
        self.setMouseEnabled(x=False, y=False)
        self.setYRange(-3, 3)
        self._curve = self.plotItem.plot(pen=pg.mkPen("#ff5050", width=2))
        self._end_t: float | None = None

    def show_reading(self, reading: Reading) -> None:
        wave = np.asarray(reading.waveform, np.float64)
        if wave.size < 16:
            return
        wave = bandpass(wave - wave.mean(), MODEL_FPS, self.band)
        std = wave.std()
        wave = (wave - wave.mean()) / std if std > 0 else wave * 0.0
        times = reading.t - (np.arange(wave.size)[::-1]) / MODEL_FPS
        self._curve.setData(times, wave)
        self._end_t = reading.t

    def follow(self, video_t: float | None) -> None:
        """Slide the view to end one step behind the video time (never past the data's end)."""
        if self._end_t is None:
            return
        right = self._end_t if video_t is None else min(video_t - _LAG_S, self._end_t)
        self.setXRange(right - self.span_s, right, padding=0)

    def clear_wave(self) -> None:
        self._curve.setData([], [])
        self._end_t = None


class TrendPlot(pg.PlotWidget):
    """Heart rate over time; gaps where no reading was given."""

    def __init__(self, keep: int = 3600) -> None:
        super().__init__(title="heart rate (bpm)")
        self.setLabel("bottom", "time", units="s")
        self.setMouseEnabled(x=False, y=False)
        self.showGrid(y=True, alpha=0.3)
        self.setYRange(50, 110, padding=0)
        self._t: deque[float] = deque(maxlen=keep)
        self._bpm: deque[float] = deque(maxlen=keep)
        self._curve = self.plotItem.plot(pen=pg.mkPen("#50a0ff", width=2), symbol="o", symbolSize=4,
                                         symbolBrush="#50a0ff", connect="finite")

    def add_reading(self, reading: Reading) -> None:
        self._t.append(reading.t)
        self._bpm.append(np.nan if reading.bpm is None else reading.bpm)
        bpm = np.fromiter(self._bpm, np.float64)
        finite = bpm[np.isfinite(bpm)]
        if not finite.size:  # nothing to draw yet (and pyqtgraph cannot bound an all-NaN scatter)
            self._curve.setData([], [])
            return
        self._curve.setData(np.fromiter(self._t, np.float64), bpm)
        self.setYRange(min(finite.min() - 10, 50), max(finite.max() + 10, 110), padding=0)

    def clear_trend(self) -> None:
        self._t.clear()
        self._bpm.clear()
        self._curve.setData([], [])

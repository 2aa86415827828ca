"""The main window: video, waveform, BPM, trend, controls, status bar, over one live Engine.

The engine runs in its own threads. The window only pulls: a ~30 Hz timer
drains the readings queue and shows the newest frame, a 2 Hz timer refreshes
the status bar. Nothing here waits on capture or processing.
"""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass, replace
from pathlib import Path

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QCloseEvent
from PyQt6.QtWidgets import QGridLayout, QMainWindow, QWidget

from rppg.constants import HR_MAX_BPM, HR_MIN_BPM, WINDOW_SECONDS
from rppg.containers import Reading
from rppg.errors import RppgError
from rppg.stream import LOST, Engine
from rppg.stream_recorder import SessionRecorder
from rppg_app.gui.controls import Controls
from rppg_app.gui.plots import TrendPlot, WaveformPlot
from rppg_app.gui.readout import BpmReadout
from rppg_app.gui.video_view import VideoView

_FRAME_MS = 33
_STATUS_MS = 500
_NOTICE_S = 10.0  # how long a one-off message (saved recording, failed switch) stays in the status bar


@dataclass(frozen=True)
class EngineSettings:
    """What it takes to (re)build the engine when the user switches source or method."""

    source: str
    method: str = "student"
    weights: str | None = None
    backend: str | None = None
    band: tuple[float, float] = (HR_MIN_BPM, HR_MAX_BPM)
    fallback: str = "pos"
    loop: bool = False
    detector: str = "mediapipe"
    roi: str = "skin"
    window_s: float = WINDOW_SECONDS
    realtime: bool = True

    def build(self) -> Engine:
        """A started engine; raises RppgError for a source or weights the user must fix."""
        engine = Engine(self.source, self.method, self.weights, self.backend, realtime=self.realtime,
                        loop=self.loop, band=self.band, fallback=self.fallback, detector=self.detector,
                        roi=self.roi, window_s=self.window_s)
        try:
            return engine.start()
        except BaseException:
            engine.stop()
            raise


class MainWindow(QMainWindow):
    """Owns the running engine (and recording) and swaps them on request."""

    def __init__(self, engine: Engine, settings: EngineSettings,
                 record_dir: str | Path = "recordings") -> None:
        super().__init__()
        self.setWindowTitle("rppg: contactless heart rate")
        self.resize(1200, 760)
        self.settings = settings
        self.record_dir = Path(record_dir)
        self.engine = engine
        self.recorder: SessionRecorder | None = None
        self._readings: queue.Queue[Reading] = engine.readings()
        self._notice, self._notice_until = "", 0.0
        self._weights_for = {settings.method: settings.weights}  # --weights belongs to one method

        self.video = VideoView()
        self.readout = BpmReadout()
        self.waveform = WaveformPlot(band=settings.band)
        self.trend = TrendPlot()
        self.controls = Controls(settings.method)
        self.controls.source_requested.connect(self.switch_source)
        self.controls.method_requested.connect(self.switch_method)
        self.controls.record_toggled.connect(self.set_recording)

        central = QWidget()
        grid = QGridLayout(central)
        grid.addWidget(self.controls, 0, 0, 1, 2)
        grid.addWidget(self.video, 1, 0)
        grid.addWidget(self.readout, 1, 1)
        grid.addWidget(self.waveform, 2, 0, 1, 2)
        grid.addWidget(self.trend, 3, 0, 1, 2)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(1, 3)
        grid.setRowStretch(2, 1)
        grid.setRowStretch(3, 1)
        self.setCentralWidget(central)

        self._frame_timer = QTimer(self)
        self._frame_timer.timeout.connect(self.refresh)
        self._frame_timer.start(_FRAME_MS)
        self._status_timer = QTimer(self)
        self._status_timer.timeout.connect(self.refresh_status)
        self._status_timer.start(_STATUS_MS)
        self.refresh_status()

    # ---- pulling from the engine -----------------------------------------------------------

    def refresh(self) -> None:
        """Show every reading that arrived since the last tick, then the newest frame."""
        while True:
            try:
                reading = self._readings.get_nowait()
            except queue.Empty:
                break
            self.show_reading(reading)
        frame = self.engine.latest_frame()
        if self.engine.state == LOST:
            self.video.show_message("source lost: retrying…")
        else:
            self.video.show_frame(frame)
        self.waveform.follow(None if frame is None else frame.t)

    def show_reading(self, reading: Reading) -> None:
        self.readout.show_reading(reading)
        self.trend.add_reading(reading)
        if reading.waveform.size:
            self.waveform.show_reading(reading)

    def refresh_status(self) -> None:
        s = self.engine.stats()
        latency = ("-" if s.latency_ms_median is None
                   else f"{s.latency_ms_median:.1f} ms (p95 {s.latency_ms_p95:.1f})")
        parts = [f"{s.source} [{s.source_state}]", f"{self.settings.method}", f"{s.fps_processed:.1f} fps",
                 f"dropped {s.frames_dropped}", f"latency {latency}"]
        if self.recorder is not None:
            parts.append(f"recording {self.recorder.frames_written} frames -> {self.recorder.out_dir}")
        if s.source_state == LOST and s.last_error:
            parts.append(s.last_error)
        if time.monotonic() < self._notice_until:
            parts.append(self._notice)
        self.statusBar().showMessage("   |   ".join(parts))

    def notify(self, text: str) -> None:
        """Show ``text`` in the status bar for a while, without a modal dialog."""
        self._notice, self._notice_until = text, time.monotonic() + _NOTICE_S
        self.refresh_status()

    # ---- switching -------------------------------------------------------------------------

    def switch_source(self, spec: str) -> None:
        self._restart(replace(self.settings, source=spec))

    def switch_method(self, method: str) -> None:
        self._restart(replace(self.settings, method=method, weights=self._weights_for.get(method)))

    def _restart(self, settings: EngineSettings) -> None:
        """Start the new engine first, so a bad choice leaves the running one untouched."""
        self.setCursor(Qt.CursorShape.WaitCursor)
        try:
            engine = settings.build()
        except RppgError as exc:
            self.notify(f"cannot switch: {exc}")
            self.controls.method.blockSignals(True)
            self.controls.method.setCurrentText(self.settings.method)
            self.controls.method.blockSignals(False)
            return
        finally:
            self.unsetCursor()
        self.set_recording(False)
        self._stop_engine()
        self.engine, self.settings = engine, settings
        self._readings = engine.readings()
        self.waveform.clear_wave()
        self.trend.clear_trend()
        self.readout.show_waiting()
        self.video.show_message("starting…")
        self.refresh_status()

    def _stop_engine(self) -> None:
        self.engine.unsubscribe(self._readings)
        self.engine.stop()

    # ---- recording -------------------------------------------------------------------------

    def set_recording(self, on: bool) -> None:
        if on and self.recorder is None:
            folder = self.record_dir / time.strftime("%Y%m%d-%H%M%S")
            self.recorder = SessionRecorder(self.engine, folder).start()
        elif not on and self.recorder is not None:
            recorder, self.recorder = self.recorder, None
            folder = recorder.stop()
            note = f" ({recorder.error})" if recorder.error else ""
            self.notify(f"recording saved: {folder}{note}")
        self.controls.set_recording(self.recorder is not None)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._frame_timer.stop()
        self._status_timer.stop()
        self.set_recording(False)
        self._stop_engine()
        super().closeEvent(event)

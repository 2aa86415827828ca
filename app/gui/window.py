"""The main window: video, waveform, BPM, trend, controls, status bar, over one live Engine.

The engine runs in its own threads. The window only pulls: a ~30 Hz timer
drains the readings queue and shows the newest frame, a 2 Hz timer refreshes
the status bar. Nothing here waits on capture or processing: building a new
engine (model load, detector start-up, opening the source), stopping the old
one and saving a recording run as background jobs. While a new engine is built,
the controls that would conflict are disabled and a busy note shows.
"""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass, replace
from pathlib import Path

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QCloseEvent
from PyQt6.QtWidgets import QGridLayout, QLabel, QMainWindow, QWidget

from rppg.constants import HR_MAX_BPM, HR_MIN_BPM, WINDOW_SECONDS
from rppg.containers import Reading
from rppg.stream import FINISHED, LOST, OK, Engine
from rppg.stream_recorder import SessionRecorder
from rppg_app.gui.background import BackgroundJob
from rppg_app.gui.controls import Controls
from rppg_app.gui.plots import TrendPlot, WaveformPlot
from rppg_app.gui.readout import BpmReadout
from rppg_app.gui.video_view import VideoView

_FRAME_MS = 33
_STATUS_MS = 500
_NOTICE_S = 10.0  # how long a one-off message (saved recording, failed switch) stays in the status bar
_NO_FACE_S = 3.0  # frames flowing this long without a face: say so


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
        self._jobs: set[BackgroundJob] = set()
        self._switching: BackgroundJob | None = None
        self._watch_new_engine()

        self.video = VideoView()
        self.banner = QLabel()  # what happened, when the picture alone does not say it
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #3a3220; color: #f0d890; font-size: 15px; padding: 6px;")
        self.banner.hide()
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
        grid.addWidget(self.banner, 1, 0, 1, 2)
        grid.addWidget(self.video, 2, 0)
        grid.addWidget(self.readout, 2, 1)
        grid.addWidget(self.waveform, 3, 0, 1, 2)
        grid.addWidget(self.trend, 4, 0, 1, 2)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(2, 3)
        grid.setRowStretch(3, 1)
        grid.setRowStretch(4, 1)
        self.setCentralWidget(central)

        self._frame_timer = QTimer(self)
        self._frame_timer.timeout.connect(self.refresh)
        self._frame_timer.start(_FRAME_MS)
        self._status_timer = QTimer(self)
        self._status_timer.timeout.connect(self.refresh_status)
        self._status_timer.start(_STATUS_MS)
        self.refresh_status()

    @property
    def busy(self) -> bool:
        """A new engine is being built; switching is disabled until it is in place (or failed)."""
        return self._switching is not None

    @property
    def idle(self) -> bool:
        """No background job is running: nothing being built, and the replaced engine has stopped."""
        return not self._jobs

    # ---- pulling from the engine -----------------------------------------------------------

    def _watch_new_engine(self) -> None:
        self._since = time.monotonic()
        self._face_seen = False
        self._got_reading = False

    def refresh(self) -> None:
        """Show every reading that arrived since the last tick, then the newest frame."""
        while True:
            try:
                reading = self._readings.get_nowait()
            except queue.Empty:
                break
            self.show_reading(reading)
        frame = self.engine.latest_frame()
        if frame is not None and frame.box is not None:
            self._face_seen = True
        if self.engine.state == LOST:
            self.video.show_message("source lost: retrying…")
        else:
            self.video.show_frame(frame)
        self.waveform.follow(None if frame is None else frame.t)

    def show_reading(self, reading: Reading) -> None:
        self._face_seen |= reading.face
        self._got_reading |= reading.source == OK
        self.readout.show_reading(reading)
        self.trend.add_reading(reading)
        if reading.waveform.size:
            self.waveform.show_reading(reading)

    def situation(self) -> str | None:
        """What the user should be told that the picture and the number do not say, or None."""
        state = self.engine.state
        if self.busy:
            return None
        if state == FINISHED:
            if not self._face_seen:
                return "The source has ended. No face was found in it, so there is no heart rate."
            if not self._got_reading:
                return ("The source has ended before the first full window "
                        f"({getattr(self.engine.pipeline, 'window_s', 10):g} s of face video): no heart rate.")
            return "The source has ended. The last reading stays on screen."
        if state == OK and not self._face_seen and time.monotonic() - self._since > _NO_FACE_S:
            return "No face found yet: face the camera, with your face evenly lit."
        return None

    def refresh_status(self) -> None:
        s = self.engine.stats()
        latency = ("-" if s.latency_ms_median is None
                   else f"{s.latency_ms_median:.1f} ms (p95 {s.latency_ms_p95:.1f})")
        parts = [f"{s.source} [{s.source_state}]", f"{self.settings.method}", f"{s.fps_processed:.1f} fps",
                 f"dropped {s.frames_dropped}", f"latency {latency}"]
        if self._switching is not None:
            parts.insert(0, self._switching.what)
        if self.recorder is not None:
            parts.append(f"recording {self.recorder.frames_written} frames -> {self.recorder.out_dir}")
        if s.source_state == LOST and s.last_error:
            parts.append(s.last_error)
        if time.monotonic() < self._notice_until:
            parts.append(self._notice)
        self.statusBar().showMessage("   |   ".join(parts))
        if s.source_state == FINISHED and self.readout.waiting:  # a short clip ended before its first window
            self.readout.show_ended()
        text = self.situation()
        self.banner.setVisible(text is not None)
        if text is not None and self.banner.text() != text:
            self.banner.setText(text)

    def notify(self, text: str) -> None:
        """Show ``text`` in the status bar for a while, without a modal dialog."""
        self._notice, self._notice_until = text, time.monotonic() + _NOTICE_S
        self.refresh_status()

    # ---- switching -------------------------------------------------------------------------

    def switch_source(self, spec: str) -> None:
        self._restart(replace(self.settings, source=spec))

    def switch_method(self, method: str) -> None:
        self._restart(replace(self.settings, method=method, weights=self._weights_for.get(method)))

    def _run(self, job: BackgroundJob) -> None:
        self._jobs.add(job)
        job.finished.connect(lambda: (job.wait(), self._jobs.discard(job)))  # wait: returns at once
        job.start()

    def _restart(self, settings: EngineSettings) -> None:
        """Build the new engine in the background; the running one stays until it is ready,
        so a bad choice leaves it untouched."""
        if self._switching is not None:  # the controls are disabled meanwhile; a late signal is ignored
            return
        job = BackgroundJob(settings.build, f"opening {Path(settings.source).name or settings.source} "
                                            f"with {settings.method}…")
        job.succeeded.connect(lambda engine: self._switched(settings, engine))
        job.failed.connect(self._switch_failed)
        self._switching = job
        self._set_busy(True)
        self._run(job)

    def _set_busy(self, busy: bool) -> None:
        self.controls.set_busy(busy, self._switching.what if busy and self._switching else "")
        if busy:
            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.unsetCursor()
        self.refresh_status()

    def _switched(self, settings: EngineSettings, engine: Engine) -> None:
        self._switching = None
        old, recorder = self.engine, self.recorder
        old.unsubscribe(self._readings)
        self.recorder = None
        self.engine, self.settings = engine, settings
        self._readings = engine.readings()
        self._watch_new_engine()
        self.controls.show_method(settings.method)
        self.waveform.clear_wave()
        self.trend.clear_trend()
        self.readout.show_waiting()
        self.video.show_message("starting…")
        self._retire(old, recorder)
        self._set_busy(False)

    def _switch_failed(self, message: str) -> None:
        self._switching = None
        self.notify(f"cannot switch: {message}")
        self.controls.show_method(self.settings.method)
        self._set_busy(False)

    def _retire(self, engine: Engine | None, recorder: SessionRecorder | None) -> None:
        """Stop an engine that was replaced and/or save a recording, in the background: flushing
        the recorder's queued frames to disk and stopping an engine can each take seconds."""

        def work() -> str | None:
            note = None
            if recorder is not None:
                folder = recorder.stop()
                note = f"recording saved: {folder}" + (f" ({recorder.error})" if recorder.error else "")
            if engine is not None:
                engine.stop()
            return note

        job = BackgroundJob(work, "saving the recording…" if engine is None else "stopping the previous source…")
        job.succeeded.connect(lambda note: note and self.notify(note))
        self._run(job)
        self.controls.set_recording(False)

    # ---- recording -------------------------------------------------------------------------

    def set_recording(self, on: bool) -> None:
        if on and self.recorder is None:
            folder = self.record_dir / time.strftime("%Y%m%d-%H%M%S")
            self.recorder = SessionRecorder(self.engine, folder).start()
        elif not on and self.recorder is not None:
            recorder, self.recorder = self.recorder, None
            self.notify(f"saving the recording to {recorder.out_dir}…")
            self._retire(None, recorder)
        self.controls.set_recording(self.recorder is not None)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._frame_timer.stop()
        self._status_timer.stop()
        self.set_recording(False)
        for job in list(self._jobs):  # a window going away may wait for them: nothing is left running
            job.wait()
            if isinstance(job.result, Engine) and job.result is not self.engine:
                job.result.stop()
        self._switching = None
        self.engine.unsubscribe(self._readings)
        self.engine.stop()
        super().closeEvent(event)

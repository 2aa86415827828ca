"""Source and method selection, and the record button: widgets that only emit requests.

The main window decides what a request does (restart the engine, start a
recording), so these stay free of engine logic. While a request is being carried
out the window marks them busy: the buttons that would start another switch or
a recording are disabled, and a note says what is happening.
"""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QSpinBox, QWidget

from rppg.constants import METHODS


class Controls(QWidget):
    """Camera index + "Camera", "Open file…", "Demo", method combo, record toggle."""

    source_requested = pyqtSignal(str)
    method_requested = pyqtSignal(str)
    record_toggled = pyqtSignal(bool)

    def __init__(self, method: str) -> None:
        super().__init__()
        self.camera_index = QSpinBox()
        self.camera_index.setRange(0, 63)
        self.camera_index.setPrefix("camera ")
        self.camera = camera = QPushButton("Camera")
        camera.clicked.connect(lambda: self.source_requested.emit(str(self.camera_index.value())))
        self.open_file = open_file = QPushButton("Open file…")
        open_file.clicked.connect(self._pick_file)
        self.demo = demo = QPushButton("Demo")
        demo.clicked.connect(lambda: self.source_requested.emit("demo"))
        self.method = QComboBox()
        self.method.addItems(METHODS)
        self.method.setCurrentText(method)
        self.method.currentTextChanged.connect(self.method_requested.emit)
        self.record = QPushButton("Record")
        self.record.setCheckable(True)
        self.record.toggled.connect(self._on_record)

        layout = QHBoxLayout(self)
        for widget in (self.camera_index, camera, open_file, demo, QLabel("method"), self.method):
            layout.addWidget(widget)
        self.busy_note = QLabel()
        self.busy_note.setStyleSheet("color: #f0c040;")
        layout.addStretch(1)
        layout.addWidget(self.busy_note)
        layout.addWidget(self.record)

    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a face video", "",
                                              "Videos (*.avi *.mp4 *.mkv *.mov *.webm);;All files (*)")
        if path:
            self.source_requested.emit(path)

    def _on_record(self, on: bool) -> None:
        self.record.setText("Stop recording" if on else "Record")
        self.record_toggled.emit(on)

    def set_recording(self, on: bool) -> None:
        """Reflect a recording that started or stopped elsewhere, without re-emitting."""
        self.record.blockSignals(True)
        self.record.setChecked(on)
        self.record.setText("Stop recording" if on else "Record")
        self.record.blockSignals(False)

    def set_busy(self, busy: bool, what: str = "") -> None:
        """Disable every control that would start a switch or a recording, and say what is going on."""
        for widget in (self.camera_index, self.camera, self.open_file, self.demo, self.method, self.record):
            widget.setEnabled(not busy)
        self.busy_note.setText(what if busy else "")

    def show_method(self, method: str) -> None:
        """Show ``method`` as selected (a switch that failed), without requesting it again."""
        self.method.blockSignals(True)
        self.method.setCurrentText(method)
        self.method.blockSignals(False)

"""The big heart-rate number with its signal-quality indicator.

It says "no reading" whenever the pipeline withheld the number (bpm null), the
face is gone or the source is lost: a stale or guessed number on a health
display is worse than none.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QLabel, QVBoxLayout, QWidget

from rppg.constants import QUALITY_GATE_DB
from rppg.containers import Reading

NO_READING = "no reading"
_GOOD_MARGIN_DB = 4.0  # quality this far above the gate shows green


def quality_colour(quality: float) -> str:
    """Red under the gate, amber just above it, green when the pulse clearly dominates."""
    if quality < QUALITY_GATE_DB:
        return "#e04848"
    if quality < QUALITY_GATE_DB + _GOOD_MARGIN_DB:
        return "#e0a030"
    return "#40c060"


def why_no_reading(reading: Reading) -> str:
    if reading.source != "ok":
        return "source lost"
    if not reading.face:
        return "no face"
    return "signal too weak"


class BpmReadout(QWidget):
    """Large BPM, unit, and a coloured quality line (dB)."""

    def __init__(self) -> None:
        super().__init__()
        self.value = QLabel(NO_READING)
        self.value.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.unit = QLabel("")
        self.unit.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.unit.setStyleSheet("font-size: 18px; color: #888;")
        self.quality = QLabel()
        self.quality.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        for label in (self.value, self.unit, self.quality):
            layout.addWidget(label)
        self.show_waiting()

    def show_waiting(self) -> None:
        """Before the first full window: nothing to show yet, and it says so."""
        self.value.setText(NO_READING)
        self.unit.setText("")
        self.quality.setText("waiting for the first window")
        self.quality.setStyleSheet("font-size: 16px; color: #888;")
        self._style_value(None)

    def _style_value(self, colour: str | None) -> None:
        size = 64 if colour else 32
        self.value.setStyleSheet(f"font-size: {size}px; font-weight: bold; color: {colour or '#888'};")

    def show_reading(self, reading: Reading) -> None:
        colour = quality_colour(reading.quality)
        if reading.bpm is None or not reading.face or reading.source != "ok":
            self.value.setText(NO_READING)
            self.unit.setText(why_no_reading(reading))
            self._style_value(None)
        else:
            self.value.setText(f"{reading.bpm:.0f}")
            self.unit.setText("bpm")
            self._style_value("#f0f0f0")
        if reading.source != "ok" or reading.quality == float("-inf"):
            self.quality.setText("quality: -")
            self.quality.setStyleSheet("font-size: 16px; color: #888;")
        else:
            self.quality.setText(f"\u25cf quality {reading.quality:+.1f} dB")
            self.quality.setStyleSheet(f"font-size: 16px; color: {colour};")

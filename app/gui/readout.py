"""The big heart-rate number with its confidence in words.

It says "no reading" whenever the pipeline withheld the number (bpm null), the
face is gone or the source is lost, and says why (the reading's reason): a stale
or guessed number on a health display is worse than none. Confidence is shown
as good, fair or poor relative to the calibrated operating point, because a
bare probability means little to the person in front of the camera.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QLabel, QVBoxLayout, QWidget

from rppg.containers import Reading
from rppg.signal.quality import load_model

NO_READING = "no reading"
SOURCE_ENDED = "source ended"

#: What each reason for a missing bpm tells the user.
REASON_TEXT = {
    "warming_up": "warming up",
    "no_face": "no face",
    "face_too_small": "face too small: come closer",
    "low_quality": "signal too weak",
    "source_lost": "source lost",
}
_WORD_COLOUR = {"good": "#40c060", "fair": "#e0a030", "poor": "#e04848"}


def confidence_word(confidence: float, threshold: float | None = None) -> str:
    """poor under the operating point (the bpm is withheld there), good in the top half above it,
    fair between."""
    threshold = load_model().threshold if threshold is None else threshold
    if not confidence >= threshold:
        return "poor"
    return "good" if confidence >= threshold + (1.0 - threshold) / 2 else "fair"


def why_no_reading(reading: Reading) -> str:
    if reading.source != "ok":
        return REASON_TEXT["source_lost"]
    return REASON_TEXT.get(reading.reason or "low_quality", "signal too weak")


class BpmReadout(QWidget):
    """Large BPM, unit (or why there is none), and a coloured confidence line in words."""

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
        self._show_empty("", "waiting for the first window")
        self.waiting = True  # it says so until a reading comes or the source ends

    def show_ended(self) -> None:
        """The source ended before any reading came: nothing is coming, so stop saying "waiting"."""
        self._show_empty(SOURCE_ENDED, "quality: -")
        self.waiting = False

    def _show_empty(self, unit: str, quality: str) -> None:
        self.value.setText(NO_READING)
        self.unit.setText(unit)
        self.quality.setText(quality)
        self.quality.setStyleSheet("font-size: 16px; color: #888;")
        self._style_value(None)

    def _style_value(self, colour: str | None) -> None:
        size = 64 if colour else 32
        self.value.setStyleSheet(f"font-size: {size}px; font-weight: bold; color: {colour or '#888'};")

    def show_reading(self, reading: Reading) -> None:
        self.waiting = False
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
            word = confidence_word(reading.confidence)
            self.quality.setText(f"\u25cf confidence {word} ({reading.confidence:.2f}, {reading.quality:+.1f} dB)")
            self.quality.setStyleSheet(f"font-size: 16px; color: {_WORD_COLOUR[word]};")

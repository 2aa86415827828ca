"""The GUI says how far to trust a reading, says why there is none, and draws turned regions turned."""


import numpy as np
import pytest

from rppg.containers import Reading
from rppg.face.regions import SkinRect


def test_confidence_in_words_around_the_operating_point():
    from rppg_app.gui.readout import confidence_word

    assert confidence_word(0.3, threshold=0.5) == "poor"
    assert confidence_word(0.6, threshold=0.5) == "fair"
    assert confidence_word(0.9, threshold=0.5) == "good"
    assert confidence_word(float("nan"), threshold=0.5) == "poor"


@pytest.mark.parametrize(("reason", "text"), [("warming_up", "warming up"), ("face_too_small", "face too small"),
                                              ("low_quality", "signal too weak"), ("no_face", "no face")])
def test_the_reason_is_shown_while_there_is_no_reading(qt_app, reason, text):
    from rppg_app.gui.readout import NO_READING, BpmReadout

    readout = BpmReadout()
    readout.show_reading(Reading(t=10.0, bpm=None, quality=-2.0, face=reason != "no_face", reason=reason))
    assert readout.value.text() == NO_READING and readout.unit.text().startswith(text)


def test_a_reading_shows_its_confidence_word(qt_app):
    from rppg_app.gui.readout import BpmReadout, confidence_word

    readout = BpmReadout()
    readout.show_reading(Reading(t=10.0, bpm=71.6, quality=3.0, face=True, confidence=0.99, estimator="student"))
    assert readout.value.text() == "72"
    assert f"confidence {confidence_word(0.99)}" in readout.quality.text()


def test_a_turned_region_is_drawn_turned(qt_app):
    from rppg.stream import DisplayFrame
    from rppg_app.gui.video_view import VideoView

    view = VideoView()
    view.resize(200, 200)
    region = SkinRect(70, 90, 60, 20, 90.0)  # 60 x 20 about (100, 100), turned upright: x 90-110, y 70-130
    view.show_frame(DisplayFrame(np.zeros((200, 200, 3), np.uint8), None, [region], 0.0))
    image = view.pixmap().toImage()
    scale = image.width() / 200.0

    def drawn(x: float, y: float) -> bool:
        return any(image.pixelColor(int(x * scale) + dx, int(y * scale) + dy).red() > 100
                   for dx in (-1, 0, 1) for dy in (-1, 0, 1))

    assert drawn(100, 70) and drawn(100, 130) and drawn(90, 100) and drawn(110, 100)
    assert not drawn(70, 100) and not drawn(130, 100)

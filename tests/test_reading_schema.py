"""Every reading says what it is: estimator, confidence and, without a bpm, why."""

import json

import numpy as np
import pytest

from rppg.containers import REASONS, Reading


def test_a_reading_with_a_bpm_has_no_reason_and_strict_json():
    reading = Reading(t=10.0, bpm=71.234, quality=2.5, face=True, confidence=0.93, estimator="student")
    out = reading.to_json()
    assert set(out) == {"t", "bpm", "quality", "confidence", "estimator", "reason", "face"}
    assert out["bpm"] == 71.23 and out["reason"] is None and out["estimator"] == "student"
    assert out["confidence"] == 0.93
    json.dumps(out, allow_nan=False)


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"face": True}, "low_quality"),
    ({"face": False}, "no_face"),
    ({"face": False, "source": "lost"}, "source_lost"),
    ({"face": True, "reason": "face_too_small"}, "face_too_small"),
    ({"face": True, "reason": "warming_up"}, "warming_up"),
])
def test_a_reading_without_a_bpm_says_why(kwargs, reason):
    out = Reading(t=1.0, bpm=None, quality=float("-inf"), **kwargs).to_json()
    assert out["bpm"] is None and out["reason"] == reason and reason in REASONS
    assert out["quality"] is None and out["confidence"] == 0.0
    json.dumps(out, allow_nan=False)


def test_confidence_is_clipped_and_never_nan():
    assert Reading(1.0, 70.0, 1.0, True, confidence=float("nan")).to_json()["confidence"] == 0.0
    assert Reading(1.0, 70.0, 1.0, True, confidence=1.7).to_json()["confidence"] == 1.0


def test_an_unknown_reason_is_refused():
    with pytest.raises(ValueError):
        Reading(t=1.0, bpm=None, quality=0.0, face=True, reason="tired", waveform=np.zeros(0))

"""The quality gate: a face without a pulse gives "no reading" for every estimator, a face with
one keeps its readings.

Two kinds of no-pulse video: a synthetic face with the pulse switched off, and a still frame of a
real face animated with sway, a slow light drift, sensor noise and JPEG compression.
"""

import numpy as np
import pytest

from rppg.constants import METHODS
from rppg.containers import Frame
from rppg.pipeline import Pipeline
from rppg.synth import SynthSpec, render_clip
from rppg.synth.still import StillMotion, animate_still, read_still
from tests.conftest import PYFEAT

SEEDS = (1, 2, 3)
NEGATIVE_S = 16.0  # 7 readings per clip


def _frames(clip) -> list[Frame]:
    return [Frame(image, float(t)) for image, t in zip(clip.frames, clip.times, strict=True)]


def _readings(pipeline: Pipeline, frames: list[Frame]) -> list:
    pipeline.reset()
    readings = [pipeline.push(frame) for frame in frames]
    return [r for r in readings if r is not None]


def _pipeline(method: str) -> Pipeline:
    """As the command line builds it: networks with the POS fallback."""
    return Pipeline(method, fallback="pos" if method in ("student", "teacher") else None)


@pytest.fixture(scope="module")
def negatives() -> dict[str, list[Frame]]:
    spec = SynthSpec.typical(np.random.default_rng(5), duration_s=NEGATIVE_S, width=320, height=240)
    still = read_still(str(PYFEAT / "single_face.mp4"), 1.0)
    motion = StillMotion.random(np.random.default_rng(7))
    return {"synthetic": _frames(render_clip(spec.replace(pulse_amplitude=0.0))),
            "still": list(animate_still(still, motion, NEGATIVE_S, seed=7))}


@pytest.fixture(scope="module")
def silent(negatives) -> dict[tuple[str, str], list]:
    out = {}
    for method in METHODS:
        pipeline = _pipeline(method)
        for kind, frames in negatives.items():
            out[(method, kind)] = _readings(pipeline, frames)
        pipeline.close()
    return out


@pytest.mark.parametrize("kind", ["synthetic", "still"])
@pytest.mark.parametrize("method", METHODS)
def test_no_pulse_gives_no_reading(silent, method, kind):
    readings = silent[(method, kind)]
    assert len(readings) >= 6 and all(r.face for r in readings)
    assert all(r.reason == "low_quality" and 0 <= r.confidence < 1 for r in readings if r.bpm is None)
    assert sum(r.bpm is not None for r in readings) <= 1, [r.to_json() for r in readings]


@pytest.fixture(scope="module")
def pulse_outcomes():
    result = {"pos": [], "student": []}
    for method in result:
        pipeline = _pipeline(method)
        for seed in SEEDS:
            spec = SynthSpec.typical(np.random.default_rng(seed), duration_s=18, width=320, height=240)
            result[method] += [(r, spec.hr_bpm) for r in _readings(pipeline, _frames(render_clip(spec)))]
        pipeline.close()
    return result


@pytest.mark.parametrize("method", ["pos", "student"])
def test_pulse_keeps_its_readings(pulse_outcomes, method):
    pairs = pulse_outcomes[method]
    assert len(pairs) >= 20
    correct = [r.bpm is not None and abs(r.bpm - hr) < 5 for r, hr in pairs]
    assert np.mean(correct) >= 0.6
    wrong = [r.bpm is not None and abs(r.bpm - hr) >= 5 for r, hr in pairs]
    assert np.mean(wrong) <= 0.1
    assert all(r.estimator in ("pos", "student") for r, _ in pairs)

"""The quality gate: a face without a pulse gives "no reading", a face with one keeps its readings."""

import numpy as np
import pytest

from rppg.containers import Frame
from rppg.pipeline import Pipeline
from rppg.synth import SynthSpec, render_clip

SEEDS = (1, 2, 3)


def _readings(pipeline: Pipeline, spec: SynthSpec) -> list:
    clip = render_clip(spec)
    pipeline.reset()
    readings = [pipeline.push(Frame(image, float(t))) for image, t in zip(clip.frames, clip.times, strict=True)]
    return [r for r in readings if r is not None]


@pytest.fixture(scope="module")
def outcomes():
    pipeline = Pipeline("pos")
    result = {"pulse": [], "none": []}
    for seed in SEEDS:
        spec = SynthSpec.typical(np.random.default_rng(seed), duration_s=18, width=320, height=240)
        result["pulse"] += [(r, spec.hr_bpm) for r in _readings(pipeline, spec)]
        result["none"] += _readings(pipeline, spec.replace(pulse_amplitude=0.0))
    pipeline.close()
    return result


def test_no_pulse_gives_no_reading(outcomes):
    readings = outcomes["none"]
    assert len(readings) >= 20 and all(r.face for r in readings)
    assert np.mean([r.bpm is None for r in readings]) >= 0.85


def test_pulse_keeps_its_readings(outcomes):
    pairs = outcomes["pulse"]
    assert len(pairs) >= 20
    correct = [r.bpm is not None and abs(r.bpm - hr) < 5 for r, hr in pairs]
    assert np.mean(correct) >= 0.6
    wrong = [r.bpm is not None and abs(r.bpm - hr) >= 5 for r, hr in pairs]
    assert np.mean(wrong) <= 0.1

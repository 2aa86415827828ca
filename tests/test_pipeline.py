"""The shared pipeline on the real clip: streaming readings and offline traces agree with the reference."""

import json
import subprocess
import sys

import numpy as np
import pytest

from rppg.containers import Frame
from rppg.errors import ConfigError
from rppg.pipeline import Pipeline
from rppg.sources import open_source
from tests.conftest import REAL_HR_BPM, REAL_VIDEO, push_all


@pytest.fixture(scope="module")
def pos_pipeline():
    p = Pipeline("pos")
    yield p
    p.close()


def test_streaming_readings_once_per_second_after_the_window(pos_pipeline):
    pos_pipeline.reset()
    readings = push_all(pos_pipeline)
    times = np.array([r.t for r in readings])
    assert 9.9 <= times[0] <= 10.1
    assert np.allclose(np.diff(times), 1.0, atol=0.05)
    bpms = [r.bpm for r in readings if r.bpm is not None]
    assert len(bpms) >= len(readings) // 2  # how many pass the confidence gate is benchmarked (bench_trust)
    assert all(r.reason == "low_quality" for r in readings if r.bpm is None)
    assert abs(np.median(bpms) - REAL_HR_BPM) < 2.0
    assert all(r.face and r.box is not None and len(r.waveform) > 250 for r in readings)
    ungated = Pipeline("pos", gate_db=-np.inf)  # nothing withheld: every window of a clean clip reads
    try:
        open_bpms = [r.bpm for r in push_all(ungated)]
    finally:
        ungated.close()
    assert len(open_bpms) == len(readings) and None not in open_bpms
    assert abs(np.median(open_bpms) - REAL_HR_BPM) < 2.0


def test_offline_trace_gives_the_whole_clip_rate(pos_pipeline):
    with open_source(str(REAL_VIDEO)) as source:
        trace = pos_pipeline.process_clip(source)
    assert trace.n_frames == 602 and trace.face_fraction == 1.0
    assert np.allclose(np.diff(trace.times), 1 / 30)
    hr = trace.heart_rate()
    assert hr.bpm is not None and abs(hr.bpm - REAL_HR_BPM) < 2.0
    window = trace.heart_rate(5.0, 15.0)
    assert window.bpm is not None and abs(window.bpm - REAL_HR_BPM) < 4.0


def test_frames_without_a_face_give_no_reading(pos_pipeline):
    pos_pipeline.reset()
    dark = np.zeros((240, 320, 3), np.uint8)
    readings = [pos_pipeline.push(Frame(dark, i / 30)) for i in range(30 * 13)]
    readings = [r for r in readings if r is not None]
    assert len(readings) >= 3
    assert all(r.bpm is None and not r.face for r in readings)


@pytest.mark.parametrize("kwargs", [{"band": (120, 60)}, {"band": (40, 1000)}, {"window_s": 1.0},
                                    {"roi": "cheek"}])
def test_bad_settings_are_config_errors(kwargs):
    with pytest.raises(ConfigError):
        Pipeline("pos", **kwargs)


def test_unknown_method_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown method"):
        Pipeline("fft")


def test_monitor_prints_json_lines_for_the_real_clip():
    result = subprocess.run([sys.executable, "-m", "rppg_app.cli", "monitor", "--source", str(REAL_VIDEO),
                             "--method", "chrom", "--duration", "14"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 5
    assert set(lines[0]) == {"t", "bpm", "quality", "confidence", "estimator", "reason", "face"}
    assert all(line["face"] for line in lines)
    assert abs(np.median([line["bpm"] for line in lines if line["bpm"]]) - REAL_HR_BPM) < 3.0
    assert result.stderr == ""


def test_monitor_on_a_clip_shorter_than_the_window_says_so(tmp_path):
    result = subprocess.run([sys.executable, "-m", "rppg_app.cli", "monitor", "--source", str(REAL_VIDEO),
                             "--method", "pos", "--duration", "3"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "before the first 10 s window was full" in result.stderr


def test_fallback_takes_over_only_where_it_is_cleaner():
    from rppg.pipeline import ClipTrace

    t = np.arange(600) / 30.0
    rng = np.random.default_rng(4)
    noise, pulse = rng.standard_normal(600), np.sin(2 * np.pi * 1.25 * t)
    face = np.ones(600, bool)
    trace = ClipTrace(t, noise, face, 1.0, 600, 20.0, fallback_bvp=pulse)
    assert trace.heart_rate().bpm == pytest.approx(75.0, abs=0.5)
    swapped = ClipTrace(t, pulse, face, 1.0, 600, 20.0, fallback_bvp=noise)
    assert swapped.heart_rate().bpm == pytest.approx(75.0, abs=0.5)
    alone = ClipTrace(t, noise, face, 1.0, 600, 20.0)
    assert alone.heart_rate().bpm is None


def test_classical_methods_ignore_the_fallback():
    pipeline = Pipeline("chrom", fallback="pos")
    assert pipeline.fallback is None
    pipeline.close()

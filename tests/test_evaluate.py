"""Reference heart rate, evaluation windows, and ``rppg evaluate`` end to end on a real face."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from rppg.datasets import load_dataset
from rppg.evaluation import evaluate_clips, reference_hr, summarize, window_starts
from rppg.pipeline import Pipeline

REAL_CLIP = Path(__file__).parent / "data/physrecorder_v01"
CLIP_SECONDS = 12.5


@pytest.mark.parametrize("bpm", [48.0, 71.3, 123.4, 176.0])
def test_reference_hr_from_irregular_samples(bpm):
    """A sine pulse sampled at a jittery ~20 Hz with a dropout resolves within 0.5 bpm over 10 s."""
    rng = np.random.default_rng(int(bpm))
    steps = 0.05 + rng.uniform(-0.012, 0.012, 260)
    steps[100] = 0.4  # a gap, as when a sensor drops samples
    t = 0.3 + np.cumsum(steps)
    bvp = 50 + 20 * np.sin(2 * np.pi * bpm / 60.0 * t) + 3.0 * t  # drifting baseline
    assert reference_hr(t, bvp, 1.0, 11.0) == pytest.approx(bpm, abs=0.5)


def test_window_starts():
    np.testing.assert_allclose(window_starts(0.5, 13.0, 10.0, 1.0), [0.5, 1.5, 2.5])
    np.testing.assert_allclose(window_starts(0.0, 10.0, 10.0, 1.0), [0.0])
    assert len(window_starts(0.0, 9.9, 10.0, 1.0)) == 0


def test_summary_pools_windows_and_averages_snr():
    clips = [
        {"hr_ref": 70.0, "hr_est": 72.0, "snr": 2.0,
         "windows": [{"hr_ref": 70.0, "hr_est": 71.0}, {"hr_ref": 70.0, "hr_est": None}]},
        {"hr_ref": 80.0, "hr_est": None, "snr": -4.0,
         "windows": [{"hr_ref": 80.0, "hr_est": 83.0}]},
    ]
    s = summarize(clips)
    assert s["n_clips"] == 2
    assert s["mae"] == 2.0 and s["coverage"] == 0.5 and s["snr"] == -1.0
    assert s["window_mae"] == 2.0 and s["window_coverage"] == pytest.approx(2 / 3, abs=1e-4)
    assert s["window_pearson"] is None


def rppg(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1]))
    return subprocess.run([sys.executable, "-m", "rppg_app.cli", *args], capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.fixture(scope="module")
def ubfc_from_real_face(tmp_path_factory) -> Path:
    """The first 12 s of the real clip, downscaled, as a UBFC subject with its real reference pulse."""
    root = tmp_path_factory.mktemp("ubfc")
    clip = load_dataset(REAL_CLIP, "recording")[0]
    keep = clip.frame_times <= CLIP_SECONDS
    subject = root / "subject1"
    subject.mkdir()
    writer = cv2.VideoWriter(str(subject / "vid.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (320, 240))
    with clip.open_source() as source:
        for frame, _ in zip(source, range(int(keep.sum())), strict=False):
            writer.write(cv2.resize(frame.image, (320, 240), interpolation=cv2.INTER_AREA))
    writer.release()
    times = clip.frame_times[keep]
    ppg = np.interp(times, clip.ref_times, clip.ref_bvp)
    lines = [" ".join(f"{v:.6e}" for v in values) for values in (ppg, np.full(len(times), 70.0), times)]
    (subject / "ground_truth.txt").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="module")
def evaluated(ubfc_from_real_face, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    result = rppg("evaluate", str(ubfc_from_real_face), "--format", "ubfc", "--method", "pos",
                  "--json", str(out / "report.json"), "--plots", str(out / "plots"),
                  "--window", "8", "--step", "2")
    return result, out


def test_evaluate_cli_writes_report_with_schema(evaluated):
    result, out = evaluated
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    summary_keys = {"n_clips", "mae", "rmse", "mape", "pearson", "within5", "snr", "coverage", "window_mae",
                    "window_rmse", "window_mape", "window_pearson", "window_within5", "window_coverage",
                    "method", "format", "realtime_factor"}
    assert summary_keys <= set(report["summary"])
    summary = report["summary"]
    assert summary["n_clips"] == 1 and summary["method"] == "pos" and summary["format"] == "ubfc"
    assert summary["realtime_factor"] > 0
    (clip,) = report["clips"]
    assert {"id", "hr_ref", "hr_est", "snr", "quality", "face_fraction", "duration_s", "windows"} <= set(clip)
    assert clip["id"] == "subject1"
    assert clip["duration_s"] == pytest.approx(CLIP_SECONDS, abs=0.1)
    assert clip["face_fraction"] > 0.9
    # 8 s windows every 2 s over ~12.5 s of overlap
    assert [w["end"] - w["start"] for w in clip["windows"]] == pytest.approx([8.0, 8.0, 8.0])
    assert clip["windows"][0]["start"] == pytest.approx(0.0, abs=0.05)  # the live reading, at a frame time
    assert np.diff([w["start"] for w in clip["windows"]]) == pytest.approx([2.0, 2.0], abs=0.05)
    for w in clip["windows"]:
        assert {"start", "end", "hr_ref", "hr_est", "quality"} <= set(w)
        assert 60.0 < w["hr_ref"] < 80.0
    assert 65.0 < clip["hr_ref"] < 76.0  # the real pulse is about 70 bpm


def test_evaluation_of_real_recording_tracks_the_finger_reference():
    """POS on the real clip: windows pair estimate and reference on one clock, so they agree."""
    clips = load_dataset(REAL_CLIP, "recording")
    report = evaluate_clips(clips, Pipeline("pos"), progress=False, method="pos",
                            dataset_format="recording")
    summary, clip = report["summary"], report["clips"][0]
    assert clip["hr_ref"] == pytest.approx(70.6, abs=1.0)
    assert len(clip["windows"]) == 10  # 10 s windows, 1 s step, over ~20 s
    assert summary["window_coverage"] >= 0.5
    assert summary["window_mae"] < 3.0
    assert summary["method"] == "pos" and summary["format"] == "recording"


def test_evaluate_cli_prints_summary_and_writes_plots(evaluated):
    result, out = evaluated
    assert "subject1" in result.stdout and "windows" in result.stdout
    for name in ("bland_altman.png", "scatter.png", "hr_subject1.png"):
        path = out / "plots" / name
        assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("args", "message"), [
    (["evaluate", "/no/such/folder", "--format", "ubfc", "--method", "pos", "--json", "o.json"],
     "dataset folder not found"),
    (["evaluate", str(REAL_CLIP), "--format", "pure", "--method", "pos", "--json", "o.json"],
     "no pure clip in"),
    (["evaluate", str(REAL_CLIP), "--format", "recording", "--method", "pos", "--json", "o.json",
      "--step", "0"], "must be positive"),
])
def test_evaluate_cli_bad_input_is_one_line(tmp_path, args, message):
    result = rppg(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rppg: error:") and message in lines[0]
    assert "Traceback" not in result.stderr

"""`rppg bench` runs end to end and writes the documented keys (values are measured, not checked)."""

import json
import subprocess
import sys

import pytest
import torch
from torch import nn

from rppg.bench import STAGES, receptive_field_frames
from rppg.models import build, count_params


@pytest.mark.slow
def test_bench_writes_the_documented_json(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, "-m", "rppg_app.cli", "bench", "--runs", "2", "--window", "64",
                             "--methods", "student", "--json", str(out)],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["student_params"] == count_params(build("student"))
    assert report["teacher_params"] == count_params(build("teacher"))
    assert report["student_speedup"] > 0 and report["student_flops"] < report["teacher_flops"]
    assert set(report["pipelines"]) == {"student"}
    student = report["pipelines"]["student"]
    assert report["pipeline_realtime_factor"] == student["realtime_factor"] > 0
    assert report["pipeline_decode_ratio"] == student["pipeline_decode_ratio"] > 0
    assert set(student["stages_ms"]) == set(STAGES) and student["stages_ms"]["estimator"] > 0
    assert student["detector_share"] == pytest.approx(1.0)  # network methods detect on every frame
    assert student["latency_ms_p95"] >= student["latency_ms_median"] > 0 and student["load_s"] > 0
    assert report["threads"] == 1 and report["threads_run"]["fps"] > 0
    assert report["rss_mb_torch"] > 0 and report["rss_mb_onnx"] > 0
    assert 0 < report["student_receptive_field_s"] < report["teacher_receptive_field_s"]
    assert abs(student["median_bpm"] - 70.6) < 5
    assert "student speed-up" in result.stdout


def test_bench_rejects_a_missing_video_before_timing(tmp_path):
    result = subprocess.run([sys.executable, "-m", "rppg_app.cli", "bench", "--video", str(tmp_path / "none.avi")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "source not found" in result.stderr
    assert "networks:" not in result.stderr


@pytest.mark.parametrize("kernels, frames", [((3,), 3), ((3, 3), 5), ((5, 3, 1), 7)])
def test_receptive_field_is_measured_by_gradient(kernels, frames):
    layers = [nn.Conv3d(3, 4, (kernels[0], 1, 1), padding=(kernels[0] // 2, 0, 0))]
    for k in kernels[1:]:
        layers += [nn.Tanh(), nn.Conv3d(4, 4, (k, 1, 1), padding=(k // 2, 0, 0))]

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(*layers)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(x).mean(dim=(1, 3, 4))

    assert receptive_field_frames(Net(), length=32, size=4) == frames

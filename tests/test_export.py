"""ONNX export and the ONNX Runtime backend: same numbers as PyTorch, same checks on bad files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rppg.errors import WeightsError
from rppg.models import load_estimator
from rppg.models.onnx_backend import export_onnx
from rppg.models.student import StudentNet
from rppg.models.teacher import TeacherNet
from rppg.models.weights_io import save_weights

ROOT = Path(__file__).resolve().parents[1]


def crops(t: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(60, 200, (1, 36, 36, 3))
    return np.clip(base + rng.normal(0, 3, (t, 36, 36, 3)), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def student_files(tmp_path_factory) -> Path:
    """Trained-looking (non-default) student weights and their ONNX export, side by side."""
    torch.manual_seed(3)
    net = StudentNet()
    with torch.no_grad():  # non-trivial batch-norm statistics, so folding them is exercised
        for m in net.modules():
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm3d)):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    d = tmp_path_factory.mktemp("student")
    weights = save_weights(net.eval(), d / "student.safetensors")
    export_onnx(net, d / "student.onnx")
    return weights


@pytest.mark.parametrize("t", [64, 160, 300])
def test_onnx_runtime_matches_torch_on_any_window_length(student_files, t):
    torch_est = load_estimator("student", str(student_files))
    onnx_est = load_estimator("student", str(student_files.with_suffix(".onnx")), backend="onnx")
    x = crops(t)
    a, b = torch_est.predict_diff(x), onnx_est.predict_diff(x)
    assert a.shape == b.shape == (t,)
    assert np.abs(a - b).max() < 1e-4
    assert np.abs(torch_est(x) - onnx_est(x)).max() < 1e-3  # after integration and scaling
    assert onnx_est.n_params == torch_est.n_params


def test_teacher_exports_too(tmp_path):
    torch.manual_seed(0)
    net = TeacherNet().eval()
    weights = save_weights(net, tmp_path / "teacher.safetensors")
    export_onnx(net, tmp_path / "teacher.onnx")
    x = crops(64, seed=1)
    a = load_estimator("teacher", str(weights)).predict_diff(x)
    b = load_estimator("teacher", str(weights.with_suffix(".onnx")), backend="onnx").predict_diff(x)
    assert np.abs(a - b).max() < 1e-4


def test_bad_onnx_files_are_weights_errors(student_files, tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        load_estimator("student", str(tmp_path / "none.onnx"), backend="onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x08\x07 definitely not a graph")
    with pytest.raises(WeightsError):
        load_estimator("student", str(junk), backend="onnx")
    with pytest.raises(WeightsError, match="arch"):  # a student graph is not a teacher
        load_estimator("teacher", str(student_files.with_suffix(".onnx")), backend="onnx")


def rppg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rppg_app.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_export_command_writes_a_checked_onnx_file(student_files, tmp_path):
    out = tmp_path / "cli.onnx"
    done = rppg("export", "--method", "student", "--weights", str(student_files), "--onnx", str(out))
    assert done.returncode == 0, done.stderr
    assert "matches PyTorch" in done.stdout and out.stat().st_size > 10_000
    est = load_estimator("student", str(out), backend="onnx")
    ref = load_estimator("student", str(student_files))
    assert np.abs(est.predict_diff(crops(96)) - ref.predict_diff(crops(96))).max() < 1e-4


def test_export_command_rejects_wrong_weights_in_one_line(student_files, tmp_path):
    out = tmp_path / "t.onnx"
    done = rppg("export", "--method", "teacher", "--weights", str(student_files), "--onnx", str(out))
    assert done.returncode == 2
    assert done.stderr.startswith("rppg: error:") and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "t.onnx").exists()

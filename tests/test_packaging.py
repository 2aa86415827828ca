"""The project as pip installs it: a wheel, away from the source tree, without PyTorch or Qt, running
the headless jobs (monitor, daemon, evaluate) on ONNX Runtime.

mediapipe depends on matplotlib, so the base install has it; the face detector imports only
mediapipe's core (rppg/face/mediapipe_api.py) and rppg's own code never imports matplotlib
outside plots (checked below on the checkout and in tests/test_mediapipe_api.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REAL_CLIP_DIR
from tests.test_daemon import Daemon, SseClient

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
TORCH_FREE_MODULES = ("rppg.models", "rppg.models.estimator", "rppg.models.registry", "rppg.models.weights_io",
                      "rppg.models.onnx_backend", "rppg.estimators", "rppg.pipeline", "rppg.paths")


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that would point Python back at this checkout."""
    drop = ("PYTHONPATH", "RPPG_MODELS_DIR", "VIRTUAL_ENV", "PYTHONHOME")
    return {k: v for k, v in os.environ.items() if k not in drop} | extra


def _folder(package: str, package_dir: dict[str, str]) -> str:
    """Where setuptools takes ``package`` from: the longest mapped prefix, else its own path."""
    parts = package.split(".")
    for i in range(len(parts), 0, -1):
        prefix = ".".join(parts[:i])
        if prefix in package_dir:
            return "/".join([package_dir[prefix], *parts[i:]])
    return "/".join(parts)


def test_every_source_package_is_listed_for_the_wheel():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    dirs = {_folder(name, config["package-dir"]) for name in config["packages"]}
    for top in ("rppg", "app", "training"):
        for init in (ROOT / top).rglob("__init__.py"):
            folder = init.parent.relative_to(ROOT).as_posix()
            assert folder in dirs, f"{folder} is missing from [tool.setuptools] packages"
    assert config["package-dir"]["rppg.model_files"] == "models"


def test_network_code_imports_without_torch():
    code = ("import sys; import " + ", ".join(TORCH_FREE_MODULES) +
            "; bad = [m for m in ('torch', 'onnx', 'PyQt6', 'matplotlib') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory) -> Path:
    """A fresh venv outside the checkout with the wheel and its base dependencies (no extras)."""
    root = tmp_path_factory.mktemp("base_install")
    wheels = root / "wheels"
    # the working tree without what git ignores (a stale build/ folder must not leak into the wheel), new
    # files not yet committed included
    source = root / "source"
    tracked = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], capture_output=True,
                             text=True, cwd=ROOT, check=True).stdout
    for name in tracked.splitlines():
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(wheels), str(source)], check=True, timeout=900, env=_clean_env())
    (wheel,) = wheels.glob("rppg-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, str(wheel)], check=True, timeout=1800, env=_clean_env())
    return venv


@pytest.mark.slow
def test_wheel_ships_weights_and_detector_and_no_generic_top_level_names(base_venv):
    (wheel,) = base_venv.parent.glob("wheels/rppg-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in ("student.safetensors", "student.onnx", "teacher.safetensors", "student.json",
                    "face_detection_short_range.tflite", "LICENSE-mediapipe-blazeface.txt"):
        assert f"rppg/model_files/{shipped}" in names
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert all(top.startswith("rppg") for top in tops), tops


@pytest.mark.slow
def test_base_install_has_no_torch_or_qt_and_monitors_the_demo_on_onnx(base_venv, tmp_path):
    python = str(base_venv / "bin" / "python")
    probe = ("import importlib.util as u; from rppg.face.detectors import make_detector; "
             "print([m for m in ('torch', 'PyQt6', 'pyqtgraph', 'onnx') if u.find_spec(m)], make_detector().name)")
    out = subprocess.run([python, "-c", probe], capture_output=True, text=True, cwd=tmp_path, env=_clean_env())
    assert out.stdout.strip().splitlines()[-1] == "[] mediapipe", out.stdout + out.stderr
    rppg = str(base_venv / "bin" / "rppg")
    version = subprocess.run([rppg, "--version"], capture_output=True, text=True, cwd=tmp_path, env=_clean_env())
    assert version.stdout.startswith("rppg ")

    run = subprocess.run([rppg, "monitor", "--source", "demo", "--duration", "12"], capture_output=True, text=True,
                         cwd=tmp_path, env=_clean_env(), timeout=900)
    assert run.returncode == 0, run.stderr
    readings = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(readings) >= 2 and all("bpm" in r for r in readings)
    assert any(r["bpm"] is not None and abs(r["bpm"] - 72) < 5 for r in readings)

    asked_torch = subprocess.run([rppg, "monitor", "--source", "demo", "--backend", "torch"], capture_output=True,
                                 text=True, cwd=tmp_path, env=_clean_env(), timeout=600)
    assert asked_torch.returncode == 2
    assert asked_torch.stderr.strip().splitlines()[-1].startswith("rppg: error: --backend torch needs PyTorch")


@pytest.mark.slow
def test_base_install_serves_the_daemon_and_evaluates_on_onnx(base_venv, tmp_path):
    rppg = str(base_venv / "bin" / "rppg")
    daemon = Daemon("--method", "student", program=[rppg], base_env=_clean_env(), cwd=str(tmp_path))
    try:
        status, health = daemon.get("/health")
        assert status == 200 and health["method"] == "student" and health["frames_captured"] > 0
        stream = SseClient(daemon.port)
        (reading,) = stream.events(1)  # the first full window of the clip played in real time
        stream.close()
        assert reading["face"] is True and {"t", "bpm", "confidence", "estimator", "reason"} <= set(reading)
    finally:
        assert daemon.stop() == 0

    report = tmp_path / "report.json"
    run = subprocess.run([rppg, "evaluate", str(REAL_CLIP_DIR), "--format", "recording", "--method", "student",
                          "--json", str(report), "--no-progress"], capture_output=True, text=True, cwd=tmp_path,
                         env=_clean_env(), timeout=900)
    assert run.returncode == 0, run.stderr
    clip = json.loads(report.read_text())["clips"][0]
    assert clip["hr_est"] == pytest.approx(clip["hr_ref"], abs=3.0)


@pytest.mark.slow
def test_base_install_names_the_extra_for_what_it_lacks(base_venv, tmp_path):
    rppg = str(base_venv / "bin" / "rppg")
    for args, extra in ((["export", "--method", "student", "--onnx", "x.onnx"], "rppg[train]"),
                        (["gui", "--source", "demo"], "rppg[gui]")):
        run = subprocess.run([rppg, *args], capture_output=True, text=True, cwd=tmp_path, env=_clean_env(),
                             timeout=600)
        lines = run.stderr.strip().splitlines()
        assert run.returncode == 2 and len(lines) == 1 and extra in lines[0], run.stderr

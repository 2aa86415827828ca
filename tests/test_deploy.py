"""What a board's install uses: the systemd unit, the install script, and the ONNX Runtime providers."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import onnxruntime as ort
import pytest

from rppg.errors import ConfigError
from rppg.models.onnx_backend import (
    PREFERRED_PROVIDERS,
    PROVIDERS_ENV,
    OnnxEstimator,
    available_providers,
    provider_options,
)
from rppg.paths import models_dir
from rppg_app.cli import build_parser
from rppg_app.daemon.auth import is_loopback

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "deploy" / "rppg-daemon.service"
INSTALL = ROOT / "deploy" / "jetson_install.sh"


def _unit_settings(path: Path) -> dict[str, dict[str, list[str]]]:
    """section -> key -> values, as systemd reads them: comments skipped, '\\' continues a line, keys repeat."""
    sections: dict[str, dict[str, list[str]]] = {}
    current, pending = None, ""
    for raw in path.read_text().splitlines():
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_systemd_unit_is_sandboxed_and_takes_its_token_from_an_environment_file():
    service = _unit_settings(UNIT)["Service"]
    for key, value in (("DynamicUser", "yes"), ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                       ("ProtectHome", "yes"), ("PrivateTmp", "yes"), ("KillSignal", "SIGTERM")):
        assert service[key] == [value], key
    assert service["EnvironmentFile"] == ["-/etc/rppg/env"]
    assert service["CapabilityBoundingSet"] == [""]


def test_systemd_unit_starts_the_daemon_with_options_it_has_on_loopback():
    (exec_start,) = _unit_settings(UNIT)["Service"]["ExecStart"]
    program, *argv = shlex.split(exec_start)
    assert program.endswith("/bin/rppg") and "--token" not in argv
    args = build_parser("daemon").parse_args(argv)  # an unknown option would exit here
    assert args.command == "daemon" and is_loopback(args.host)


def test_install_script_parses_and_refuses_a_python_it_cannot_use(tmp_path):
    assert subprocess.run(["bash", "-n", str(INSTALL)], capture_output=True).returncode == 0
    usage = subprocess.run(["bash", str(INSTALL), "--help"], capture_output=True, text=True, timeout=30)
    assert usage.returncode == 0 and "PYTHON=" in usage.stdout and "ORT_WHEEL" in usage.stdout
    refused = subprocess.run(["bash", str(INSTALL), "--prefix", str(tmp_path / "opt")], capture_output=True,
                             text=True, timeout=30, env={"PATH": "/usr/bin:/bin", "PYTHON": str(tmp_path / "none")})
    assert refused.returncode == 2 and "Python 3.10 or newer" in refused.stderr
    assert not (tmp_path / "opt").exists()


def test_onnx_runtime_providers_follow_the_preference_and_what_the_build_has(monkeypatch):
    have = ort.get_available_providers()
    monkeypatch.delenv(PROVIDERS_ENV, raising=False)
    chosen = available_providers()
    assert chosen == [p for p in PREFERRED_PROVIDERS if p in have] and chosen[-1] == "CPUExecutionProvider"
    monkeypatch.setenv(PROVIDERS_ENV, "NoSuchExecutionProvider, CPUExecutionProvider")
    assert available_providers() == ["CPUExecutionProvider"]
    monkeypatch.setenv(PROVIDERS_ENV, "NoSuchExecutionProvider")
    with pytest.raises(ConfigError, match=PROVIDERS_ENV):
        available_providers()


def test_shipped_student_runs_on_the_chosen_provider_and_tensorrt_caches_its_engines(monkeypatch, tmp_path):
    monkeypatch.delenv(PROVIDERS_ENV, raising=False)
    estimator = OnnxEstimator("student", models_dir() / "student.onnx", "student")
    assert estimator.providers[0] == available_providers()[0]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    options = provider_options("TensorrtExecutionProvider")
    assert Path(options["trt_engine_cache_path"]).is_dir() and options["trt_engine_cache_enable"] == "True"
    assert provider_options("CPUExecutionProvider") == {}

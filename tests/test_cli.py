"""The command line as a user meets it: version, help, and one-line errors before anything heavy loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rppg_app.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("cv2", "mediapipe", "torch", "onnxruntime", "scipy")


def _rppg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rppg_app.cli", *args], capture_output=True, text=True, timeout=300,
                          cwd=ROOT)


def _one_line_error(result: subprocess.CompletedProcess, *words: str) -> str:
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rppg: error:"), result.stderr
    for word in words:
        assert word in lines[0]
    return lines[0]


def test_version():
    result = _rppg("--version")
    assert result.returncode == 0 and result.stdout.startswith("rppg ") and result.stdout.split()[1][0].isdigit()


@pytest.mark.parametrize("args, words", [
    (("monitor", "--source", "demo", "--duration", "-5"), ("--duration", "positive")),
    (("monitor", "--source", "demo", "--method", "pos", "--weights", "x.safetensors"), ("--weights", "pos")),
    (("monitor", "--source", "demo", "--backend", "onnx", "--weights", "models/student.safetensors"),
     ("--backend onnx", ".onnx", "student.safetensors")),
    (("monitor", "--source", "demo", "--backend", "torch", "--weights", "models/student.onnx"),
     ("--backend torch", ".safetensors")),
    (("monitor", "--source", "demo", "--weights", "missing.safetensors"), ("not found", "missing.safetensors")),
    (("monitor", "--source", "no/such/clip.mp4"), ("source not found", "clip.mp4")),
    (("gui", "--source", "demo", "--window", "2"), ("--window",)),
    (("daemon", "--source", "demo", "--band", "120", "60"), ("--band",)),
    (("evaluate", "tests/data", "--format", "recording", "--json", "x.json", "--band", "120", "60"), ("--band",)),
    (("evaluate", "tests/data", "--format", "recording", "--json", "x.json", "--backend", "onnx", "--weights",
      "models/student.safetensors"), ("--backend onnx", ".onnx")),
])
def test_bad_arguments_get_one_line(args, words):
    _one_line_error(_rppg(*args), *words)


def _absent_camera() -> int:
    return next(i for i in range(90, 100) if not Path(f"/dev/video{i}").exists())


@pytest.mark.parametrize("argv, words, allowed", [
    (["monitor", "--source", "missing.mp4"], "source not found", ()),
    (["daemon", "--source", str(_absent_camera())], "not found", ()),
    # the --format choices come from the dataset registry, whose loaders read video with OpenCV
    (["evaluate", "missing", "--format", "ubfc", "--json", "x.json"], "dataset folder not found", ("cv2",)),
    (["evaluate", "missing", "--format", "ubfc", "--json", "x.json", "--method", "pos", "--weights", "w.onnx"],
     "--weights", ("cv2",)),
])
def test_bad_input_is_reported_before_any_heavy_import(argv, words, allowed):
    heavy = tuple(m for m in HEAVY if m not in allowed)
    code = (f"import sys; from rppg_app.cli import main; rc = main({argv!r}); "
            f"print(rc, [m for m in {heavy!r} if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.stdout.strip() == "2 []", result.stdout + result.stderr
    assert words in result.stderr


def test_a_camera_that_does_not_exist_is_not_found_not_lost(tmp_path):
    index = _absent_camera()
    for command in ("monitor", "daemon"):
        line = _one_line_error(_rppg(command, "--source", str(index)), f"camera {index} not found")
        assert "lost" not in line


def _subparser(command: str):
    return build_parser(command)._subparsers._group_actions[0].choices[command]


def test_help_says_each_default_once():
    for command in ("monitor", "gui", "daemon", "evaluate"):
        sub = _subparser(command)
        formatter = sub._get_formatter()
        for action in sub._actions:
            text = formatter._get_help_string(action)
            assert text.count("default") <= 1, (command, text)
        assert " ".join(sub.format_help().split()).count("(default: student)") == 1


def test_live_commands_share_their_options():
    def options(command: str) -> set[str]:
        return {s for a in _subparser(command)._actions for s in a.option_strings}

    shared = {"--source", "--method", "--weights", "--backend", "--fallback", "--band", "--detector", "--roi",
              "--window", "--realtime", "--no-realtime"}
    for command in ("monitor", "gui", "daemon"):
        assert shared <= options(command), command


def test_monitor_classical_on_the_real_clip_prints_readings(real_video, capsys):
    assert main(["monitor", "--source", str(real_video), "--method", "pos", "--duration", "12"]) == 0
    readings = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert readings and all({"t", "bpm", "quality"} <= set(r) for r in readings)

#!/usr/bin/env python3
"""Resident memory and start-up time of the headless daemon, from the wheel without extras.

Builds the wheel, installs it with its base dependencies only (no torch, no Qt;
mediapipe brings matplotlib, which it imports) into a fresh venv outside the checkout, runs ``rppg daemon`` on the
real clip (looping at its own frame rate, the student network on ONNX Runtime),
and samples ``/health``. For comparison it runs the same daemon from the
checkout's own environment (with PyTorch: the torch backend). Writes JSON.

    python scripts/daemon_memory.py --json deploy/daemon_memory.json [--venv /tmp/rppg-base]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "tests" / "data" / "physrecorder_v01" / "video_ZIP_H264.avi"


def clean_env() -> dict[str, str]:
    drop = ("PYTHONPATH", "RPPG_MODELS_DIR", "VIRTUAL_ENV", "RPPG_TOKEN")
    return {k: v for k, v in os.environ.items() if k not in drop}


def base_venv(path: Path) -> Path:
    """A venv with the wheel and its base dependencies (reused when it already has rppg)."""
    python = path / "bin" / "python"
    if (path / "bin" / "rppg").exists():
        return path
    wheels = Path(tempfile.mkdtemp(prefix="rppg-wheel-"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(wheels), str(ROOT)], check=True, env=clean_env())
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *map(str, wheels.glob("rppg-*.whl"))], check=True,
                   env=clean_env())
    return path


def face_detector(python: Path) -> str:
    """The detector the pipeline will use (mediapipe, or Haar when mediapipe cannot be imported)."""
    code = "from rppg.face.detectors import make_detector; print(make_detector().name)"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, env=clean_env(), cwd="/")
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "error: " + out.stderr[-200:]


def installed(python: Path, names: tuple[str, ...]) -> list[str]:
    code = f"import importlib.util as u; print(','.join(m for m in {names!r} if u.find_spec(m)))"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, env=clean_env(), cwd="/")
    return [m for m in out.stdout.strip().split(",") if m]


def health(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as reply:
        return json.load(reply)


def measure(rppg: Path, seconds: float, method: str) -> dict:
    """Start the daemon, wait for its first reading, sample /health for ``seconds``; SIGTERM it."""
    cmd = [str(rppg), "daemon", "--source", str(CLIP), "--loop", "--method", method, "--port", "0"]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=clean_env(),
                            cwd="/")
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()
    port, serving_s = None, None
    while port is None:
        line = lines.get(timeout=300)
        if found := re.search(r"http://127\.0\.0\.1:(\d+)/", line):
            port, serving_s = int(found.group(1)), time.monotonic() - started
    first = health(port)
    while health(port)["readings"] < 1:
        time.sleep(0.5)
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        samples.append(health(port))
        time.sleep(2.0)
    stop = time.monotonic()
    proc.terminate()
    code = proc.wait(30)
    last = samples[-1]
    return {
        "command": " ".join(["rppg", *cmd[1:]]),
        "spawn_to_serving_s": round(serving_s, 2),
        "engine_first_frame_s": first["first_frame_s"],
        "rss_mb_at_first_frame": first["rss_mb"],
        "rss_mb_max": max(s["rss_mb"] for s in samples),
        "rss_mb_last": last["rss_mb"],
        "sampled_s": round(seconds, 1),
        "frames_processed": last["frames_processed"],
        "frames_dropped": last["frames_dropped"],
        "readings": last["readings"],
        "sigterm_exit_code": code,
        "sigterm_exit_s": round(time.monotonic() - stop, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True, type=Path)
    parser.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) / "rppg-base-venv")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to sample after the first reading")
    parser.add_argument("--method", default="student")
    args = parser.parse_args()

    venv = base_venv(args.venv)
    extras = ("torch", "PyQt6", "pyqtgraph", "matplotlib", "onnx")
    runs = {"base_install_onnx": {"installed_extras": installed(venv / "bin" / "python", extras),
                                  "face_detector": face_detector(venv / "bin" / "python"),
                                  **measure(venv / "bin" / "rppg", args.seconds, args.method)}}
    here = Path(sys.executable).parent / "rppg"
    if here.exists() and "torch" in installed(Path(sys.executable), ("torch",)):
        runs["full_install_torch"] = {"installed_extras": installed(Path(sys.executable), extras),
                                      "face_detector": face_detector(Path(sys.executable)),
                                      **measure(here, args.seconds, args.method)}
    report = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                          "load_average_1min_at_end": round(os.getloadavg()[0], 1)},
              "clip": CLIP.name, "runs": runs}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

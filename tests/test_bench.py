"""`rppg bench` runs end to end and writes the documented keys (values are measured, not checked)."""

import json
import subprocess
import sys


def test_bench_writes_the_documented_json(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, "-m", "rppg_app.cli", "bench", "--runs", "2", "--window", "64",
                             "--methods", "student", "pos", "--json", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["student_params"] == 24139 and report["teacher_params"] == 796001
    assert report["student_speedup"] > 0 and report["student_flops"] < report["teacher_flops"]
    assert set(report["pipelines"]) == {"student", "pos"}
    assert report["pipeline_realtime_factor"] == report["pipelines"]["student"]["realtime_factor"] > 0
    assert abs(report["pipelines"]["pos"]["median_bpm"] - 70.6) < 3
    assert "student speed-up" in result.stdout


def test_bench_rejects_a_missing_video_before_timing(tmp_path):
    result = subprocess.run([sys.executable, "-m", "rppg_app.cli", "bench", "--video", str(tmp_path / "none.avi")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "source not found" in result.stderr
    assert "networks:" not in result.stderr

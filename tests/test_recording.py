"""Lossless recordings: pixels survive exactly, a contact sensor's CSV lines up, and evaluate reads it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rppg.containers import Frame
from rppg.datasets import load_dataset
from rppg.errors import RppgError
from rppg.recording_writer import VIDEO_NAME, RecordingWriter, attach_reference
from rppg.sources.video import VideoFileSource
from rppg_app.cli import main
from tests.conftest import REAL_CLIP_DIR, REAL_HR_BPM, REAL_VIDEO


def _frames(n: int) -> list[np.ndarray]:
    """Noise plus a 1-level flicker: what a lossy codec would round away."""
    rng = np.random.default_rng(3)
    base = rng.integers(60, 200, (48, 64, 3), dtype=np.uint8)
    return [base + np.uint8(i % 2) for i in range(n)]


def test_recording_is_lossless_with_frame_times(tmp_path):
    images = _frames(20)
    with RecordingWriter(tmp_path / "rec", fps=30.0, size=(64, 48)) as writer:
        for i, image in enumerate(images):
            writer.write(Frame(image=image, t=i / 30.0))
    assert (tmp_path / "rec" / VIDEO_NAME).is_file() and VIDEO_NAME.endswith(".mkv")
    times = np.loadtxt(tmp_path / "rec" / "frames_timestamp.csv", delimiter=",", skiprows=1)[:, 1]
    np.testing.assert_allclose(np.diff(times), 1 / 30.0, atol=2e-6)
    with VideoFileSource(tmp_path / "rec" / VIDEO_NAME) as source:
        decoded = [frame.image for frame in source]
    assert len(decoded) == 20
    assert all(np.array_equal(a, b) for a, b in zip(images, decoded, strict=True))


def _write_sensor_csv(path, stamps_s: np.ndarray, values: np.ndarray) -> None:
    """A sensor's own export: milliseconds, its own column names."""
    lines = ["Time,PPG"] + [f"{int(round(t * 1000))},{v:g}" for t, v in zip(stamps_s, values, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def test_attach_reference_lines_up_a_sensor_csv_and_refuses_a_wrong_clock(tmp_path):
    rec = tmp_path / "rec"
    with RecordingWriter(rec, fps=30.0, size=(64, 48)) as writer:
        for i, image in enumerate(_frames(60)):
            writer.write(Frame(image=image, t=i / 30.0))
    sensor_t = writer.epoch + np.arange(0, 2.0, 0.05)
    _write_sensor_csv(tmp_path / "sensor.csv", sensor_t, np.sin(sensor_t))
    attach_reference(rec, tmp_path / "sensor.csv")
    clip = load_dataset(rec, "recording")[0]
    np.testing.assert_allclose(clip.ref_times, np.arange(0, 2.0, 0.05), atol=2e-3)
    with pytest.raises(RppgError, match="exists"):
        attach_reference(rec, tmp_path / "sensor.csv")
    _write_sensor_csv(tmp_path / "late.csv", sensor_t + 3600, np.sin(sensor_t))
    with pytest.raises(RppgError, match="do not overlap"):
        attach_reference(rec, tmp_path / "late.csv", overwrite=True)
    (tmp_path / "odd.csv").write_text("a,b\n1,2\n")
    with pytest.raises(RppgError, match="time column"):
        attach_reference(rec, tmp_path / "odd.csv", overwrite=True)


def test_a_recorded_real_clip_with_its_attached_sensor_evaluates(tmp_path, capsys):
    """Re-record the real clip losslessly, attach its finger-sensor CSV, evaluate: the pulse survives."""
    original = np.loadtxt(REAL_CLIP_DIR / "frames_timestamp.csv", delimiter=",", skiprows=1)[:, 1]
    rec = tmp_path / "session"
    with VideoFileSource(REAL_VIDEO, times=original - original[0]) as source, \
            RecordingWriter(rec, fps=30.0, size=(640, 480)) as writer:
        for frame in source:
            if frame.t > 12.0:
                break
            writer.write(frame)
    bvp = np.loadtxt(REAL_CLIP_DIR / "BVP.csv", delimiter=",", skiprows=1)
    _write_sensor_csv(tmp_path / "finger.csv", bvp[:, 0] - original[0] + writer.epoch, bvp[:, 1])
    assert main(["attach-pulse", str(rec), str(tmp_path / "finger.csv")]) == 0
    out = tmp_path / "report.json"
    assert main(["evaluate", str(rec), "--format", "recording", "--method", "pos", "--json", str(out),
                 "--no-progress"]) == 0
    clip = json.loads(out.read_text())["clips"][0]
    assert clip["hr_ref"] == pytest.approx(REAL_HR_BPM, abs=3.0)
    assert clip["hr_est"] == pytest.approx(clip["hr_ref"], abs=3.0)

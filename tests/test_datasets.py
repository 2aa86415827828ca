"""Dataset loaders on tiny files written in each exact layout, and the recording writer round trip."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from rppg.containers import Frame
from rppg.datasets import FORMATS, load_dataset
from rppg.errors import DatasetError
from rppg.evaluation import reference_hr
from rppg.recording_writer import RecordingWriter

REAL_CLIP = Path(__file__).parent / "data/physrecorder_v01"
SIZE = (64, 48)  # width, height
CODECS = {".avi": "MJPG", ".mp4": "mp4v", ".mkv": "MJPG", ".mov": "mp4v"}


def frame_image(i: int) -> np.ndarray:
    """Frame ``i`` has brightness 20 * i, so decoded order can be checked."""
    return np.full((SIZE[1], SIZE[0], 3), 20 * i, np.uint8)


def frame_index(image: np.ndarray) -> int:
    return int(round(float(image.mean()) / 20.0))


def write_video(path: Path, n: int, fps: float = 20.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*CODECS[path.suffix]), fps, SIZE)
    for i in range(n):
        writer.write(frame_image(i))
    writer.release()
    return path


def read_all(clip) -> list[Frame]:
    with clip.open_source() as source:
        return list(source)


# --- UBFC --------------------------------------------------------------------------------------

def write_ubfc_subject(folder: Path, n: int = 8, video: str = "vid.avi", t0: float = 5.0,
                       n_stamps: int | None = None) -> np.ndarray:
    """A subject folder; ground truth in scientific notation with uneven spacing. Returns the timestamps."""
    folder.mkdir(parents=True)
    write_video(folder / video, n)
    m = n if n_stamps is None else n_stamps
    stamps = t0 + np.arange(m) * 0.05 + np.linspace(0, 0.004, m)
    ppg = np.sin(np.arange(m))
    lines = ["  ".join(f"{v:.8e}" for v in ppg), "   ".join("7.2e+01" for _ in range(m)),
             " ".join(f"{v:.8e}" for v in stamps)]
    (folder / "ground_truth.txt").write_text("\n".join(lines) + "\n")
    return stamps


def test_ubfc_parses_avi_and_mp4_in_natural_order(tmp_path):
    stamps = write_ubfc_subject(tmp_path / "subject10", n=8, video="vid.mp4")
    write_ubfc_subject(tmp_path / "subject2", n=6, video="vid.avi")
    (tmp_path / "notes").mkdir()  # unrelated folders are ignored
    clips = load_dataset(tmp_path, "ubfc")
    assert [c.id for c in clips] == ["subject2", "subject10"]
    assert [c.n_frames for c in clips] == [6, 8]
    clip = clips[1]
    np.testing.assert_allclose(clip.frame_times, stamps - stamps[0], atol=1e-12)
    np.testing.assert_allclose(clip.ref_times, stamps - stamps[0], atol=1e-12)
    np.testing.assert_allclose(clip.ref_bvp, np.sin(np.arange(8)), atol=1e-7)
    frames = read_all(clip)
    assert [frame_index(f.image) for f in frames] == list(range(8))
    np.testing.assert_allclose([f.t for f in frames], stamps - stamps[0], atol=1e-9)


def test_ubfc_root_that_is_one_subject(tmp_path):
    write_ubfc_subject(tmp_path / "subject3", n=5)
    clips = load_dataset(tmp_path / "subject3", "ubfc")
    assert [c.id for c in clips] == ["subject3"]
    assert len(read_all(clips[0])) == 5


def test_ubfc_more_timestamps_than_frames_uses_common_prefix(tmp_path, caplog):
    write_ubfc_subject(tmp_path / "subject1", n=6, n_stamps=9)
    with caplog.at_level(logging.WARNING, logger="rppg.datasets"):
        clip = load_dataset(tmp_path, "ubfc")[0]
    assert clip.n_frames == 6 and len(clip.ref_bvp) == 9
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "9 timestamps" in warnings[0].getMessage()
    assert len(read_all(clip)) == 6


@pytest.mark.parametrize(("text", "reason"), [
    ("1 2 3\n72 72 72\n", "expected 3 lines"),
    ("1 2 x3\n72 72 72\n0 0.1 0.2\n", "line 1 is not a list of numbers"),
    ("1 2 3\n72 72 72\n0 0.1 0.2 0.3\n", r"3 PPG samples \(line 1\) but 4 timestamps"),
    ("1 2 3\n72 72 72\n0 0.2 0.1\n", "go backwards"),
    ("1 nan 3\n72 72 72\n0 0.1 0.2\n", "non-finite"),
])
def test_ubfc_malformed_ground_truth_names_file_and_reason(tmp_path, text, reason):
    write_ubfc_subject(tmp_path / "subject1")
    (tmp_path / "subject1" / "ground_truth.txt").write_text(text)
    with pytest.raises(DatasetError, match=reason) as err:
        load_dataset(tmp_path, "ubfc")
    assert "subject1/ground_truth.txt" in str(err.value)


def test_ubfc_subject_missing_a_file(tmp_path):
    write_ubfc_subject(tmp_path / "subject1")
    (tmp_path / "subject1" / "ground_truth.txt").unlink()
    with pytest.raises(DatasetError, match="no ground_truth.txt next to vid.avi"):
        load_dataset(tmp_path, "ubfc")


# --- PURE --------------------------------------------------------------------------------------

def write_pure_session(json_path: Path, frames_dir: Path, n: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """PNG frames named by ns timestamp and the JSON; returns (frame ns, oximeter ns)."""
    frames_dir.mkdir(parents=True)
    start = 1392643993642815000
    frame_ns = start + np.arange(n, dtype=np.int64) * 33_333_333 + np.array([0, 1000, 0, 5000, 0, 0][:n])
    for i, ns in enumerate(frame_ns):
        cv2.imwrite(str(frames_dir / f"Image{ns}.png"), frame_image(i))
    ox_ns = start - 10_000_000 + np.arange(2 * n, dtype=np.int64) * 16_666_667
    data = {
        "/FullPackage": [{"Timestamp": int(ns), "Value": {"waveform": 40 + k, "o2saturation": 98,
                                                          "pulseRate": 71, "signalStrength": 3}}
                         for k, ns in enumerate(ox_ns)],
        "/Image": [{"Timestamp": int(ns)} for ns in frame_ns],
    }
    json_path.write_text(json.dumps(data))
    return frame_ns, ox_ns


@pytest.mark.parametrize("layout", ["nested", "side_by_side"])
def test_pure_layouts(tmp_path, layout):
    if layout == "nested":
        frame_ns, ox_ns = write_pure_session(tmp_path / "01-02" / "01-02.json", tmp_path / "01-02" / "01-02")
        write_pure_session(tmp_path / "01-10" / "01-10.json", tmp_path / "01-10" / "01-10", n=4)
    else:
        frame_ns, ox_ns = write_pure_session(tmp_path / "01-02.json", tmp_path / "01-02")
        write_pure_session(tmp_path / "01-10.json", tmp_path / "01-10", n=4)
    clips = load_dataset(tmp_path, "pure")
    assert [c.id for c in clips] == ["01-02", "01-10"]
    clip = clips[0]
    assert clip.n_frames == 6
    np.testing.assert_allclose(clip.frame_times, (frame_ns - frame_ns[0]) / 1e9, atol=1e-9)
    np.testing.assert_allclose(clip.ref_times, (ox_ns - frame_ns[0]) / 1e9, atol=1e-9)
    assert clip.ref_times[0] == pytest.approx(-0.010)
    np.testing.assert_array_equal(clip.ref_bvp, 40 + np.arange(12))
    frames = read_all(clip)
    assert [frame_index(f.image) for f in frames] == list(range(6))
    np.testing.assert_allclose([f.t for f in frames], clip.frame_times, atol=1e-9)


@pytest.mark.parametrize(("edit", "reason"), [
    (lambda p: p.write_text("{not json"), "not valid JSON"),
    (lambda p: p.write_text(json.dumps({"/Image": []})), "no \"/FullPackage\""),
    (lambda p: p.write_text(json.dumps({"/FullPackage": [{"Timestamp": 1, "Value": {}},
                                                         {"Timestamp": 2, "Value": {}}]})), "Value.waveform"),
])
def test_pure_malformed_json(tmp_path, edit, reason):
    write_pure_session(tmp_path / "01-01" / "01-01.json", tmp_path / "01-01" / "01-01")
    edit(tmp_path / "01-01" / "01-01.json")
    with pytest.raises(DatasetError, match=reason) as err:
        load_dataset(tmp_path, "pure")
    assert "01-01.json" in str(err.value)


# --- recording ---------------------------------------------------------------------------------

def write_recording(folder: Path, n: int = 8, video: str = "video.avi", n_rows: int | None = None) -> float:
    """A recording with Unix timestamps; returns the first frame's Unix time."""
    folder.mkdir(parents=True)
    write_video(folder / video, n)
    t0 = 1685590249.9497862
    rows = n if n_rows is None else n_rows
    stamps = t0 + np.arange(rows) * 0.05 + np.where(np.arange(rows) % 3 == 1, -0.003, 0.0)
    lines = ["frame,timestamp"] + [f"{i},{t!r}" for i, t in enumerate(stamps.tolist())]
    (folder / "frames_timestamp.csv").write_text("\n".join(lines) + "\n")
    bvp = ["timestamp,bvp"] + [f"{t0 + 0.01 + k * 0.0503!r},{30 + k}" for k in range(2 * rows)]
    (folder / "BVP.csv").write_text("\n".join(bvp) + "\n")
    return t0


@pytest.mark.parametrize("video", ["video.avi", "v.mp4", "v.mkv", "v.mov"])
def test_recording_single_folder(tmp_path, video):
    t0 = write_recording(tmp_path / "rec1", video=video)
    clip = load_dataset(tmp_path / "rec1", "recording")[0]
    assert clip.id == "rec1" and clip.n_frames == 8
    assert clip.frame_times[0] == 0.0
    assert clip.frame_times[1] == pytest.approx(0.05 - 0.003, abs=1e-6)
    assert clip.ref_times[0] == pytest.approx(0.01, abs=1e-6)
    assert len(clip.ref_bvp) == 16 and clip.ref_bvp[3] == 33
    frames = read_all(clip)
    assert [frame_index(f.image) for f in frames] == list(range(8))
    assert t0 > 0


def test_recording_root_of_several_and_frame_count_mismatch(tmp_path, caplog):
    write_recording(tmp_path / "session10", n=6)
    write_recording(tmp_path / "session9", n=6, n_rows=4)  # CSV shorter than the video
    with caplog.at_level(logging.WARNING, logger="rppg.datasets"):
        clips = load_dataset(tmp_path, "recording")
    assert [c.id for c in clips] == ["session9", "session10"]
    assert [c.n_frames for c in clips] == [4, 6]
    assert len(read_all(clips[0])) == 4
    assert sum("session9" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize(("edit", "reason"), [
    (lambda d: (d / "BVP.csv").unlink(), "no BVP.csv"),
    (lambda d: (d / "BVP.csv").write_text("time,value\n1,2\n"), "header must name columns timestamp,bvp"),
    (lambda d: (d / "BVP.csv").write_text("timestamp,bvp\n1,2\n2,oops\n"), "row 3, column 'bvp' is not"),
    (lambda d: (d / "frames_timestamp.csv").write_text("frame,timestamp\n"), "no data rows"),
    (lambda d: (d / "video.avi").unlink(), "no video file"),
    (lambda d: write_video(d / "other.mp4", 3), "several videos"),
])
def test_recording_bad_files(tmp_path, edit, reason):
    write_recording(tmp_path / "rec")
    edit(tmp_path / "rec")
    with pytest.raises(DatasetError, match=reason):
        load_dataset(tmp_path / "rec", "recording")


def test_recording_writer_round_trip(tmp_path):
    out = tmp_path / "session"
    with RecordingWriter(out, fps=20.0, size=SIZE) as writer:
        for i in range(12):
            image = frame_image(i) if i != 5 else cv2.resize(frame_image(i), (32, 24))  # resized on write
            writer.write(Frame(image=image, t=0.5 + i * 0.05))
            if i % 2 == 0:
                writer.add_bvp(writer.unix_time(0.5 + i * 0.05 + 0.01), 100.0 + i)
        writer.add_reading({"t": 1.0, "bpm": 70.0, "quality": 3.0, "face": True})
    clip = load_dataset(out, "recording")[0]
    assert clip.n_frames == 12
    np.testing.assert_allclose(clip.frame_times, np.arange(12) * 0.05, atol=2e-6)
    np.testing.assert_allclose(clip.ref_times, np.arange(0, 12, 2) * 0.05 + 0.01, atol=2e-6)
    np.testing.assert_array_equal(clip.ref_bvp, 100.0 + np.arange(0, 12, 2))
    frames = read_all(clip)
    assert [frame_index(f.image) for f in frames] == list(range(12))
    reading = json.loads((out / "readings.jsonl").read_text().splitlines()[0])
    assert reading["bpm"] == 70.0 and reading["timestamp"] == pytest.approx(writer.epoch + 1.0)


def test_recording_writer_refuses_to_overwrite(tmp_path):
    with RecordingWriter(tmp_path, fps=20.0, size=SIZE) as writer:
        writer.write(Frame(frame_image(0), 0.0))
    with pytest.raises(Exception, match="already holds a recording"):
        RecordingWriter(tmp_path, fps=20.0, size=SIZE)


def test_real_physrecorder_clip_loads_as_recording():
    clip = load_dataset(REAL_CLIP, "recording")[0]
    assert clip.id == "physrecorder_v01"
    assert clip.n_frames == 602
    assert clip.duration_s == pytest.approx(20.0, abs=0.1)
    assert 0.0 <= clip.ref_times[0] < 0.1 and len(clip.ref_bvp) == 397
    hr = reference_hr(clip.ref_times, clip.ref_bvp, clip.ref_times[0], clip.frame_times[-1])
    assert hr == pytest.approx(70.6, abs=1.0)


# --- errors common to every format ----------------------------------------------------------------

def test_bad_dataset_paths(tmp_path):
    with pytest.raises(DatasetError, match="dataset folder not found"):
        load_dataset(tmp_path / "missing", "ubfc")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(DatasetError, match="not a folder"):
        load_dataset(tmp_path / "file.txt", "ubfc")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="dataset folder is empty"):
        load_dataset(tmp_path / "empty", "pure")
    with pytest.raises(DatasetError, match="unknown dataset format 'cohface'"):
        load_dataset(tmp_path, "cohface")


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_folder_with_no_clip_in_that_format(tmp_path, fmt):
    (tmp_path / "something").mkdir()
    (tmp_path / "something" / "readme.txt").write_text("not a clip")
    with pytest.raises(DatasetError, match=f"no {fmt} clip in .* \\(expected "):
        load_dataset(tmp_path, fmt)


CRASHING_RECORDER = """
import os, sys
import numpy as np
from rppg.containers import Frame
from rppg.recording_writer import RecordingWriter
rng = np.random.default_rng(0)
writer = RecordingWriter(sys.argv[1], fps=30.0, size=(320, 240))
for i in range(40):
    writer.write(Frame(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8), i / 30.0))
    writer.add_bvp(writer.unix_time(i / 30.0), float(i))
os._exit(0)  # killed: close() never runs
"""


def test_recording_survives_a_crash_of_the_recorder(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1]))
    subprocess.run([sys.executable, "-c", CRASHING_RECORDER, str(tmp_path / "rec")], env=env, check=True,
                   timeout=120)
    assert len((tmp_path / "rec" / "frames_timestamp.csv").read_text().splitlines()) == 41
    clip = load_dataset(tmp_path / "rec", "recording")[0]
    assert len(clip.ref_bvp) == 40
    decoded = len(read_all(clip))
    assert 30 <= decoded <= 40

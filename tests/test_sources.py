"""Frame sources: timestamps in seconds, natural order, clear errors."""

import subprocess
import sys

import cv2
import numpy as np
import pytest

from rppg.errors import SourceError
from rppg.sources import open_source
from rppg.sources.folder import ImageFolderSource, natural_key, timestamps_from_names
from rppg.sources.video import VideoFileSource
from tests.conftest import REAL_VIDEO


def test_video_file_timestamps_follow_the_container():
    with open_source(str(REAL_VIDEO)) as source:
        times = np.array([f.t for f in source])
    assert len(times) == 602
    assert times[0] == 0.0
    assert np.all(np.diff(times) > 0)
    assert abs(times[-1] - 601 / source.fps) < 0.5


def test_video_file_uses_given_capture_times():
    given = np.cumsum(np.r_[0, np.full(9, 0.04)]) + 1000.0
    with VideoFileSource(REAL_VIDEO, times=given) as source:
        times = [f.t for f in source]
    assert len(times) == 10
    np.testing.assert_allclose(times, given - given[0])


def test_image_folder_natural_order_and_name_timestamps(tmp_path):
    ns = [1392643993642815000 + i * 33_333_333 for i in range(12)]
    for i, stamp in enumerate(ns):
        image = np.full((8, 8, 3), i * 10, np.uint8)
        cv2.imwrite(str(tmp_path / f"Image{stamp}.png"), image)
    with open_source(str(tmp_path)) as source:
        frames = list(source)
    assert [int(f.image[0, 0, 0]) for f in frames] == [i * 10 for i in range(12)]
    np.testing.assert_allclose([f.t for f in frames], np.arange(12) * 0.033333333, atol=1e-6)
    assert abs(source.fps - 30.0) < 0.01


def test_image_folder_without_stamps_uses_nominal_rate(tmp_path):
    for i in (1, 2, 10):
        cv2.imwrite(str(tmp_path / f"frame{i}.jpg"), np.zeros((4, 4, 3), np.uint8))
    source = ImageFolderSource(tmp_path, fps=25.0)
    assert [p.name for p in source.files] == ["frame1.jpg", "frame2.jpg", "frame10.jpg"]
    np.testing.assert_allclose([f.t for f in source], [0, 0.04, 0.08])
    assert natural_key("a2") < natural_key("a10")
    np.testing.assert_allclose(timestamps_from_names(["x.png", "y.png"], 10.0), [0.0, 0.1])


def _file(path, content: bytes):
    path.write_bytes(content)
    return path


def _folder(path):
    path.mkdir()
    return path


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing.avi", "source not found"),
    (lambda p: _file(p / "empty.avi", b""), "empty"),
    (lambda p: _file(p / "junk.mp4", b"not a video at all" * 100), "video"),
    (lambda p: _folder(p / "nothing"), "no images"),
])
def test_bad_sources_raise_one_clear_error(tmp_path, make, message):
    with pytest.raises(SourceError, match=message):
        open_source(str(make(tmp_path)))


def test_camera_that_cannot_be_opened():
    with pytest.raises(SourceError, match="camera 97 (not found|cannot)|cannot open camera 97"):
        open_source("97")


def test_realtime_playback_never_releases_a_frame_early():
    import time

    with open_source(str(REAL_VIDEO), realtime=True) as source:
        start = time.monotonic()
        for frame in source:
            assert time.monotonic() - start >= frame.t - 0.005
            if frame.t > 0.3:
                break


def test_cli_reports_a_missing_source_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "rppg_app.cli", "monitor", "--method", "pos", "--source",
                             str(tmp_path / "none.mp4")], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "source not found" in result.stderr and "Traceback" not in result.stderr


def test_decoding_thread_gives_every_frame_in_order_and_stops_on_close():
    cap = cv2.VideoCapture(str(REAL_VIDEO))
    direct = [cap.read()[1] for _ in range(40)]
    cap.release()
    source = VideoFileSource(REAL_VIDEO)
    frames = [next(source) for _ in range(40)]
    assert all(np.array_equal(a, f.image) for a, f in zip(direct, frames, strict=True))
    source.close()
    assert not source._thread.is_alive()


def test_damaged_file_decodes_what_it_can_without_decoder_messages(tmp_path):
    data = bytearray(REAL_VIDEO.read_bytes()[: REAL_VIDEO.stat().st_size // 4])
    rng = np.random.default_rng(1)
    for i in rng.integers(20000, len(data), 200):
        data[i] = int(rng.integers(0, 255))
    damaged = _file(tmp_path / "damaged.avi", bytes(data))
    code = ("import sys; from rppg.sources.video import VideoFileSource; "
            f"s = VideoFileSource({str(damaged)!r}); print(sum(1 for _ in s)); s.close(); "
            "print('stderr still works', file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and int(result.stdout) > 50
    assert result.stderr.strip() == "stderr still works"

"""Live engine: threads, bounded queue, loss and recovery, loops, recording; on the real clip."""

import csv
import json
import threading
import time

import cv2
import numpy as np
import pytest

from rppg.containers import Frame, Reading
from rppg.errors import SourceError
from rppg.pipeline import Pipeline
from rppg.sources import FrameSource, open_source
from rppg.stream import Engine
from rppg.stream_recorder import SessionRecorder
from tests.conftest import REAL_HR_BPM, REAL_VIDEO


@pytest.fixture(scope="module")
def real_frames() -> list[np.ndarray]:
    """The first 6 s of the real clip at half size, held in memory for sources that replay it."""
    with open_source(str(REAL_VIDEO)) as source:
        images = [cv2.resize(f.image, (320, 240), interpolation=cv2.INTER_AREA)
                  for f, _ in zip(source, range(180), strict=False)]
    return images


class ReplayCamera(FrameSource):
    """A camera-like source over real frames: each open runs ``plan[n]`` for the n-th opening.

    A plan entry is "fail" (the device cannot be opened), or a number of frames after which
    the stream dies, or None to play every frame and end. Frames come ``speed`` times faster
    than real time, on their own clock, like a camera that does not wait for the reader.
    """

    live = True

    def __init__(self, images: list[np.ndarray], frames: int | None, speed: float = 4.0) -> None:
        super().__init__(realtime=False)
        self.images, self.frames, self.speed = images, frames, speed
        self.name = "replay camera"
        self._i = 0
        self._start = time.monotonic()

    def _read(self) -> Frame | None:
        if self.frames is not None and self._i >= self.frames:
            raise SourceError("camera unplugged")
        if self._i >= len(self.images):
            return None
        t = self._i / 30.0
        delay = self._start + t / self.speed - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        frame = Frame(self.images[self._i], t)
        self._i += 1
        return frame


def replay_opener(images: list[np.ndarray], plan: list, speed: float = 4.0):
    opened: list[int] = []

    def opener(spec: str, realtime: bool) -> FrameSource:
        step = plan[min(len(opened), len(plan) - 1)]
        opened.append(len(opened))
        if step == "fail":
            raise SourceError("cannot open camera (test)")
        return ReplayCamera(images, step, speed)

    opener.opened = opened
    return opener


def collect(engine: Engine) -> list[Reading]:
    got: list[Reading] = []
    engine.subscribe(got.append)
    return got


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_file_as_fast_as_possible_processes_every_frame():
    engine = Engine(str(REAL_VIDEO), method="pos", realtime=False, queue_size=16)
    box = engine.readings()
    with engine:
        assert engine.wait(60)
        stats = engine.stats()
        shown = engine.latest_frame()
    readings = []
    while not box.empty():
        readings.append(box.get_nowait())
    assert stats.source_state == "finished"
    assert stats.frames_captured == stats.frames_processed == 602
    assert stats.frames_dropped == 0
    assert 1 <= stats.queue_max <= 16
    assert stats.latency_ms_median is not None and stats.latency_ms_p95 >= stats.latency_ms_median
    assert len(readings) == 11  # one per second from t = 10 s to t = 20 s
    assert engine.latest is readings[-1]
    bpms = [r.bpm for r in readings if r.bpm is not None]
    assert len(bpms) >= 5  # the quality gate may withhold some; the engine must not lose them
    assert abs(np.median(bpms) - REAL_HR_BPM) < 3.0
    assert shown is not None and shown.image.shape == (480, 640, 3)
    assert shown.box is not None and len(shown.regions) == 3
    x, y, w, h = shown.box.x, shown.box.y, shown.box.w, shown.box.h
    assert 200 < x + w / 2 < 450 and 120 < y + h / 2 < 360  # the face is in the middle of the frame


def test_missing_file_fails_at_start_with_a_source_error(tmp_path):
    engine = Engine(str(tmp_path / "nope.avi"), method="pos")
    with pytest.raises(SourceError):
        engine.start()
    assert not engine.running


def test_looping_file_keeps_time_increasing_and_readings_flowing():
    engine = Engine(str(REAL_VIDEO), method="pos", realtime=False, loop=True)
    readings = collect(engine)
    with engine:
        assert wait_for(lambda: len(readings) >= 28, 60)  # past the first seam at t = 20 s
        stats = engine.stats()
    times = [r.t for r in readings]
    assert np.all(np.diff(times) > 0)
    assert stats.reopens >= 1 and stats.source_state == "ok"
    after_seam = [r.bpm for r in readings if r.t > 21.0]
    assert sum(b is not None for b in after_seam) >= len(after_seam) / 2
    assert all(r.source == "ok" for r in readings)


def test_camera_that_cannot_be_opened_reports_lost_and_keeps_retrying():
    attempts = []

    def opener(spec: str, realtime: bool) -> FrameSource:
        attempts.append(spec)
        return open_source(spec, realtime)  # the real factory: camera 99 does not exist

    engine = Engine("99", method="pos", opener=opener, lost_interval_s=0.2, backoff_s=(0.05, 0.2))
    readings = collect(engine)
    engine.start()
    try:
        assert wait_for(lambda: len(readings) >= 4 and len(attempts) >= 4, 10)
        assert engine.running and engine.state == "lost"
        assert "camera 99" in engine.stats().last_error
    finally:
        assert engine.stop(timeout=3.0)
    for reading in readings:
        assert reading.bpm is None and not reading.face and reading.source == "lost"
        assert reading.to_json()["source"] == "lost" and reading.to_json()["bpm"] is None
    assert np.all(np.diff([r.t for r in readings]) > 0)


def test_camera_that_dies_and_comes_back_resumes_readings(real_frames):
    # dies after 2 s of frames, cannot be reopened once, then plays 6 s and ends
    opener = replay_opener(real_frames, [60, "fail", None])
    pipeline = Pipeline("pos", window_s=4.0, step_s=0.5)
    engine = Engine("0", pipeline=pipeline, opener=opener, lost_interval_s=0.2, backoff_s=(0.05, 0.1))
    readings = collect(engine)
    with engine:
        resumed = wait_for(lambda: any(r.source == "ok" for r in readings), 20)
        stats = engine.stats()
    assert resumed, [r.to_json() for r in readings]
    first_lost = next(i for i, r in enumerate(readings) if r.source == "lost")
    assert any(r.source == "ok" for r in readings[first_lost:])
    assert len(opener.opened) >= 3 and stats.reopens >= 1
    assert np.all(np.diff([r.t for r in readings]) > 0)
    assert any(r.face for r in readings if r.source == "ok")


def test_slow_processing_drops_oldest_frames_within_the_queue_bound(real_frames):
    # a camera that never waits (speed 1e6) and a subscriber that stalls processing
    opener = replay_opener(real_frames, [None], speed=1e6)
    pipeline = Pipeline("pos", window_s=4.0, step_s=0.5)
    engine = Engine("0", pipeline=pipeline, opener=opener, queue_size=4, retry=False)
    engine.subscribe(lambda reading: time.sleep(0.2))
    peak = []

    def watch() -> None:
        while engine.running or not peak:
            peak.append(engine.stats().queue_size)
            time.sleep(0.001)

    with engine:
        watcher = threading.Thread(target=watch)
        watcher.start()
        assert engine.wait(30)
        stats = engine.stats()
    watcher.join()
    assert stats.source_state == "finished"
    assert stats.frames_captured == len(real_frames)
    assert stats.frames_dropped > 0
    assert stats.frames_captured == stats.frames_processed + stats.frames_dropped
    assert stats.queue_max <= 4 and max(peak) <= 4


def test_readings_queue_for_a_slow_consumer_keeps_the_newest():
    engine = Engine(str(REAL_VIDEO), method="pos", realtime=False)
    box = engine.readings(maxsize=3)
    with engine:
        assert engine.wait(60)
    kept = [box.get_nowait() for _ in range(box.qsize())]
    assert [r.t for r in kept] == pytest.approx([18.0, 19.0, 20.0], abs=0.05)


def test_session_recorder_writes_a_recording_folder(tmp_path):
    engine = Engine(str(REAL_VIDEO), method="pos", realtime=False)
    recorder = SessionRecorder(engine, tmp_path / "session").start()
    with engine:
        assert engine.wait(60)
        folder = recorder.stop()
    assert recorder.error is None and recorder.frames_dropped == 0
    with open(folder / "frames_timestamp.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 602 == recorder.frames_written
    stamps = np.array([float(r["timestamp"]) for r in rows])
    assert np.all(np.diff(stamps) > 0) and abs(stamps[-1] - stamps[0] - 20.0) < 0.5
    video = cv2.VideoCapture(str(folder / "video.avi"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 602
    video.release()
    lines = (folder / "readings.jsonl").read_text().splitlines()
    assert len(lines) == 11 and json.loads(lines[0])["t"] == 10.0

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
    (path,) = folder.glob("video.*")
    video = cv2.VideoCapture(str(path))
    frames = 0
    while video.read()[0]:
        frames += 1
    video.release()
    assert frames == 602
    lines = (folder / "readings.jsonl").read_text().splitlines()
    assert len(lines) == 11 and json.loads(lines[0])["t"] == 10.0


class TinySource(FrameSource):
    """A few 8x8 frames, then the end; ``linger`` s before reporting the end (moves the race window)."""

    def __init__(self, n: int, linger: float = 0.0, live: bool = False) -> None:
        super().__init__(realtime=False)
        self.n, self.linger, self.live = n, linger, live
        self.name = "tiny"
        self._i = 0

    def _read(self) -> Frame | None:
        if self._i >= self.n:
            if self.linger:
                time.sleep(self.linger)
            return None
        self._i += 1
        return Frame(np.full((8, 8, 3), self._i % 256, np.uint8), self._i / 30.0)


class FrameLog:
    """A stand-in pipeline that only records the frame times it was given: the engine's contract
    with its pipeline is push/reset/close/last_box, and this makes thousands of runs cheap."""

    step_s = 1.0
    last_box = None

    def __init__(self) -> None:
        self.times: list[float] = []
        self.closed = False

    def push(self, frame: Frame) -> None:
        self.times.append(frame.t)

    def reset(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def test_end_of_stream_race_never_hangs_and_never_loses_the_last_frame():
    rng = np.random.default_rng(0)
    for run in range(1000):
        n = int(rng.integers(1, 6))
        drop_mode = run % 2 == 1  # realtime: drop-oldest queue; otherwise every frame waits for room
        linger = float(rng.choice([0.0, 0.0, 0.001, 0.02]))  # inside the processing thread's 50 ms poll
        log = FrameLog()
        engine = Engine("tiny", pipeline=log, opener=lambda spec, rt, n=n, linger=linger: TinySource(n, linger),
                        realtime=drop_mode, retry=False, queue_size=1 if drop_mode else 2)
        engine.start()
        assert engine.wait(5), f"run {run}: wait() did not return"
        assert engine.stop(2)
        assert log.closed and engine.state == "finished"
        assert log.times[-1] == pytest.approx(n / 30.0), f"run {run}: last frame lost"
        if not drop_mode:
            assert len(log.times) == n
        stats = engine.stats()
        assert stats.frames_captured == n == stats.frames_processed + stats.frames_dropped


class HangingSource(FrameSource):
    """Two frames, then a read that never returns until ``release`` is set; records its closing."""

    live = True

    def __init__(self) -> None:
        super().__init__(realtime=False)
        self.name = "hanging"
        self.release = threading.Event()
        self.closed = threading.Event()
        self._i = 0

    def _read(self) -> Frame | None:
        self._i += 1
        if self._i > 2:
            self.release.wait()
            return Frame(np.zeros((8, 8, 3), np.uint8), 1.0)
        return Frame(np.zeros((8, 8, 3), np.uint8), self._i / 30.0)

    def close(self) -> None:
        self.closed.set()


def test_stop_returns_within_its_timeout_when_a_read_hangs_and_releases_everything():
    source, log = HangingSource(), FrameLog()
    engine = Engine("0", pipeline=log, opener=lambda spec, rt: source, stall_s=0.3, lost_interval_s=0.1)
    readings = collect(engine)
    engine.start()
    assert wait_for(lambda: engine.state == "lost" and readings, 5)  # reported, not silently frozen
    assert readings[-1].source == "lost" and "no frames" in engine.stats().last_error
    started = time.monotonic()
    assert not engine.stop(timeout=0.5)  # the capture thread is still inside read()
    assert time.monotonic() - started < 0.8
    assert log.closed and engine.released
    published = len(readings)
    source.release.set()  # the driver finally answers: the abandoned thread closes its source and ends
    assert source.closed.wait(2)
    assert wait_for(lambda: not engine.running, 2)
    assert len(readings) == published and len(log.times) == 2  # nothing came out after stop()


def test_stats_snapshots_always_balance_while_frames_flow():
    class Slow(FrameLog):
        def push(self, frame: Frame) -> None:
            time.sleep(0.0005)
            super().push(frame)

    engine = Engine("tiny", pipeline=Slow(), opener=lambda spec, rt: TinySource(3000), realtime=True,
                    queue_size=8, retry=False)
    snapshots = []
    with engine:
        while not engine.wait(0):
            snapshots.append(engine.stats())
    assert len(snapshots) > 20
    for s in snapshots:
        assert s.frames_captured == s.frames_processed + s.frames_dropped + s.queue_size + s.frames_in_progress
    final = engine.stats()
    assert final.frames_captured == 3000 == final.frames_processed + final.frames_dropped

"""Faults injected into the live engine (in process) and into the daemon (a subprocess, over HTTP).

Each fault comes from a ``faulty:KIND`` source replaying the real clip with real
face tracking, and is checked twice: left to run on (the engine and daemon must
keep going and recover), and stopped in the middle of the fault (``stop()`` /
SIGTERM must end cleanly within a bounded time). Readings must come back within
3 s of the source returning. The daemon is driven only through its command line
and its HTTP endpoints (/health, /stream), as a user or a supervisor would.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlencode

import numpy as np
import pytest

from rppg.containers import Reading
from rppg.errors import SourceError
from rppg.pipeline import Pipeline
from rppg.sources import open_source
from rppg.stream import Engine
from rppg_app.daemon.sse_reader import get_json, read_stream
from tests.conftest import REAL_VIDEO

BACK_WITHIN_S = 3.0  # readings resume this soon after the source returns
STOP_BOUND_S = 2.0  # Engine.stop timeout in these tests
EXIT_BOUND_S = 15.0  # the daemon ends this soon after SIGTERM (3 s of it: waiting for a hung read)
RECOVERY_BOUND_S = 40.0  # a fault's "kept going" shows within this (a daemon's first 10 s window included)


def faulty(kind: str, size: str = "320x240", **options: float) -> str:
    return f"faulty:{kind}?" + urlencode({**options, "size": size, "source": str(REAL_VIDEO)})


def returns(frame_times: list[float], pause_s: float) -> list[float]:
    """Wall times at which frames flowed again after a pause of at least ``pause_s``."""
    times = np.asarray(frame_times)
    if len(times) < 2:
        return []
    gaps = np.flatnonzero(np.diff(times) >= pause_s)
    return [float(times[i + 1]) for i in gaps]


def back_delays(back_times: list[float], readings: list[tuple[float, dict]], until: float) -> list[float]:
    """Seconds from each return (observed for at least BACK_WITHIN_S) to the next reading not 'lost'."""
    delays = []
    for back in back_times:
        if until - back < BACK_WITHIN_S:
            continue
        ok = [t for t, r in readings if t >= back and r.get("source", "ok") != "lost"]
        delays.append(ok[0] - back if ok else float("inf"))
    return delays


# ---- the engine ---------------------------------------------------------------------------------

AFTER = 1.5
#: The engine runs below reopen after at least backoff_s[0] = 0.2 s without frames; normal gaps are ~33 ms.
ENGINE_REOPEN_GAP_S = 0.15
#: kind -> (options, seconds the fault lasts before recovery can be judged)
ENGINE_FAULTS = {
    "block": ({}, 3.0),
    "raise": ({}, 3.0),
    "corrupt": ({"span": 2.0}, 2.0),
    "backwards": ({"jump": 5.0}, 1.0),
    "resize": ({"scale": 0.5}, 1.0),
    "dropout": ({"gap": 5.0}, 5.0),
}


def back_for_a_while(run: EngineRun) -> bool:
    """Frames flowed again after a reopen, and have for at least BACK_WITHIN_S."""
    return any(time.monotonic() - b > BACK_WITHIN_S for b in returns(run.frames, ENGINE_REOPEN_GAP_S))


class EngineRun:
    """An engine on a faulty source with a 4 s window, recording readings and frame arrivals (wall time)."""

    def __init__(self, spec: str) -> None:
        self.engine = Engine(spec, pipeline=Pipeline("pos", window_s=4.0, step_s=1.0), stall_s=1.0,
                             lost_interval_s=0.5, backoff_s=(0.2, 0.5))
        self.readings: list[tuple[float, dict]] = []
        self.times: list[float] = []
        self.frames: list[float] = []
        self.engine.subscribe(self._on_reading)
        self.engine.tap_frames(lambda frame: self.frames.append(time.monotonic()))

    def _on_reading(self, reading: Reading) -> None:
        self.readings.append((time.monotonic(), reading.to_json()))
        self.times.append(reading.t)

    def ok_after(self, t: float) -> list[dict]:
        return [r for at, r in self.readings if at >= t and r.get("source", "ok") != "lost"]


@pytest.mark.parametrize("stop_midway", [False, True], ids=["runs-on", "stopped-midway"])
@pytest.mark.parametrize("kind", list(ENGINE_FAULTS))
def test_engine_survives(kind: str, stop_midway: bool):
    options, lasts = ENGINE_FAULTS[kind]
    run = EngineRun(faulty(kind, after=AFTER, **options))
    engine = run.engine
    started = time.monotonic()
    engine.start()
    try:
        if stop_midway:
            time.sleep(AFTER + min(lasts, 1.5))  # inside the fault
            before = time.monotonic()
            clean = engine.stop(timeout=STOP_BOUND_S)
            assert time.monotonic() - before < STOP_BOUND_S + 0.5
            assert engine.released
            assert clean or kind in ("block", "dropout")  # only a read that has not returned is left behind
            published = len(run.readings)
            time.sleep(0.5)
            assert len(run.readings) == published  # nothing after stop
            return
        fault_over = started + AFTER + lasts
        kept_going = {  # what "kept going" means for each fault, waited for (bounded) rather than timed
            "block": lambda: engine.state == "lost" and sum(r["source"] == "lost" for _, r in run.readings) >= 2,
            "raise": lambda: back_for_a_while(run),
            "dropout": lambda: back_for_a_while(run),
        }.get(kind, lambda: len(run.ok_after(fault_over)) >= 2)
        deadline = time.monotonic() + RECOVERY_BOUND_S
        while not kept_going() and time.monotonic() < deadline:
            time.sleep(0.1)
        end = time.monotonic()
        assert kept_going(), [r for _, r in run.readings]
        stats = engine.stats()
        assert np.all(np.diff(run.times) > 0)  # the timeline never goes back, whatever the source does
        assert stats.pipeline_errors == 0
        if kind == "block":
            assert "no frames" in stats.last_error
            assert end - run.readings[-1][0] < 1.5  # still publishing
        elif kind in ("raise", "dropout"):
            delays = back_delays(returns(run.frames, ENGINE_REOPEN_GAP_S), run.readings, end)
            assert delays and max(delays) <= BACK_WITHIN_S, delays
            assert any(r.get("source") == "lost" for _, r in run.readings)
            if kind == "raise":
                assert stats.reopens >= 1 and "stopped answering" in stats.last_error
        else:
            assert engine.state == "ok"
            if kind == "corrupt":
                assert stats.frames_invalid > 0
            if kind == "backwards":
                assert stats.time_jumps >= 1
            if kind == "resize":
                assert engine.latest_frame().image.shape == (120, 160, 3)
    finally:
        engine.stop(timeout=STOP_BOUND_S)


@pytest.mark.parametrize("stop_midway", [False, True], ids=["runs-on", "stopped-midway"])
def test_engine_survives_subscribers_that_raise_or_are_slow(stop_midway: bool):
    run = EngineRun(faulty("none"))
    engine = run.engine
    calls = {"raise": 0, "slow": 0}

    def broken(reading: Reading) -> None:
        calls["raise"] += 1
        raise RuntimeError("subscriber bug")

    def slow(reading: Reading) -> None:
        calls["slow"] += 1
        time.sleep(1.5 if stop_midway else 0.3)

    engine.subscribe(broken)
    engine.subscribe(slow)
    with engine:
        if stop_midway:
            assert engine.wait_ready(10)
            deadline = time.monotonic() + 15
            while calls["slow"] == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            before = time.monotonic()
            engine.stop(timeout=0.5)  # processing is inside the slow subscriber
            assert time.monotonic() - before < 1.0
            deadline = time.monotonic() + 10
            while engine.running and time.monotonic() < deadline:  # released once it returns
                time.sleep(0.05)
            assert engine.released and not engine.running
            return
        deadline = time.monotonic() + RECOVERY_BOUND_S
        while calls["raise"] < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert calls["raise"] >= 3 and calls["slow"] == calls["raise"]
    assert len(run.readings) == calls["raise"]  # the others still got every reading
    assert engine.stats().frames_processed > 100


# ---- the daemon ---------------------------------------------------------------------------------

DAEMON_AFTER = 3.0
DAEMON_PAUSE_S = 0.45  # frames_captured flat this long between /health polls (10 Hz): the source paused
#: kind -> options; the daemon runs with its defaults (10 s window, stall after 2 s)
DAEMON_FAULTS = {
    "block": {},
    "raise": {},
    "corrupt": {"span": 4.0},
    "backwards": {"jump": 5.0},
    "resize": {"scale": 0.5},
    "dropout": {"gap": 5.0},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DaemonRun:
    """``rppg daemon`` on a source; a thread polls /health (10 Hz), another reads /stream."""

    def __init__(self, source: str, tmp_path) -> None:
        self.port = free_port()
        self.stderr_path = tmp_path / "daemon.stderr"
        with open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "rppg_app.cli", "daemon", "--source", source,
                                          "--method", "pos", "--port", str(self.port)],
                                         stdout=subprocess.DEVNULL, stderr=err)
        self.health: list[tuple[float, dict | None]] = []
        self.events: list[tuple[float, dict]] = []
        self._stop = threading.Event()
        deadline = time.monotonic() + 60
        while get_json(self.port, "/health") is None:
            assert self.proc.poll() is None and time.monotonic() < deadline, self.stderr()
            time.sleep(0.2)
        self.up_at = time.monotonic()
        for target in (self._poll, self._listen):
            threading.Thread(target=target, daemon=True).start()

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.health.append((time.monotonic(), get_json(self.port, "/health")))
            self._stop.wait(0.1)

    def _listen(self) -> None:
        read_stream(self.port, self._stop, self.events)

    def frame_times(self) -> list[float]:
        """Poll times at which frames_captured grew (frames flowed just before)."""
        out, last = [], None
        for at, body in self.health:
            if body is None:
                continue
            if last is not None and body["frames_captured"] > last:
                out.append(at)
            last = body["frames_captured"]
        return out

    def terminate(self) -> tuple[int, float]:
        """SIGTERM; (exit code, seconds to exit)."""
        self._stop.set()
        sent = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(EXIT_BOUND_S + 5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = -9
        return code, time.monotonic() - sent


def assert_clean_exit(run: DaemonRun) -> None:
    code, took = run.terminate()
    assert code == 0 and took < EXIT_BOUND_S, (code, took, run.stderr()[-2000:])
    assert "Traceback" not in run.stderr()


def assert_responsive(run: DaemonRun) -> None:
    """/health answered throughout: no poll failed and none waited more than 2 s for the next."""
    times = [at for at, _ in run.health]
    assert all(body is not None for _, body in run.health)
    assert len(times) > 10 and max(np.diff(times)) < 2.0


@pytest.mark.slow
@pytest.mark.parametrize("sigterm_midway", [False, True], ids=["runs-on", "sigterm-midway"])
@pytest.mark.parametrize("kind", list(DAEMON_FAULTS))
def test_daemon_survives(kind: str, sigterm_midway: bool, tmp_path):
    run = DaemonRun(faulty(kind, after=DAEMON_AFTER, **DAEMON_FAULTS[kind]), tmp_path)
    try:
        if sigterm_midway:
            time.sleep(DAEMON_AFTER + 1.0)  # the source opened before /health answered: inside the fault
            assert run.proc.poll() is None
            assert_clean_exit(run)
            return
        def came_back() -> bool:
            return any(time.monotonic() - b > BACK_WITHIN_S for b in returns(run.frame_times(), DAEMON_PAUSE_S))

        recovered = {  # what "kept going" means for each fault, waited for (bounded) rather than timed
            "block": lambda: sum(r.get("source") == "lost" for _, r in run.events) >= 3,
            "raise": came_back,
            "dropout": came_back,
        }.get(kind, lambda: sum(r.get("source", "ok") == "ok" for _, r in run.events) >= 3)
        deadline = time.monotonic() + RECOVERY_BOUND_S
        while not recovered() and time.monotonic() < deadline and run.proc.poll() is None:
            time.sleep(0.2)
        end = time.monotonic()
        assert run.proc.poll() is None, run.stderr()[-2000:]
        assert recovered(), [r for _, r in run.events]
        assert_responsive(run)
        state = run.health[-1][1]["source_state"]
        events = [r for _, r in run.events]
        assert np.all(np.diff([r["t"] for r in events]) > 0)
        if kind == "block":
            assert state == "lost" and events[-1].get("source") == "lost"
        elif kind in ("raise", "dropout"):
            delays = back_delays(returns(run.frame_times(), DAEMON_PAUSE_S), run.events, end)
            assert delays and max(delays) <= BACK_WITHIN_S, delays
        else:
            assert state == "ok" and events[-1].get("source", "ok") == "ok"
    finally:
        if run.proc.poll() is None:
            assert_clean_exit(run)


@pytest.mark.slow
@pytest.mark.parametrize("sigterm_midway", [False, True], ids=["runs-on", "sigterm-midway"])
def test_daemon_survives_stream_clients_that_stall_or_vanish(sigterm_midway: bool, tmp_path):
    run = DaemonRun(faulty("none"), tmp_path)
    try:
        stalled = socket.create_connection(("127.0.0.1", run.port))  # asks for /stream, never reads
        stalled.sendall(b"GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        for _ in range(5):  # clients that connect and vanish mid-stream
            gone = socket.create_connection(("127.0.0.1", run.port))
            gone.sendall(b"GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            gone.recv(16)
            gone.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            gone.close()  # reset, not a polite close
        if sigterm_midway:
            time.sleep(2.0)
            assert_clean_exit(run)
            stalled.close()
            return
        deadline = time.monotonic() + RECOVERY_BOUND_S
        while len(run.events) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(run.events) >= 2  # the well-behaved client still gets its readings
        assert_responsive(run)
        stalled.close()
    finally:
        if run.proc.poll() is None:
            assert_clean_exit(run)


def test_faulty_spec_mistakes_are_source_errors():
    for spec, message in (("faulty:melt", "unknown fault"), ("faulty:block?after=soon", "must be a number"),
                          ("faulty:none?colour=red", "unknown option"), ("faulty:none?size=big", "WIDTHxHEIGHT")):
        with pytest.raises(SourceError, match=message):
            open_source(spec)


# ---- the face detector ---------------------------------------------------------------------------

NATIVE_PROBE = """
import sys, threading, time
import numpy as np
from rppg.face.detectors import BlazeFaceDetector
stop, sent = threading.Event(), []
def chatter():
    while not stop.is_set():
        sent.append(len(sent))
        print(f"other thread line {sent[-1]}", file=sys.stderr, flush=True)
        time.sleep(0.005)
thread = threading.Thread(target=chatter)
thread.start()
detector = BlazeFaceDetector()
for size in ((240, 320), (480, 640), (720, 1280), (241, 321)):  # the runtime's warnings come on first runs
    for _ in range(3):
        detector.detect(np.zeros((*size, 3), np.uint8))
detector.close()
stop.set()
thread.join()
print(len(sent))
"""


def test_detector_start_up_hides_native_logs_but_not_other_threads_output():
    result = subprocess.run([sys.executable, "-c", NATIVE_PROBE], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    sent = int(result.stdout.strip())
    lines = result.stderr.splitlines()
    assert sent > 0 and lines == [f"other thread line {i}" for i in range(sent)]  # all, in order, nothing else


MISSING_MEDIAPIPE = """
import sys
sys.modules["mediapipe"] = None  # what an install without mediapipe looks like to an import
from rppg.face.detectors import HaarDetector, make_detector
assert all(isinstance(make_detector("mediapipe"), HaarDetector) for _ in range(3))
"""


def test_missing_mediapipe_switches_to_haar_and_says_so_once():
    result = subprocess.run([sys.executable, "-c", MISSING_MEDIAPIPE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.count("mediapipe cannot be imported") == 1
    assert "Haar cascade instead" in result.stderr

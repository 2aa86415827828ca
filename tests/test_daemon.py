"""The daemon as a user runs it: a subprocess, real sockets, the real clip."""

import http.client
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

from app.daemon.auth import authorized, presented_token
from app.daemon.log_writer import JsonLinesLog
from tests.conftest import REAL_VIDEO

STARTUP_S = 60


class Daemon:
    """``rppg daemon`` in a subprocess; the port comes from its start-up line (it listens on port 0)."""

    def __init__(self, *args: str) -> None:
        cmd = [sys.executable, "-m", "app.cli", "daemon", "--source", str(REAL_VIDEO), "--method", "pos",
               "--port", "0", *args]
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._drain, daemon=True).start()
        self.port = self._wait_for_port()

    def _drain(self) -> None:
        for line in self.proc.stderr:
            self.lines.put(line)

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + STARTUP_S
        seen = []
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            seen.append(line)
            if "serving http://" in line:
                return int(line.split("http://127.0.0.1:")[1].split("/")[0])
        self.proc.kill()
        raise AssertionError("daemon did not start: " + "".join(seen))

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        body = json.loads(response.read())
        conn.close()
        return response.status, body

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(10)


class SseClient:
    """One /stream connection, read event by event."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.conn.request("GET", "/stream")
        self.response = self.conn.getresponse()
        assert self.response.status == 200
        assert self.response.getheader("Content-Type").startswith("text/event-stream")

    def events(self, n: int) -> list[dict]:
        out = []
        while len(out) < n:
            line = self.response.fp.readline().decode()
            assert line, "stream ended"
            if line.startswith("data: "):
                out.append(json.loads(line[6:]))
        return out

    def close(self) -> None:
        self.response.close()
        self.conn.close()


@pytest.fixture(scope="module")
def fast_daemon(tmp_path_factory):
    """The clip, looped, as fast as processing goes: about twenty readings per second."""
    log = tmp_path_factory.mktemp("daemon") / "readings.jsonl"
    daemon = Daemon("--no-realtime", "--loop", "--log", str(log))
    daemon.log = log
    yield daemon
    daemon.stop()


def test_health_answers_with_engine_numbers(fast_daemon):
    status, health = fast_daemon.get("/health")
    assert status == 200
    for key in ("status", "source_state", "uptime_s", "frames_processed", "frames_dropped", "latency_ms_median",
                "method", "rss_mb"):
        assert key in health
    assert health["method"] == "pos" and health["source_state"] in ("starting", "ok")
    assert health["rss_mb"] > 10


def test_reading_has_the_documented_format(fast_daemon):
    deadline = time.monotonic() + 30
    while (reply := fast_daemon.get("/reading"))[0] == 503 and time.monotonic() < deadline:
        time.sleep(0.2)
    status, reading = reply
    assert status == 200
    assert set(reading) == {"t", "bpm", "quality", "confidence", "estimator", "reason", "face"}
    assert reading["face"] is True and reading["t"] >= 10.0
    assert reading["bpm"] is None or 40 <= reading["bpm"] <= 200


def test_two_stream_clients_and_one_leaving(fast_daemon):
    a, b = SseClient(fast_daemon.port), SseClient(fast_daemon.port)
    first_a, first_b = a.events(3), b.events(3)
    assert all(set(e) >= {"t", "bpm", "quality", "face"} for e in first_a + first_b)
    a.close()  # leaves mid-stream
    later = b.events(5)
    assert later[0]["t"] > first_b[-1]["t"]
    processed = fast_daemon.get("/health")[1]["frames_processed"]
    more = b.events(3)
    assert more[-1]["t"] > later[-1]["t"]
    assert fast_daemon.get("/health")[1]["frames_processed"] > processed
    b.close()


def test_readings_are_logged_one_json_line_each_and_survive_rotation(fast_daemon):
    log = fast_daemon.log
    deadline = time.monotonic() + 20
    while (not log.exists() or len(log.read_text().splitlines()) < 3) and time.monotonic() < deadline:
        time.sleep(0.1)
    first = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(first) >= 3 and {"time", "t", "bpm", "quality", "face"} <= set(first[0])
    rotated = log.with_name(log.name + ".1")
    log.rename(rotated)  # what logrotate does without copytruncate
    while not log.exists() and time.monotonic() < deadline + 10:
        time.sleep(0.1)
    time.sleep(0.5)
    fresh = [json.loads(line) for line in log.read_text().splitlines()]
    assert fresh and fresh[0]["t"] > json.loads(rotated.read_text().splitlines()[-1])["t"] - 1e-6


def test_sigterm_while_processing_exits_cleanly_within_five_seconds():
    daemon = Daemon("--no-realtime", "--loop")
    client = SseClient(daemon.port)
    client.events(2)
    started = time.monotonic()
    daemon.proc.send_signal(signal.SIGTERM)
    code = daemon.proc.wait(10)
    assert code == 0 and time.monotonic() - started < 5.0
    client.close()


def test_token_is_required_and_reading_is_503_before_the_first_window():
    daemon = Daemon("--token", "s3cret")  # real time: the first reading needs 10 s of video
    try:
        assert daemon.get("/health")[0] == 401
        assert daemon.get("/health", {"Authorization": "Bearer wrong"})[0] == 401
        assert daemon.get("/reading?token=wrong")[0] == 401
        status, body = daemon.get("/reading", {"Authorization": "Bearer s3cret"})
        assert (status, body) == (503, {"status": "starting"})
        assert daemon.get("/health?token=s3cret")[0] == 200
    finally:
        assert daemon.stop() == 0


def test_non_loopback_without_token_is_refused():
    result = subprocess.run([sys.executable, "-m", "app.cli", "daemon", "--source", str(REAL_VIDEO),
                             "--host", "0.0.0.0"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rppg: error:") and "--token" in lines[0]


def test_token_parsing():
    assert presented_token("Bearer abc", "") == "abc"
    assert presented_token(None, "token=xyz&x=1") == "xyz"
    assert presented_token("Basic abc", "") is None
    assert authorized(None, None, "")
    assert not authorized("abc", "Bearer abd", "")


def test_log_rotates_itself_by_size(tmp_path):
    path = tmp_path / "log.jsonl"
    log = JsonLinesLog(path, max_bytes=200, backups=2)
    for i in range(30):
        log.write({"t": float(i), "bpm": None})
    log.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["log.jsonl", "log.jsonl.1", "log.jsonl.2"]
    assert all(p.stat().st_size <= 200 for p in tmp_path.iterdir())
    last = [json.loads(line)["t"] for line in path.read_text().splitlines()]
    assert last[-1] == 29.0


def test_log_survives_copytruncate(tmp_path):
    path = tmp_path / "log.jsonl"
    log = JsonLinesLog(path)
    log.write({"t": 1.0})
    os.truncate(path, 0)  # logrotate copytruncate
    log.write({"t": 2.0})
    log.close()
    assert path.read_text() == '{"t": 2.0}\n'

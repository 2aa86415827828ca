"""The daemon as a user runs it: a subprocess, real sockets, the real clip."""

import http.client
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from rppg.errors import ConfigError
from rppg_app.daemon.auth import allowed_hosts, authorized, host_allowed, host_name, load_token, presented_token
from rppg_app.daemon.log_writer import JsonLinesLog
from tests.conftest import REAL_VIDEO

STARTUP_S = 120  # a loaded machine needs long to import mediapipe and open the clip


class Daemon:
    """``rppg daemon`` in a subprocess; the port comes from its start-up line (it listens on port 0).

    ``rppg`` is this checkout's by default; ``program`` runs another install's (with ``base_env``
    as the environment to start from, and ``cwd``), later options overriding the defaults.
    """

    def __init__(self, *args: str, env: dict | None = None, program: list[str] | None = None,
                 base_env: dict | None = None, cwd: str | None = None) -> None:
        program = program or [sys.executable, "-m", "rppg_app.cli"]
        cmd = [*program, "daemon", "--source", str(REAL_VIDEO), "--method", "pos", "--port", "0", *args]
        base_env = os.environ if base_env is None else base_env
        environ = {k: v for k, v in base_env.items() if k != "RPPG_TOKEN"} | (env or {})
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=environ,
                                     cwd=cwd)
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
        status, text = self.get_text(path, headers)
        return status, json.loads(text)

    def get_text(self, path: str, headers: dict | None = None, timeout: float = 10) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        text = response.read().decode()
        conn.close()
        return response.status, text

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(10)


class SseClient:
    """One /stream connection, read event by event."""

    def __init__(self, port: int, path: str = "/stream", headers: dict | None = None) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.conn.request("GET", path, headers=headers or {})
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
    deadline = time.monotonic() + 120  # the first 10 s window, read as fast as a loaded machine allows
    while (reply := fast_daemon.get("/reading"))[0] == 503 and time.monotonic() < deadline:
        time.sleep(0.2)
    status, reading = reply
    assert status == 200
    assert set(reading) >= {"t", "bpm", "quality", "confidence", "estimator", "reason", "face"}
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


def test_metrics_are_prometheus_text(fast_daemon):
    status, text = fast_daemon.get_text("/metrics")
    assert status == 200
    samples = {line.split(" ")[0]: line.split(" ")[1] for line in text.splitlines() if not line.startswith("#")}
    for name in ("rppg_frames_processed_total", "rppg_frames_dropped_total", "rppg_readings_total", "rppg_quality",
                 'rppg_latency_seconds{quantile="0.5"}', "rppg_resident_memory_bytes"):
        assert name in samples
    assert float(samples["rppg_frames_processed_total"]) > 0
    assert "# TYPE rppg_readings_total counter" in text


def test_token_from_environment_is_required_and_reading_is_503_before_the_first_window():
    daemon = Daemon(env={"RPPG_TOKEN": "s3cret"})  # real time: the first reading needs 10 s of video
    try:
        assert daemon.get("/health")[0] == 401
        assert daemon.get("/health", {"Authorization": "Bearer wrong"})[0] == 401
        assert daemon.get("/health", {"Authorization": "Bearer s3cre"})[0] == 401
        assert daemon.get("/reading?token=s3cret")[0] == 401  # the query token is for EventSource (/stream) only
        status, body = daemon.get("/reading", {"Authorization": "Bearer s3cret"})
        assert (status, body) == (503, {"status": "starting"})
        SseClient(daemon.port, "/stream?token=s3cret").close()
        assert daemon.get("/stream?token=wrong")[0] == 401
    finally:
        assert daemon.stop() == 0


def test_token_file_and_no_token_option(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("from-a-file\n")
    daemon = Daemon("--token-file", str(token_file), env={"RPPG_TOKEN": "ignored"})
    try:
        assert daemon.get("/health", {"Authorization": "Bearer ignored"})[0] == 401
        assert daemon.get("/health", {"Authorization": "Bearer from-a-file"})[0] == 200
    finally:
        assert daemon.stop() == 0
    result = subprocess.run([sys.executable, "-m", "rppg_app.cli", "daemon", "--token", "on-the-command-line"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--token is not accepted" in result.stderr and "RPPG_TOKEN" in result.stderr


def test_non_loopback_without_token_is_refused():
    env = {k: v for k, v in os.environ.items() if k != "RPPG_TOKEN"}
    result = subprocess.run([sys.executable, "-m", "rppg_app.cli", "daemon", "--source", str(REAL_VIDEO),
                             "--host", "0.0.0.0"], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rppg: error:") and "RPPG_TOKEN" in lines[0]


def test_token_and_host_parsing(tmp_path):
    assert presented_token("Bearer abc") == "abc"
    assert presented_token(None, "token=xyz&x=1") is None
    assert presented_token(None, "token=xyz&x=1", allow_query=True) == "xyz"
    assert presented_token("Basic abc") is None
    assert authorized(None, None)
    assert not authorized("abc", "Bearer abd")
    assert load_token(None, {}) is None and load_token(None, {"RPPG_TOKEN": " t "}) == "t"
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match="empty"):
        load_token(str(tmp_path / "empty"), {})
    with pytest.raises(ConfigError, match="cannot read"):
        load_token(str(tmp_path / "missing"), {})
    assert host_name("[::1]:8765") == "::1" and host_name("LocalHost:80") == "localhost"
    hosts = allowed_hosts("0.0.0.0", ["board.lan"])
    assert host_allowed("board.lan:8765", hosts) and host_allowed("127.0.0.1", hosts)
    assert not host_allowed("evil.example", hosts) and not host_allowed(None, hosts)
    assert not host_allowed("0.0.0.0", hosts)


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


# ---- attacks: the daemon must stay responsive and still stop within 5 s -------------------------------------

ATTACK_TOKEN = "attack-test-token"
AUTH = {"Authorization": f"Bearer {ATTACK_TOKEN}"}


def _raw_status(port: int, data: bytes, timeout: float = 10) -> bytes | None:
    """Send bytes as they are (no client library fixing them up); the answer's status, or None when the
    daemon refused by closing the connection before all was sent (the kernel then resets it)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(data)
            reply = b""
            while b"\r\n" not in reply and (chunk := sock.recv(65536)):
                reply += chunk
            return reply.split(b" ")[1]
    except (ConnectionResetError, BrokenPipeError):
        return None


@pytest.fixture(scope="module")
def attacked_daemon():
    daemon = Daemon("--loop", "--header-timeout", "2", "--max-streams", "64", env={"RPPG_TOKEN": ATTACK_TOKEN})
    yield daemon
    daemon.stop()


def test_foreign_host_header_is_refused_even_with_the_token(attacked_daemon):
    for path in ("/health", "/reading", "/metrics", "/stream"):
        status, body = attacked_daemon.get(path, {"Host": "evil.example:8765", **AUTH})
        assert (status, body) == (400, {"error": "host not allowed"})
    assert attacked_daemon.get("/health", {"Host": "localhost", **AUTH})[0] == 200
    assert attacked_daemon.get("/health", {"Host": f"127.0.0.1:{attacked_daemon.port}", **AUTH})[0] == 200


def test_bad_tokens_are_refused(attacked_daemon):
    for headers in ({}, {"Authorization": "Bearer x"}, {"Authorization": f"Basic {ATTACK_TOKEN}"},
                    {"Authorization": f"Bearer {ATTACK_TOKEN}x"}, {"Authorization": "Bearer " + "a" * 4000}):
        status, body = attacked_daemon.get("/health", headers)
        assert status == 401 and body == {"error": "missing or wrong token"}


def test_oversized_request_line_is_refused_and_the_daemon_carries_on(attacked_daemon):
    for size in (5_000, 70_000, 1_000_000):
        status = _raw_status(attacked_daemon.port, b"GET /" + b"a" * size + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert status in (b"400", b"414", b"431", None)
    huge_header = b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"b" * 40_000 + b"\r\n\r\n"
    assert _raw_status(attacked_daemon.port, huge_header) in (b"400", b"431", None)
    assert _raw_status(attacked_daemon.port, b"GET /" + b"a" * 5_000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n") \
        == b"414"  # small enough to arrive whole: answered, not reset
    assert attacked_daemon.get("/health", AUTH)[0] == 200


def test_slow_clients_are_cut_off_and_do_not_block_others(attacked_daemon):
    slow = []
    for _ in range(30):  # slowloris: a request head that never ends
        sock = socket.create_connection(("127.0.0.1", attacked_daemon.port), timeout=10)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n")
        slow.append(sock)
    try:
        for _ in range(3):  # meanwhile everyone else is served
            for sock in slow:
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    pass
            assert attacked_daemon.get("/health", AUTH)[0] == 200
            time.sleep(0.5)
        # the header deadline (2 s here) closes every slow connection: recv sees the end of the stream
        for sock in slow:
            assert sock.recv(1024) == b""
    finally:
        for sock in slow:
            sock.close()
    assert attacked_daemon.get("/health", AUTH)[0] == 200


def test_a_hundred_stream_clients_are_capped_and_sigterm_still_exits_fast(attacked_daemon):
    streams, refused = [], 0
    try:
        for _ in range(100):
            conn = http.client.HTTPConnection("127.0.0.1", attacked_daemon.port, timeout=10)
            conn.request("GET", "/stream", headers=AUTH)
            response = conn.getresponse()
            if response.status == 200:
                streams.append((conn, response))
            else:
                assert response.status == 503 and json.loads(response.read())["error"].startswith("too many")
                refused += 1
                conn.close()
        assert (len(streams), refused) == (64, 36)
        status, health = attacked_daemon.get("/health", AUTH)
        assert status == 200 and health["stream_clients"] == 64
        assert attacked_daemon.get_text("/metrics", AUTH)[0] == 200
        # every open stream still gets readings
        for _, response in streams[::16]:
            while not (line := response.fp.readline().decode()).startswith("data: "):
                assert line, "stream ended"
        started = time.monotonic()
        attacked_daemon.proc.send_signal(signal.SIGTERM)
        assert attacked_daemon.proc.wait(10) == 0
        assert time.monotonic() - started < 5.0
        for _, response in streams:  # the daemon ended each stream: reading to the end does not hang
            assert response.fp.read().endswith(b"0\r\n\r\n")  # the last chunk of a cleanly ended body
    finally:
        for conn, _ in streams:
            conn.close()

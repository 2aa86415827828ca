"""The daemon's HTTP API over a running Engine (stdlib ``ThreadingHTTPServer``, one thread per client).

``GET /health``  engine health (state, uptime, frame counts, latency, memory);
``GET /reading`` the latest reading, 503 ``{"status": "starting"}`` before the first;
``GET /stream``  Server-Sent Events: one ``data: {json}`` per reading, comments as keepalive.

Each ``/stream`` client has its own bounded queue on the engine, so a slow or
vanished client loses only its own events; its thread ends at the first failed
write and unsubscribes.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from app.daemon.auth import authorized
from rppg.stream import Engine
from rppg.stream_stats import resident_memory_mb

KEEPALIVE_S = 10.0
_POLL_S = 0.5  # how often a streaming thread looks at the stop flag


class DaemonServer(ThreadingHTTPServer):
    """Holds what the handlers need: the engine, the token, and a stop flag for open streams."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], engine: Engine, method: str, token: str | None = None,
                 keepalive_s: float = KEEPALIVE_S) -> None:
        self.engine = engine
        self.method = method
        self.token = token
        self.keepalive_s = keepalive_s
        self.stopping = threading.Event()
        self.address_family = _family(address[0])
        super().__init__(address, Handler)

    def health(self) -> dict:
        stats = self.engine.stats().to_json()
        rss = resident_memory_mb()
        return {"status": "ok" if stats["source_state"] in ("ok", "starting") else stats["source_state"],
                **stats, "method": self.method, "rss_mb": None if rss is None else round(rss, 1)}

    def close(self) -> None:
        """Stop accepting, end open streams, release the socket."""
        self.stopping.set()
        self.shutdown()
        self.server_close()


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class Handler(BaseHTTPRequestHandler):
    server: DaemonServer
    server_version = "rppg-daemon"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a daemon's stderr is for its own start-up line and errors, not every request."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if not authorized(self.server.token, self.headers.get("Authorization"), url.query):
            self._send_json(HTTPStatus.UNAUTHORIZED, {"error": "missing or wrong token"},
                            {"WWW-Authenticate": "Bearer"})
            return
        route = {"/health": self._health, "/reading": self._reading, "/stream": self._stream}.get(url.path)
        if route is None:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": "not found", "endpoints": ["/health", "/reading",
                                                                                      "/stream"]})
            return
        route()

    def _send_json(self, status: HTTPStatus, body: dict, headers: dict[str, str] | None = None) -> None:
        data = (json.dumps(body, allow_nan=False) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _health(self) -> None:
        self._send_json(HTTPStatus.OK, self.server.health())

    def _reading(self) -> None:
        latest = self.server.engine.latest
        if latest is None:
            self._send_json(HTTPStatus.SERVICE_UNAVAILABLE, {"status": "starting"}, {"Retry-After": "1"})
        else:
            self._send_json(HTTPStatus.OK, latest.to_json())

    def _stream(self) -> None:
        engine = self.server.engine
        events = engine.readings(maxsize=64)
        self.close_connection = True
        try:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.send_header("X-Accel-Buffering", "no")  # nginx: do not buffer the stream
            self.end_headers()
            self.wfile.write(b": rppg readings, one event per second\n\n")
            self.wfile.flush()
            self._pump(events)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the client left; only this thread ends
        finally:
            engine.unsubscribe(events)

    def _pump(self, events: queue.Queue) -> None:
        idle = 0.0
        while not self.server.stopping.is_set():
            try:
                reading = events.get(timeout=_POLL_S)
            except queue.Empty:
                idle += _POLL_S
                if idle >= self.server.keepalive_s:
                    self.wfile.write(b": keepalive\n\n")
                    self.wfile.flush()
                    idle = 0.0
                continue
            idle = 0.0
            self.wfile.write(f"data: {json.dumps(reading.to_json(), allow_nan=False)}\n\n".encode())
            self.wfile.flush()

"""The daemon's HTTP API over a running Engine: Starlette on uvicorn, hardened for an open port.

``GET /health``  engine health (state, uptime, frame counts, latency, memory);
``GET /reading`` the latest reading, 503 ``{"status": "starting"}`` before the first;
``GET /stream``  Server-Sent Events: one ``data: {json}`` per reading, comments as keepalive;
``GET /metrics`` Prometheus text: frames, drops, readings, latency, quality.

Defences, each tested by tests/test_daemon.py:
- Host allow-list before anything else (DNS rebinding), then the bearer token;
- a request's line and headers must arrive within ``header_timeout_s`` (slowloris),
  and may not exceed ``max_header_bytes`` (oversized request line: 400);
- at most ``max_streams`` ``/stream`` clients (503 beyond), each with a bounded queue;
  a client that stops reading for ``send_timeout_s`` is dropped;
- at most ``max_connections`` connections at once (uvicorn answers 503 beyond);
- all asynchronous: an idle or slow client costs a socket, never a thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from typing import Any

import h11
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from rppg.stream import Engine
from rppg.stream_stats import resident_memory_mb
from rppg_app.daemon.auth import authorized, host_allowed
from rppg_app.daemon.hub import CLOSED, StreamHub
from rppg_app.daemon.limits import ServerLimits
from rppg_app.daemon.metrics import CONTENT_TYPE, render_metrics

ENDPOINTS = ("/health", "/reading", "/stream", "/metrics")
DEFAULT_LIMITS = ServerLimits()
MAX_TARGET_BYTES = 2048  # the longest legitimate target is "/stream?token=..."


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus a deadline for the request line and headers.

    uvicorn times out only idle keep-alive connections; a client that sends one
    header byte every few seconds (slowloris) would hold its socket forever.
    """

    header_timeout_s = ServerLimits.header_timeout_s

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm_header_timer()

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_timeout)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:  # still waiting for a complete request head
            self._arm_header_timer()
        else:
            self._disarm_header_timer()

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)


class EventStream:
    """Server-Sent Events from a hub queue until the client leaves, stops reading, or the daemon stops."""

    #: No Content-Length: the body is open-ended (chunked), the connection closes with the stream.
    raw_headers = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-store"),
                   (b"x-accel-buffering", b"no")]  # nginx: do not buffer the stream

    def __init__(self, hub: StreamHub, box: asyncio.Queue, keepalive_s: float, send_timeout_s: float) -> None:
        self.hub, self.box = hub, box
        self.keepalive_s, self.send_timeout_s = keepalive_s, send_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        disconnected = asyncio.ensure_future(_wait_disconnect(receive))
        try:
            await self._send(send, {"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await self._body(send, b": rppg readings, one event per second\n\n")
            while not disconnected.done():
                getter = asyncio.ensure_future(self.box.get())
                done, _ = await asyncio.wait({getter, disconnected}, timeout=self.keepalive_s,
                                             return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    if not done:
                        await self._body(send, b": keepalive\n\n")
                    continue
                item = getter.result()
                if item is CLOSED:
                    break
                await self._body(send, f"data: {json.dumps(item.to_json(), allow_nan=False)}\n\n".encode())
            await self._send(send, {"type": "http.response.body", "body": b"", "more_body": False})
        except (asyncio.TimeoutError, TimeoutError, OSError):
            pass  # the client stopped reading or vanished: only this stream ends
        finally:
            disconnected.cancel()
            self.hub.leave(self.box)

    async def _body(self, send: Send, data: bytes) -> None:
        await self._send(send, {"type": "http.response.body", "body": data, "more_body": True})

    async def _send(self, send: Send, message: dict) -> None:
        await asyncio.wait_for(send(message), self.send_timeout_s)


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _json(status: int, body: dict, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status, headers={"Cache-Control": "no-store", **(headers or {})})


def create_app(engine: Engine, method: str, token: str | None, hosts: frozenset[str], hub: StreamHub,
               limits: ServerLimits = DEFAULT_LIMITS) -> Starlette:
    """The ASGI application: checks, then one small handler per endpoint."""

    async def health(_: Request) -> Response:
        stats = engine.stats().to_json()
        rss = resident_memory_mb()
        state = stats["source_state"]
        return _json(200, {"status": "ok" if state in ("ok", "starting") else state, **stats, "method": method,
                           "rss_mb": None if rss is None else round(rss, 1), "stream_clients": hub.clients})

    async def reading(_: Request) -> Response:
        latest = engine.latest
        if latest is None:
            return _json(503, {"status": "starting"}, {"Retry-After": "1"})
        return _json(200, latest.to_json())

    async def metrics(_: Request) -> Response:
        text = render_metrics(engine.stats(), engine.latest, hub.clients, resident_memory_mb())
        return PlainTextResponse(text, headers={"Content-Type": CONTENT_TYPE, "Cache-Control": "no-store"})

    async def stream(_: Request) -> Response | EventStream:
        box = hub.join()
        if box is None:
            return _json(503, {"error": f"too many stream clients (at most {hub.max_clients})"}, {"Retry-After": "5"})
        return EventStream(hub, box, limits.keepalive_s, limits.send_timeout_s)

    async def not_found(request: Request, _: Exception) -> Response:
        return _json(404, {"error": "not found", "endpoints": list(ENDPOINTS)})

    app = Starlette(routes=[Route("/health", health), Route("/reading", reading), Route("/stream", stream),
                            Route("/metrics", metrics)],
                    exception_handlers={404: not_found, 405: not_found})
    return Guard(app, token, hosts, limits.max_header_bytes)


class Guard:
    """ASGI middleware: request size, Host allow-list, then the bearer token, before any route runs.

    h11 refuses a request head that grows past ``max_header_bytes`` while it arrives in
    pieces; one that arrives whole in a single read is measured here.
    """

    def __init__(self, app: Any, token: str | None, hosts: frozenset[str], max_header_bytes: int) -> None:
        self.app, self.token, self.hosts, self.max_header_bytes = app, token, hosts, max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        target = len(scope.get("raw_path", b"")) + len(scope.get("query_string", b""))
        head = target + sum(len(k) + len(v) + 4 for k, v in scope["headers"])
        if target > MAX_TARGET_BYTES or head > self.max_header_bytes:
            status = 414 if target > MAX_TARGET_BYTES else 431
            await _json(status, {"error": "request too large"}, {"Connection": "close"})(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if not host_allowed(headers.get("host"), self.hosts):
            await _json(400, {"error": "host not allowed"})(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        if not authorized(self.token, headers.get("authorization"), query, allow_query=scope["path"] == "/stream"):
            await _json(401, {"error": "missing or wrong token"}, {"WWW-Authenticate": "Bearer"})(scope, receive,
                                                                                                   send)
            return
        await self.app(scope, receive, send)


def bind_socket(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so a busy port is a one-line error before anything starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class DaemonServer:
    """uvicorn serving :func:`create_app` on its own thread and event loop."""

    def __init__(self, address: tuple[str, int], engine: Engine, method: str, token: str | None,
                 hosts: frozenset[str], limits: ServerLimits = DEFAULT_LIMITS) -> None:
        self.sock = bind_socket(*address)
        self.server_address = self.sock.getsockname()[:2]
        self.hub = StreamHub(limits.max_streams)
        self._subscription = engine.subscribe(self.hub.publish)
        self.engine = engine
        protocol = type("DaemonH11Protocol", (GuardedH11Protocol,), {"header_timeout_s": limits.header_timeout_s})
        config = uvicorn.Config(create_app(engine, method, token, hosts, self.hub, limits), http=protocol,
                                lifespan="off", log_config=None, access_log=False, server_header=False,
                                limit_concurrency=limits.max_connections, timeout_keep_alive=limits.idle_keepalive_s,
                                timeout_graceful_shutdown=2, h11_max_incomplete_event_size=limits.max_header_bytes)
        logging.getLogger("uvicorn.error").setLevel(logging.ERROR)  # one line per bad request would flood a log
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="rppg-http", daemon=True)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self.hub.bind(asyncio.get_running_loop())
        await self._server.serve(sockets=[self.sock])

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float = 3.0) -> None:
        """End open streams, stop accepting, wait for the loop to finish (bounded)."""
        self.engine.unsubscribe(self._subscription)
        self.hub.close()
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(1.0)
        self.sock.close()

"""A minimal client of the daemon's ``/stream`` (SSE) and JSON endpoints: what the soak and the
fault tests watch.

Kept in the package so the soak script and the tests read the daemon the same way.
"""

from __future__ import annotations

import http.client
import json
import threading
import time


def read_stream(port: int, stop: threading.Event, events: list[tuple[float, dict]], host: str = "127.0.0.1") -> None:
    """Append (monotonic time, reading) for every ``data:`` line of one connection to ``/stream``,
    until ``stop`` is set or the server ends it; connection errors simply end the call."""
    try:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        conn.request("GET", "/stream")
        response = conn.getresponse()
        while not stop.is_set():
            line = response.fp.readline()
            if not line:
                break
            if line.startswith(b"data: "):
                events.append((time.monotonic(), json.loads(line[6:])))
        conn.close()
    except (OSError, ValueError, http.client.HTTPException):
        return


def get_json(port: int, path: str, timeout: float = 5.0, host: str = "127.0.0.1") -> dict | None:
    """The JSON body of ``GET path``, or None when the daemon is not (yet) answering or says no."""
    try:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        return json.loads(body) if response.status == 200 else None
    except (OSError, ValueError, http.client.HTTPException):
        return None

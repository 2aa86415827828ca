"""The bounds on what one client may cost the daemon, in one place (defaults and CLI share them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServerLimits:
    """Every bound on clients; the defaults suit a small board on a LAN."""

    max_streams: int = 64  # /stream clients at once; more get 503
    max_connections: int = 256  # connections at once; uvicorn answers 503 beyond
    header_timeout_s: float = 10.0  # to send the request line and headers (slowloris)
    send_timeout_s: float = 10.0  # a stream client that stops reading this long is dropped
    keepalive_s: float = 10.0  # SSE comment when no reading came for this long
    idle_keepalive_s: int = 5  # an idle keep-alive connection is closed after this
    max_header_bytes: int = 16 * 1024  # request line plus headers

"""Bearer-token check for the daemon's HTTP endpoints.

The token may come as ``Authorization: Bearer T`` or as ``?token=T`` (for
browsers' EventSource, which cannot set headers). Compared in constant time.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def presented_token(authorization: str | None, query: str) -> str | None:
    """The token a request carries, header first; None when it carries none."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    values = parse_qs(query).get("token")
    return values[0] if values else None


def authorized(expected: str | None, authorization: str | None, query: str) -> bool:
    """True when no token is configured or the request presents the right one."""
    if expected is None:
        return True
    given = presented_token(authorization, query)
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())

"""Who may talk to the daemon: a bearer token and a Host-header allow-list.

The token is read from a file (``--token-file``) or the ``RPPG_TOKEN`` environment
variable, never from the command line, where every user's ``ps`` shows it.
Requests send it as ``Authorization: Bearer T``. Browsers' EventSource cannot
set headers, so ``/stream`` alone also accepts ``?token=T``; that puts the
token in URLs (proxy logs, history), so prefer the header wherever possible.
Comparison is in constant time.

The Host allow-list stops DNS rebinding: a web page on ``evil.example`` that
re-points its name to 127.0.0.1 still sends ``Host: evil.example``, so it is
refused before any reading leaves the daemon.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path
from urllib.parse import parse_qs

from rppg.errors import ConfigError

TOKEN_ENV = "RPPG_TOKEN"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_WILDCARDS = ("0.0.0.0", "::", "")


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_NAMES or host.startswith("127.")


def load_token(token_file: str | None, environ: dict[str, str] | None = None) -> str | None:
    """The configured token: the file's first line when given, else ``RPPG_TOKEN``; None when neither."""
    environ = os.environ if environ is None else environ
    if token_file:
        try:
            text = Path(token_file).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read --token-file {token_file}: {exc.strerror}") from None
        token = text.strip().splitlines()[0].strip() if text.strip() else ""
        if not token:
            raise ConfigError(f"--token-file {token_file} is empty")
        return token
    token = environ.get(TOKEN_ENV, "").strip()
    return token or None


def presented_token(authorization: str | None, query: str = "", allow_query: bool = False) -> str | None:
    """The token a request carries (the header; ``?token=`` only where allowed); None when none."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    if allow_query:
        values = parse_qs(query).get("token")
        return values[0] if values else None
    return None


def authorized(expected: str | None, authorization: str | None, query: str = "", allow_query: bool = False) -> bool:
    """True when no token is configured or the request presents the right one."""
    if expected is None:
        return True
    given = presented_token(authorization, query, allow_query)
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def allowed_hosts(bind_host: str, extra: list[str] | None = None) -> frozenset[str]:
    """Host names the daemon answers to: loopback names, the bound address, and ``extra``."""
    names = set(LOOPBACK_NAMES)
    if bind_host not in _WILDCARDS:
        names.add(bind_host.lower())
    names.update(h.strip().lower().rstrip(".") for h in (extra or []) if h.strip())
    return frozenset(names)


def host_name(header: str | None) -> str | None:
    """The name in a Host header without its port (``[::1]:80`` -> ``::1``); None when malformed."""
    if not header:
        return None
    header = header.strip().lower()
    if header.startswith("["):
        end = header.find("]")
        return header[1:end] if end > 0 else None
    name = header.rsplit(":", 1)[0] if header.count(":") == 1 else header
    return name.rstrip(".") or None


def host_allowed(header: str | None, allowed: frozenset[str]) -> bool:
    """``*`` in ``allowed`` turns the check off (only behind a proxy that checks Host itself)."""
    if "*" in allowed:
        return True
    name = host_name(header)
    return name is not None and name in allowed

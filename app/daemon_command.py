"""headless service: HTTP /health, /reading, /stream (SSE), JSON-lines log

Runs the live engine with no display, for a Jetson-class box that runs for
days: serves the readings over HTTP (loopback by default; a token is required
to listen anywhere else), appends each to a JSON-lines log, and stops cleanly
on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time

from app.common_args import add_method_arguments, add_source_argument
from app.daemon.auth import is_loopback
from rppg.containers import Reading
from rppg.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_source_argument(parser)
    add_method_arguments(parser)
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on; anything but loopback requires --token")
    parser.add_argument("--port", type=int, default=8765, help="TCP port (0 picks a free one)")
    parser.add_argument("--token", default=None,
                        help="require 'Authorization: Bearer TOKEN' (or ?token=TOKEN) on every request")
    parser.add_argument("--log", default=None, metavar="PATH",
                        help="append every reading to this JSON-lines file (reopened when rotated away)")
    parser.add_argument("--log-max-mb", type=float, default=None, metavar="MB",
                        help="rotate the log itself at this size (PATH.1, PATH.2, ...); "
                             "leave unset when logrotate handles it")
    parser.add_argument("--log-backups", type=int, default=5,
                        help="rotated log files to keep with --log-max-mb")
    parser.add_argument("--loop", action="store_true",
                        help="start a video file over when it ends (demos, soak tests)")
    parser.add_argument("--no-realtime", action="store_true",
                        help="read a file as fast as possible instead of at its own frame rate")
    parser.add_argument("--queue-size", type=int, default=64,
                        help="frames buffered between capture and processing (oldest dropped when full)")


def _check(args: argparse.Namespace) -> None:
    if not is_loopback(args.host) and not args.token:
        raise ConfigError(f"refusing to listen on {args.host} without --token "
                          "(anyone on the network could read heart rates); add --token or use 127.0.0.1")
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be 0-65535, got {args.port}")
    if args.queue_size < 1:
        raise ConfigError("--queue-size must be at least 1")


def _log_record(reading: Reading) -> dict:
    """The reading's JSON plus the wall-clock time, so a days-long log can be read against a calendar."""
    return {"time": round(time.time(), 3), **reading.to_json()}


def run(args: argparse.Namespace) -> int:
    _check(args)
    from app.daemon.log_writer import JsonLinesLog
    from app.daemon.server import DaemonServer
    from rppg.stream import Engine

    logging.basicConfig(level=logging.INFO, format="rppg daemon: %(message)s")  # camera lost / back
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    log = None
    if args.log:
        max_bytes = int(args.log_max_mb * 1024 * 1024) if args.log_max_mb else None
        log = JsonLinesLog(args.log, max_bytes=max_bytes, backups=args.log_backups)
    engine = Engine(args.source, args.method, args.weights, args.backend, realtime=not args.no_realtime,
                    queue_size=args.queue_size, retry=True, loop=args.loop, band=tuple(args.band),
                    fallback=args.fallback)
    try:
        server = DaemonServer((args.host, args.port), engine, args.method, args.token)
    except OSError as exc:
        engine.stop()
        raise ConfigError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    if log is not None:
        engine.subscribe(lambda reading: log.write(_log_record(reading)))
    try:
        engine.start()
    except BaseException:
        server.server_close()
        engine.stop()
        raise
    web = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="rppg-http",
                           daemon=True)
    web.start()
    try:
        # Announce after the first frame: the face detector's first run on a new image size briefly
        # mutes the process's stderr, and this line must not be lost in that moment.
        while not (engine.wait_ready(0.2) or stop.is_set()):
            pass
        host, port = server.server_address[:2]
        shown = f"[{host}]" if ":" in host else host
        first = engine.stats().first_frame_s
        ready = "" if first is None else f", first frame after {first:.1f} s"
        print(f"rppg daemon: serving http://{shown}:{port}/ (source {args.source}, method {args.method}{ready})",
              file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.close()
        engine.stop(timeout=3.0)
        if log is not None:
            log.close()
    return 0

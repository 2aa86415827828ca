"""headless service: HTTP /health, /reading, /stream (SSE), /metrics, JSON-lines log

Runs the live engine with no display, for a Jetson-class box that runs for
days: serves the readings over HTTP (loopback by default; a token is required
to listen anywhere else), appends each to a JSON-lines log, and stops cleanly
on SIGTERM or SIGINT. The token comes from --token-file or the RPPG_TOKEN
environment variable, never from the command line (``ps`` shows arguments).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time

from rppg.containers import Reading
from rppg.errors import ConfigError
from rppg_app.common_args import add_live_arguments, check_live_arguments
from rppg_app.daemon.auth import TOKEN_ENV, allowed_hosts, is_loopback, load_token
from rppg_app.daemon.limits import ServerLimits


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_live_arguments(parser, realtime=True)
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on; anything but loopback requires a token")
    parser.add_argument("--port", type=int, default=8765, help="TCP port (0 picks a free one)")
    parser.add_argument("--token-file", default=None, metavar="PATH",
                        help=f"require 'Authorization: Bearer TOKEN', TOKEN being this file's first line "
                             f"(default: the {TOKEN_ENV} environment variable; no token when unset)")
    parser.add_argument("--token", default=None, help=argparse.SUPPRESS)  # refused with a pointer, see _check
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="also answer requests whose Host header names NAME (repeatable; the default is "
                             "loopback names and the --host address; '*' turns the check off)")
    parser.add_argument("--max-streams", type=int, default=ServerLimits.max_streams,
                        help="most /stream clients at once")
    parser.add_argument("--header-timeout", type=float, default=ServerLimits.header_timeout_s, metavar="S",
                        help="seconds a client has to send its request line and headers")
    parser.add_argument("--log", default=None, metavar="PATH",
                        help="append every reading to this JSON-lines file (reopened when rotated away)")
    parser.add_argument("--log-max-mb", type=float, default=None, metavar="MB",
                        help="rotate the log itself at this size (PATH.1, PATH.2, ...); "
                             "leave unset when logrotate handles it")
    parser.add_argument("--log-backups", type=int, default=5,
                        help="rotated log files to keep with --log-max-mb")
    parser.add_argument("--loop", action="store_true",
                        help="start a video file over when it ends (demos, soak tests)")
    parser.add_argument("--queue-size", type=int, default=8,
                        help="frames buffered between capture and processing, oldest dropped when full (each "
                             "640x480 frame holds 0.9 MB: a small queue keeps a board's memory low)")


def _check(args: argparse.Namespace) -> str | None:
    """Validate everything cheap before the engine loads; returns the token."""
    if args.token is not None:
        raise ConfigError(f"--token is not accepted: the process list shows arguments to every user; put the "
                          f"token in a file for --token-file, or in the {TOKEN_ENV} environment variable")
    check_live_arguments(args)
    token = load_token(args.token_file)
    if not is_loopback(args.host) and not token:
        raise ConfigError(f"refusing to listen on {args.host} without a token (anyone on the network could read "
                          f"heart rates); give --token-file or set {TOKEN_ENV}, or use 127.0.0.1")
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be 0-65535, got {args.port}")
    if args.queue_size < 1:
        raise ConfigError("--queue-size must be at least 1")
    if args.max_streams < 1:
        raise ConfigError("--max-streams must be at least 1")
    if not args.header_timeout > 0:
        raise ConfigError("--header-timeout must be positive")
    return token


def _log_record(reading: Reading) -> dict:
    """The reading's JSON plus the wall-clock time, so a days-long log can be read against a calendar."""
    return {"time": round(time.time(), 3), **reading.to_json()}


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM/SIGINT; ends the process itself (exit code 0) once everything is closed."""
    token = _check(args)
    from rppg.stream import Engine
    from rppg_app.daemon.log_writer import JsonLinesLog
    from rppg_app.daemon.server import DaemonServer

    logging.basicConfig(level=logging.INFO, format="rppg daemon: %(message)s")  # camera lost / back
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    log = None
    if args.log:
        max_bytes = int(args.log_max_mb * 1024 * 1024) if args.log_max_mb else None
        log = JsonLinesLog(args.log, max_bytes=max_bytes, backups=args.log_backups)
    engine = Engine(args.source, args.method, args.weights, args.backend, realtime=args.realtime,
                    queue_size=args.queue_size, retry=True, loop=args.loop, band=tuple(args.band),
                    fallback=args.fallback, detector=args.detector, roi=args.roi, window_s=args.window)
    try:
        limits = ServerLimits(max_streams=args.max_streams, header_timeout_s=args.header_timeout)
        server = DaemonServer((args.host, args.port), engine, args.method, token,
                              allowed_hosts(args.host, args.allow_host), limits)
    except OSError as exc:
        engine.stop()
        raise ConfigError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    if log is not None:
        engine.subscribe(lambda reading: log.write(_log_record(reading)))
    try:
        engine.start()
    except BaseException:
        server.sock.close()
        engine.stop()
        raise
    server.start()
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
        stopped = engine.stop(timeout=3.0)
        if log is not None:
            log.close()
    # Everything is flushed and closed by now. Finalising the interpreter would still tear down torch,
    # mediapipe and ONNX Runtime, which takes seconds on a loaded board, and aborts the process when
    # a slow reading kept the processing thread inside native code past the stop budget: leave now.
    if not stopped:
        logging.warning("processing did not stop within 3 s; exiting without waiting for it")
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)

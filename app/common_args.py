"""Options shared by the commands that run the pipeline, declared once so monitor, gui and daemon agree."""

from __future__ import annotations

import argparse
from pathlib import Path

from rppg.cameras import missing_camera_message
from rppg.constants import HR_MAX_BPM, HR_MIN_BPM, METHODS, WINDOW_SECONDS
from rppg.errors import ConfigError

NETWORK_CHOICES = ("student", "teacher", "student_nokd")


def add_method_arguments(parser: argparse.ArgumentParser) -> None:
    """--method, --weights, --backend, --fallback, --band."""
    parser.add_argument("--method", default="student", choices=METHODS + ("student_nokd",),
                        help="estimator: the distilled student network, the teacher, or a "
                             "classical method (pos, chrom, green)")
    parser.add_argument("--weights", default=None,
                        help="weights file for student/teacher: .safetensors for --backend torch, .onnx for "
                             "--backend onnx (default: the shipped models/<method> file)")
    parser.add_argument("--backend", default=None, choices=("torch", "onnx"),
                        help="inference backend for networks (default: torch when installed, else onnx)")
    parser.add_argument("--fallback", default="pos", choices=("none", "pos", "chrom"),
                        help="for networks: per reading, use this classical method instead when its signal "
                             "quality is higher ('none': the network alone)")
    parser.add_argument("--band", nargs=2, type=float, default=(HR_MIN_BPM, HR_MAX_BPM), metavar=("LOW", "HIGH"),
                        help="heart-rate band in bpm")


def add_source_argument(parser: argparse.ArgumentParser, default: str = "0") -> None:
    parser.add_argument("--source", default=default,
                        help="camera index (0), video file, image folder, or 'demo' (a synthetic face, no camera)")


def add_tracking_arguments(parser: argparse.ArgumentParser) -> None:
    """--detector and --roi: the face tracker and where classical methods average skin."""
    parser.add_argument("--detector", default="mediapipe", choices=("mediapipe", "haar"),
                        help="face detector: mediapipe BlazeFace or OpenCV's Haar cascade (baseline)")
    parser.add_argument("--roi", default="skin", choices=("skin", "box"),
                        help="classical methods average skin patches (forehead, cheeks) or the whole "
                             "face box (baseline)")


def add_live_arguments(parser: argparse.ArgumentParser, realtime: bool) -> None:
    """Everything monitor, gui and daemon share: source, method, tracking, window, pacing."""
    add_source_argument(parser)
    add_method_arguments(parser)
    add_tracking_arguments(parser)
    parser.add_argument("--window", type=float, default=WINDOW_SECONDS, help="analysis window in seconds")
    parser.add_argument("--realtime", action=argparse.BooleanOptionalAction, default=realtime,
                        help="play a video file at its own frame rate (--no-realtime: as fast as "
                             "processing allows); a camera is always live")


def check_live_arguments(args: argparse.Namespace) -> None:
    """Fail in one line, before any model loads, on values that cannot work."""
    duration = getattr(args, "duration", None)
    if duration is not None and not duration > 0:
        raise ConfigError(f"--duration must be a positive number of seconds, got {duration:g}")
    check_method_arguments(args)
    if not args.window >= 4:
        raise ConfigError(f"--window must be at least 4 seconds, got {args.window:g}")
    check_source_argument(args.source)


def check_method_arguments(args: argparse.Namespace) -> None:
    """--weights only for networks, of the kind the backend runs, and present on disk."""
    low, high = args.band
    if not 0 < low < high:
        raise ConfigError(f"--band must be 0 < LOW < HIGH bpm, got {low:g} {high:g}")
    if args.weights is None:
        return
    if args.method not in NETWORK_CHOICES:
        raise ConfigError(f"--weights is for the networks ({', '.join(NETWORK_CHOICES)}); "
                          f"{args.method} has no weights")
    if args.backend is not None:
        from rppg.models import check_weights_backend

        check_weights_backend(args.weights, args.backend)
    if not Path(args.weights).expanduser().is_file():
        raise ConfigError(f"weight file not found: {args.weights}")


def check_source_argument(spec: str) -> None:
    """A file or folder must exist, and so must a camera at start-up: "not found" is a one-line error
    here, while a camera that disappears later is "lost" and retried by the live engine."""
    spec = str(spec).strip()
    if spec == "demo" or spec.startswith("faulty:"):  # a fault-injection spec is checked when opened
        return
    if spec.isdigit():
        if message := missing_camera_message(int(spec)):
            raise ConfigError(message)
        return
    if not Path(spec).expanduser().exists():
        raise ConfigError(f"source not found: {spec!r} (expected a camera index, a video file, an image "
                          "folder, or 'demo')")

"""desktop window: live video, pulse waveform, BPM, trend, recording

Runs the live engine (capture and processing threads) and a PyQt6 window that
pulls the newest frame and readings from it. ``--duration`` and ``--screenshot``
make it scriptable (demos, tests under a virtual X server).
"""

from __future__ import annotations

import argparse

from rppg_app.common_args import add_live_arguments, check_live_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_live_arguments(parser, realtime=True)
    parser.add_argument("--duration", type=float, default=None,
                        help="quit after this many seconds (wall time; a file plays in real time)")
    parser.add_argument("--screenshot", default=None, metavar="PNG",
                        help="save a picture of the window just before quitting")
    parser.add_argument("--record-dir", default="recordings", metavar="DIR",
                        help="where the Record button writes sessions (one timestamped folder each)")
    parser.add_argument("--loop", action="store_true", help="start a video file over when it ends")


def run(args: argparse.Namespace) -> int:
    check_live_arguments(args)
    from rppg_app.gui.application import run_window
    from rppg_app.gui.window import EngineSettings

    settings = EngineSettings(source=args.source, method=args.method, weights=args.weights,
                              backend=args.backend, band=tuple(args.band), fallback=args.fallback,
                              loop=args.loop, detector=args.detector, roi=args.roi, window_s=args.window,
                              realtime=args.realtime)
    return run_window(settings, args.record_dir, args.duration, args.screenshot)

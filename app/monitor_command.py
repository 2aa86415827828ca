"""Read a source headlessly and print one JSON line per reading."""

from __future__ import annotations

import argparse
import json
import sys

from rppg_app.common_args import add_live_arguments, check_live_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_live_arguments(parser, realtime=False)
    parser.add_argument("--duration", type=float, default=None,
                        help="stop after this many seconds of input (default: until the source ends)")


def run(args: argparse.Namespace) -> int:
    check_live_arguments(args)
    from rppg.pipeline import Pipeline  # heavy (OpenCV, mediapipe, the network): after the checks
    from rppg.sources import open_source

    pipeline = Pipeline(args.method, args.weights, args.backend, band=tuple(args.band), window_s=args.window,
                        detector=args.detector, roi=args.roi, fallback=args.fallback)
    printed = 0
    last_t = 0.0
    with open_source(args.source, realtime=args.realtime) as source:
        for frame in source:
            if args.duration is not None and frame.t > args.duration:
                break
            last_t = frame.t
            reading = pipeline.push(frame)
            if reading is not None:
                print(json.dumps(reading.to_json()), flush=True)
                printed += 1
    pipeline.close()
    if printed == 0:
        print(f"rppg: error: the source ended after {pipeline.frames_seen} frames ({last_t:.1f} s), before the "
              f"first {args.window:g} s window was full: no reading", file=sys.stderr)
        return 2
    return 0

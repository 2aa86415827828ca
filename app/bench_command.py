"""Measure parameters, FLOPs, latency and pipeline speed, side by side in one run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rppg.bench import decode_only, network_costs, rss_mb, run_pipeline
from rppg.models import default_weights

_REAL_CLIP = Path(__file__).resolve().parents[1] / "tests/data/physrecorder_v01/video_ZIP_H264.avi"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--video", default=str(_REAL_CLIP),
                        help="640x480 30 fps clip for the end-to-end pipeline rate")
    parser.add_argument("--methods", nargs="+", default=["student", "teacher", "pos"],
                        help="methods whose end-to-end pipeline rate is measured")
    parser.add_argument("--window", type=int, default=300, help="network window in frames (10 s at 30 fps)")
    parser.add_argument("--runs", type=int, default=30, help="timed runs per network (median reported)")
    parser.add_argument("--backend", default="torch", choices=("torch", "onnx"), help="backend for the pipelines")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    frames, decode_s = decode_only(args.video)  # first: a bad --video fails before minutes of timing
    _log(f"networks: {args.runs} interleaved runs each on a (1, 3, {args.window}, 36, 36) window ...")
    costs = network_costs(args.window, args.runs)
    teacher, student = costs["teacher"], costs["student"]
    out: dict = {
        "student_params": student.params,
        "teacher_params": teacher.params,
        "student_flops": student.flops,
        "teacher_flops": teacher.flops,
        "student_latency_ms": round(student.latency_ms, 3),
        "teacher_latency_ms": round(teacher.latency_ms, 3),
        "student_speedup": round(teacher.latency_ms / student.latency_ms, 2),
        "window_frames": args.window,
    }
    out["decode_fps"] = round(frames / decode_s, 1)
    pipelines = {}
    for method in args.methods:
        if method in ("student", "teacher") and args.backend == "torch" and not default_weights(method).is_file():
            _log(f"skipping the {method} pipeline: {default_weights(method)} not found")
            continue
        _log(f"pipeline {method}: {args.video} ...")
        r = run_pipeline(args.video, method, backend=args.backend)
        pipelines[method] = {
            "fps": round(r.fps, 1), "realtime_factor": round(r.realtime_factor, 2),
            "latency_ms_median": round(r.latency_ms_median, 3), "latency_ms_p95": round(r.latency_ms_p95, 3),
            "load_s": round(r.load_seconds, 3), "median_bpm": None if r.median_bpm is None else round(r.median_bpm, 2),
        }
    out["pipelines"] = pipelines
    main = pipelines.get("student") or next(iter(pipelines.values()), None)
    out["pipeline_realtime_factor"] = main["realtime_factor"] if main else None
    out["rss_mb"] = round(rss_mb(), 1)
    _print_table(out)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


def _print_table(out: dict) -> None:
    print(f"{'network':<10}{'params':>10}{'MFLOPs/window':>16}{'latency ms':>12}")
    for name in ("teacher", "student"):
        print(f"{name:<10}{out[name + '_params']:>10,}{out[name + '_flops'] / 1e6:>16.1f}"
              f"{out[name + '_latency_ms']:>12.2f}")
    print(f"student speed-up (teacher latency / student latency): {out['student_speedup']:.1f}x")
    print(f"decode only: {out['decode_fps']:.0f} frames/s")
    print(f"{'pipeline':<10}{'frames/s':>10}{'x realtime':>12}{'ms/frame med':>14}{'p95':>8}{'load s':>8}{'bpm':>8}")
    for method, p in out["pipelines"].items():
        bpm = "-" if p["median_bpm"] is None else f"{p['median_bpm']:.1f}"
        print(f"{method:<10}{p['fps']:>10.0f}{p['realtime_factor']:>12.1f}{p['latency_ms_median']:>14.2f}"
              f"{p['latency_ms_p95']:>8.2f}{p['load_s']:>8.2f}{bpm:>8}")
    print(f"resident memory: {out['rss_mb']:.0f} MB")

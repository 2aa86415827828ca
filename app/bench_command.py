"""Measure parameters, FLOPs, latency and pipeline speed, side by side in one run.

Every pipeline runs in its own fresh process on the same clip: its rate, its rate over
the decode-only rate of that clip (measured in that process just before), per-frame
latency, time per stage, load time and resident memory. The student runs again with
``--threads`` threads (OpenCV, PyTorch, ONNX Runtime) as a stand-in for a small board,
and with the other backend, so both backends' memory is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from rppg.bench import STAGES, decode_only, measure_in_subprocess, network_costs, receptive_fields_s, rss_mb
from rppg.models import default_weights

_REAL_CLIP = Path(__file__).resolve().parents[1] / "tests/data/physrecorder_v01/video_ZIP_H264.avi"
_BACKENDS = ("torch", "onnx")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--video", default=str(_REAL_CLIP),
                        help="640x480 30 fps clip for the end-to-end pipeline rate")
    parser.add_argument("--methods", nargs="+", default=["student", "teacher", "pos"],
                        help="methods whose end-to-end pipeline rate is measured")
    parser.add_argument("--window", type=int, default=300, help="network window in frames (10 s at 30 fps)")
    parser.add_argument("--runs", type=int, default=30, help="timed runs per network (median reported)")
    parser.add_argument("--backend", default="torch", choices=_BACKENDS, help="backend for the pipelines")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for the extra student run (a small board's cores); 0 skips that run")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _available(method: str, backend: str) -> bool:
    if method not in ("student", "teacher", "student_nokd"):
        return True
    weights = default_weights(method)
    return (weights if backend == "torch" else weights.with_suffix(".onnx")).is_file()


def _pipeline(video: str, method: str, backend: str, decode_fps: float,
              threads: int | None = None) -> dict[str, Any] | None:
    """One pipeline in a fresh process. Its rate is divided by the fastest decode-only rate of the
    run (this process's own, or ``decode_fps`` measured at the start): the limit for a file is
    what decoding alone reaches."""
    if not _available(method, backend):
        _log(f"skipping the {method} pipeline ({backend}): its weights are not shipped")
        return None
    label = f"{method} ({backend}{'' if threads is None else f', {threads} thread(s)'})"
    _log(f"pipeline {label}: {video} ...")
    r = measure_in_subprocess(video, method, backend, threads)
    return {
        "fps": round(r["fps"], 1), "realtime_factor": round(r["realtime_factor"], 2),
        "decode_fps": round(r["decode_fps"], 1),
        "pipeline_decode_ratio": round(r["fps"] / max(r["decode_fps"], decode_fps), 3),
        "latency_ms_median": round(r["latency_ms_median"], 3), "latency_ms_p95": round(r["latency_ms_p95"], 3),
        "load_s": round(r["load_seconds"], 3), "import_s": round(r["import_seconds"], 3),
        "rss_mb": r["memory_mb"]["after_run"],
        "median_bpm": None if r["median_bpm"] is None else round(r["median_bpm"], 2),
        "detector_share": round(r["detector_share"], 4), "stages_ms": r["stages_ms"], "memory_mb": r["memory_mb"],
    }


def run(args: argparse.Namespace) -> int:
    frames, decode_s = decode_only(args.video)  # first: a bad --video fails before minutes of timing
    decode_fps = frames / decode_s
    _log(f"networks: {args.runs} interleaved runs each on a (1, 3, {args.window}, 36, 36) window ...")
    costs = network_costs(args.window, args.runs)
    teacher, student = costs["teacher"], costs["student"]
    fields = receptive_fields_s()
    out: dict = {
        "student_params": student.params,
        "teacher_params": teacher.params,
        "student_flops": student.flops,
        "teacher_flops": teacher.flops,
        "student_latency_ms": round(student.latency_ms, 3),
        "teacher_latency_ms": round(teacher.latency_ms, 3),
        "student_speedup": round(teacher.latency_ms / student.latency_ms, 2),
        "window_frames": args.window,
        "student_receptive_field_s": fields["student"],
        "teacher_receptive_field_s": fields["teacher"],
        "decode_fps": round(decode_fps, 1),
        "cpu_count": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2),  # other work on the machine while measuring
    }
    pipelines = {m: p for m in args.methods if (p := _pipeline(args.video, m, args.backend, decode_fps)) is not None}
    out["pipelines"] = pipelines
    main = pipelines.get("student") or next(iter(pipelines.values()), None)
    for key in ("pipeline_decode_ratio", "realtime_factor", "latency_ms_median", "latency_ms_p95", "load_s",
                "import_s"):
        out[key if key != "realtime_factor" else "pipeline_realtime_factor"] = main[key] if main else None
    if args.threads > 0:
        out["threads"] = args.threads
        out["threads_run"] = _pipeline(args.video, "student", args.backend, decode_fps, args.threads)
    memory = {args.backend: main["memory_mb"] if main and "student" in pipelines else None}
    other = _BACKENDS[1 - _BACKENDS.index(args.backend)]
    if "student" in args.methods:
        run_other = _pipeline(args.video, "student", other, decode_fps)
        memory[other] = run_other["memory_mb"] if run_other else None
    out["memory_mb"] = memory
    for backend in _BACKENDS:
        out[f"rss_mb_{backend}"] = memory[backend]["after_run"] if memory.get(backend) else None
        out[f"peak_rss_mb_{backend}"] = memory[backend].get("peak") if memory.get(backend) else None
    out["rss_mb"] = round(rss_mb(), 1)
    _print_table(out)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


def _print_table(out: dict) -> None:
    print(f"{'network':<10}{'params':>10}{'MFLOPs/window':>16}{'latency ms':>12}{'receptive s':>13}")
    for name in ("teacher", "student"):
        print(f"{name:<10}{out[name + '_params']:>10,}{out[name + '_flops'] / 1e6:>16.1f}"
              f"{out[name + '_latency_ms']:>12.2f}{out[name + '_receptive_field_s']:>13.2f}")
    print(f"student speed-up (teacher latency / student latency): {out['student_speedup']:.1f}x")
    print(f"decode only: {out['decode_fps']:.0f} frames/s (load average {out['load_average']} "
          f"on {out['cpu_count']} cores)")
    runs = dict(out["pipelines"])
    if out.get("threads_run"):
        runs[f"student/{out['threads']}t"] = out["threads_run"]
    print(f"{'pipeline':<12}{'frames/s':>9}{'/decode':>8}{'x realtime':>11}{'ms/frame med':>13}{'p95':>7}"
          f"{'load s':>7}{'import s':>9}{'MB':>6}{'bpm':>7}")
    for method, p in runs.items():
        bpm = "-" if p["median_bpm"] is None else f"{p['median_bpm']:.1f}"
        print(f"{method:<12}{p['fps']:>9.0f}{p['pipeline_decode_ratio']:>8.2f}{p['realtime_factor']:>11.1f}"
              f"{p['latency_ms_median']:>13.2f}{p['latency_ms_p95']:>7.2f}{p['load_s']:>7.2f}{p['rss_mb']:>6.0f}"
              f"{bpm:>7}")
    print("ms per frame by stage: " + ", ".join(
        f"{name} {method_stages:.3f}" for name, method_stages in _main_stages(out).items()))
    memory = ", ".join(f"{b} {out[f'rss_mb_{b}']:.0f} MB (peak {out.get(f'peak_rss_mb_{b}') or 0:.0f})"
                       for b in _BACKENDS if out.get(f"rss_mb_{b}"))
    print(f"student pipeline resident memory: {memory or '-'}")


def _main_stages(out: dict) -> dict[str, float]:
    main = out["pipelines"].get("student") or next(iter(out["pipelines"].values()), None)
    return {name: main["stages_ms"][name] for name in STAGES} if main else {}

"""Print the README's speed, memory and tracking-accuracy tables from the measured JSON files.

    python scripts/performance_table.py [BENCH_JSON] [TRACKING_JSON]

``BENCH_JSON`` is written by ``rppg bench --json``, ``TRACKING_JSON`` by
``scripts/tracking_accuracy.py``; defaults: the copies in ``scripts/results/``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _f(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def bench_tables(b: dict) -> list[str]:
    lines = ["| pipeline | frames/s | / decode-only | x real time | ms per frame, median / p95 | detector on | "
             "build s | imports s | resident MB |", "|---|---|---|---|---|---|---|---|---|"]
    runs = dict(b["pipelines"])
    if b.get("threads_run"):
        runs[f"student, {b['threads']} thread"] = b["threads_run"]
    for name, p in runs.items():
        lines.append(f"| {name} | {p['fps']:.0f} | {p['pipeline_decode_ratio']:.2f} | {p['realtime_factor']:.1f} | "
                     f"{p['latency_ms_median']:.2f} / {p['latency_ms_p95']:.2f} | {100 * p['detector_share']:.1f} % | "
                     f"{p['load_s']:.2f} | {p['import_s']:.2f} | {p['rss_mb']:.0f} |")
    main = b["pipelines"]["student"]
    lines += ["", "| stage (student pipeline) | " + " | ".join(main["stages_ms"]) + " |",
              "|---|" + "---|" * len(main["stages_ms"]),
              "| ms per frame | " + " | ".join(f"{v:.3f}" for v in main["stages_ms"].values()) + " |", ""]
    lines += ["| resident MB after | " + " | ".join(k for k in b["memory_mb"]["torch"] if k != "torch_loaded") + " |",
              "|---|" + "---|" * (len(b["memory_mb"]["torch"]) - 1)]
    for backend, steps in b["memory_mb"].items():
        if steps:
            lines.append(f"| student, {backend} | " + " | ".join(f"{v:.0f}" for k, v in steps.items()
                                                                  if k != "torch_loaded") + " |")
    return lines


def tracking_table(t: dict) -> list[str]:
    lines = ["| set | method | tracker | window MAE | window coverage | whole-clip MAE | SNR dB | detector on |",
             "|---|---|---|---|---|---|---|---|"]
    for dataset, methods in t["accuracy"].items():
        for method, trackers in methods.items():
            for name, s in trackers.items():
                lines.append(f"| {dataset} | {method} | {name} | {_f(s['window_mae'])} | {_f(s['window_coverage'])} | "
                             f"{_f(s['mae'])} | {_f(s['snr'])} | {100 * s['detector_share']:.1f} % |")
    lines += ["", "| real face clip | frames | face found (every frame / flow) | jitter median, % of box width "
              "(every frame / flow) | centres apart, median / p95 % | detector on (flow) |",
              "|---|---|---|---|---|---|"]
    for clip, e in t.get("real_faces", {}).items():
        a, f = e["every_frame"], e["flow"]
        lines.append(f"| {clip} | {a['frames']} | {a['face_share']:.2f} / {f['face_share']:.2f} | "
                     f"{_f(_pct(a['jitter_median']))} / {_f(_pct(f['jitter_median']))} | "
                     f"{_f(_pct(e['centre_apart_median']))} / {_f(_pct(e['centre_apart_p95']))} | "
                     f"{100 * f['detector_share']:.1f} % |")
    return lines


def _pct(value: float | None) -> float | None:
    return None if value is None else 100 * value


def main() -> int:
    bench = Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS / "bench.json"
    tracking = Path(sys.argv[2]) if len(sys.argv) > 2 else RESULTS / "tracking_accuracy.json"
    if bench.is_file():
        print("\n".join(bench_tables(json.loads(bench.read_text()))), end="\n\n")
    if tracking.is_file():
        print("\n".join(tracking_table(json.loads(tracking.read_text()))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

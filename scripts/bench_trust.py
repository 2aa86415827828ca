"""Can the readings be trusted? No-pulse video, the real clip, and the real clip turned and shrunk.

    python scripts/bench_trust.py                 # writes docs/trust_bench.json

Runs the default pipeline (student + POS fallback) over clips the calibration did not use:
synthetic faces without a pulse and animated still real faces (other seeds and faces), and
tests/data/physrecorder_v01 as it is, turned 90 and 180 degrees and shrunk to 80x60. Each clip
runs once with every window answered; the shipped quality model and MIN_FACE_PX are then applied
to the stored features exactly as the pipeline applies them, so rerunning after a recalibration
(with --cache) costs nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from trust_data import ROOT, STILL_SOURCES, TestClip, cached, real_clip, run_clip, still, synthetic

from rppg.constants import MIN_FACE_PX
from rppg.pipeline import Pipeline
from rppg.signal.quality import load_model


def judged(rows: list[dict]) -> list[dict]:
    """Rows as the live pipeline would publish them with the shipped model: bpm or a reason."""
    model = load_model()
    out = []
    for row in rows:
        if row["features"] is None:
            out.append({**row, "bpm": None})
        elif row["face_px"] is not None and row["face_px"] < MIN_FACE_PX:
            out.append({**row, "bpm": None, "reason": "face_too_small"})
        else:
            confidence = model.confidence(row["features"])
            answered = confidence >= model.threshold
            out.append({**row, "confidence": confidence, "bpm": row["candidate"] if answered else None,
                        "reason": None if answered else "low_quality"})
    return out


def score(rows: list[dict], tolerance: float) -> dict:
    answered = [r for r in rows if r["bpm"] is not None]
    errors = [abs(r["bpm"] - r["truth"]) for r in answered if r["truth"] is not None]
    return {"readings": len(rows), "with_bpm": len(answered),
            "share_with_bpm": round(len(answered) / len(rows), 4) if rows else None,
            "within_tolerance": sum(e <= tolerance for e in errors), "tolerance_bpm": tolerance,
            "max_error_bpm": round(max(errors), 2) if errors else None,
            "null_without_reason": sum(r["bpm"] is None and r["reason"] is None for r in rows),
            "reasons": {k: sum(str(r["reason"]) == k for r in rows) for k in sorted({str(r["reason"]) for r in rows})}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", default="student")
    parser.add_argument("--fallback", default="pos")
    parser.add_argument("--negatives", type=int, default=3, help="clips of each no-pulse kind")
    parser.add_argument("--cache", type=Path, default=None, help="keep each clip's windows here and reuse them")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "trust_bench.json")
    parser.add_argument("--shard", default=None, metavar="K/N",
                        help="only run every N-th clip from the K-th into --cache, and stop")
    args = parser.parse_args()
    sets = {
        "real": ([real_clip()], 3.0),
        "real_rot90": ([real_clip(rotate=90)], 5.0),
        "real_rot180": ([real_clip(rotate=180)], 5.0),
        "real_80x60": ([real_clip(size=(80, 60))], 5.0),
        "synth_nopulse": ([synthetic(300 + i, False) for i in range(args.negatives)], 5.0),
        "still_nopulse": ([still(len(STILL_SOURCES) - 1 - i, 300 + i) for i in range(args.negatives)], 5.0),
    }
    pipelines: list[Pipeline] = []  # built on first use: a rerun over a full cache loads no network

    def run(clip: TestClip) -> list[dict]:
        if not pipelines:
            pipelines.append(Pipeline(args.method, fallback=args.fallback, confidence_threshold=0.0, min_face_px=0.0))
        return run_clip(pipelines[0], clip)

    if args.shard is not None:
        k, n = (int(v) for v in args.shard.split("/"))
        for clip in [c for clips, _ in sets.values() for c in clips][k::n]:
            cached(args.cache, clip, run)
        return 0
    report = {"method": args.method, "fallback": args.fallback, "min_face_px": MIN_FACE_PX,
              "threshold": load_model().threshold, "sets": {}}
    for name, (clips, tolerance) in sets.items():
        rows = judged([r for c in clips for r in cached(args.cache, c, run)])
        report["sets"][name] = score(rows, tolerance)
        confidences = [r["confidence"] for r in rows if r["features"] is not None]
        report["sets"][name]["median_confidence"] = round(float(np.median(confidences)), 3) if confidences else None
        print(name, report["sets"][name], file=sys.stderr, flush=True)
    for pipeline in pipelines:
        pipeline.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

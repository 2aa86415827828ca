"""How small may a face be? The real clip shrunk step by step, every window answered, errors measured.

    python scripts/face_size_bench.py            # writes docs/face_size.json

For each frame size, the median face-box side (pixels, larger side) and the error of every
window's tracked bpm against the contact reference. MIN_FACE_PX in rppg/constants.py is set from
it: just under the smallest face at which every window stayed within 3 bpm.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from trust_data import ROOT, real_clip, run_clip

from rppg.pipeline import Pipeline

SIZES = ((640, 480), (320, 240), (224, 168), (160, 120), (112, 84), (80, 60))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", default="student")
    parser.add_argument("--fallback", default="pos")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "face_size.json")
    args = parser.parse_args()
    pipeline = Pipeline(args.method, fallback=args.fallback, confidence_threshold=0.0, min_face_px=0.0)
    results = []
    for size in SIZES:
        clip = real_clip(size=None if size == (640, 480) else size)
        rows = run_clip(pipeline, clip)
        boxes = [r["face_px"] for r in rows if r["face_px"] is not None]
        errors = [abs(r["candidate"] - r["truth"]) for r in rows if r["candidate"] is not None]
        results.append({"size": list(size), "face_px": round(float(np.median(boxes)), 1) if boxes else None,
                        "windows": len(rows), "answered": len(errors),
                        "max_error_bpm": round(max(errors), 2) if errors else None,
                        "mae_bpm": round(float(np.mean(errors)), 2) if errors else None})
        print(results[-1], file=sys.stderr, flush=True)
    pipeline.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"method": args.method, "fallback": args.fallback, "sizes": results}, indent=2)
                        + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

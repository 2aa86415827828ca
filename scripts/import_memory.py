"""Resident memory each heavy import adds, each in a fresh process (what the runtime does or
no longer loads): writes JSON.

    python scripts/import_memory.py [OUT.json]
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

MODULES = ("cv2", "mediapipe", "scipy.signal", "torch", "onnxruntime")
_CODE = ("import numpy, importlib; from rppg.bench import rss_mb; before = rss_mb(); "
         "importlib.import_module({name!r}); print(before, rss_mb())")


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "results/import_memory.json"
    report = {}
    for name in MODULES:
        result = subprocess.run([sys.executable, "-c", _CODE.format(name=name)], capture_output=True, text=True,
                                check=True)
        before, after = map(float, result.stdout.split())
        report[name] = {"rss_mb_before": before, "rss_mb_after": after, "added_mb": round(after - before, 1)}
        print(f"{name:<14}{after - before:8.1f} MB", file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Detector on every frame vs. detector every ``redetect_s`` with optical flow in between.

Both trackers see the same clips in the same run:
- accuracy (``rppg evaluate``'s own path) on the real clip with a reference pulse and on
  held-out synthetic sets with head motion (seeds the training never used), POS and student;
- on real faces without a reference: frames with a face, box jitter (median frame-to-frame
  move of the box centre, as a share of the box width), and how far the two trackers' boxes
  are apart; plus how often the detector ran.

    python scripts/tracking_accuracy.py [--json out/tracking_accuracy.json] [--synth out/tracking]
        [--parts real_clip synthetic_typical synthetic_random real_faces]

The synthetic sets are made with ``rppg synth`` when missing. Results of the parts run are
merged into an existing JSON file, so parts can be measured one at a time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rppg.datasets import load_dataset  # noqa: E402
from rppg.evaluation import evaluate_clips  # noqa: E402
from rppg.face.tracker import FaceTracker  # noqa: E402
from rppg.pipeline import Pipeline  # noqa: E402
from rppg.sources import open_source  # noqa: E402

REAL_CLIP = ROOT / "tests/data/physrecorder_v01"
REAL_FACES = ROOT.parent / "shared/data/real_faces"
#: tracker name -> redetect_s (0: the detector on every frame, the tracker before flow tracking)
TRACKERS = {"every_frame": 0.0, "flow": FaceTracker.__init__.__defaults__[-1]}
#: name -> (seed, preset, subjects, seconds): seeds the training never used
SYNTH_SETS = {"typical": (9101, "typical", 4, 30.0), "random": (9303, "random", 3, 20.0)}
PARTS = ("real_clip", "synthetic_typical", "synthetic_random", "real_faces")
SUMMARY_KEYS = ("mae", "rmse", "pearson", "snr", "window_mae", "window_rmse", "window_pearson", "window_coverage")


def _synth(root: Path, names: list[str]) -> dict[str, Path]:
    sets = {}
    for name, (seed, preset, subjects, duration) in SYNTH_SETS.items():
        if f"synthetic_{name}" not in names:
            continue
        path = root / name
        if not path.is_dir():
            subprocess.run([sys.executable, "-m", "rppg_app.cli", "synth", str(path), "--subjects", str(subjects),
                            "--seed", str(seed), "--duration", str(duration), "--preset", preset],
                           check=True, cwd=ROOT)
        sets[f"synthetic_{name}"] = path
    return sets


def accuracy(datasets: dict[str, tuple[Path, str]], methods: list[str]) -> dict:
    """Evaluation summaries per dataset, method and tracker, detector runs per frame."""
    out: dict = {}
    for method in methods:
        pipeline = Pipeline(method)
        for name, redetect_s in TRACKERS.items():
            pipeline.tracker.redetect_s = redetect_s
            for dataset, (path, fmt) in datasets.items():
                runs, frames = pipeline.tracker.detections, pipeline.tracker.frames
                report = evaluate_clips(load_dataset(str(path), fmt), pipeline, progress=False)
                runs, frames = pipeline.tracker.detections - runs, pipeline.tracker.frames - frames
                s = report["summary"]
                out.setdefault(dataset, {}).setdefault(method, {})[name] = {
                    **{k: s[k] for k in SUMMARY_KEYS}, "detector_share": round(runs / max(frames, 1), 4)}
                print(f"{dataset:<20}{method:<9}{name:<12}window MAE {s['window_mae']}  MAE {s['mae']}",
                      file=sys.stderr)
        pipeline.close()
    return out


def _track(path: Path, tracker: FaceTracker) -> tuple[list, int]:
    tracker.reset()
    runs = tracker.detections
    with open_source(str(path)) as source:
        boxes = [tracker.update(frame) for frame in source]
    return boxes, tracker.detections - runs


def real_faces(folder: Path) -> dict:
    """Per clip and tracker: face share, jitter, detector share; and the boxes' disagreement."""
    clips = sorted(folder.glob("*.mp4")) + sorted((folder / "grid").glob("*.mpg"))
    trackers = {name: FaceTracker(redetect_s=r) for name, r in TRACKERS.items()}
    out: dict = {}
    for clip in clips:
        entry: dict = {}
        centres = {}
        for name, tracker in trackers.items():
            boxes, runs = _track(clip, tracker)
            seen = [b for b in boxes if b is not None]
            c = np.array([(b.center[0], b.center[1], b.w) if b is not None else (np.nan,) * 3 for b in boxes])
            centres[name] = c
            steps = np.linalg.norm(np.diff(c[:, :2], axis=0), axis=1) / c[1:, 2]
            entry[name] = {"frames": len(boxes), "face_share": round(len(seen) / max(len(boxes), 1), 4),
                           "jitter_median": _round(np.nanmedian(steps) if len(seen) > 1 else None),
                           "jitter_p95": _round(np.nanpercentile(steps, 95) if len(seen) > 1 else None),
                           "detector_share": round(runs / max(len(boxes), 1), 4)}
        a, b = centres["every_frame"], centres["flow"]
        apart = np.linalg.norm(a[:, :2] - b[:, :2], axis=1) / a[:, 2]
        entry["centre_apart_median"] = _round(np.nanmedian(apart) if np.isfinite(apart).any() else None)
        entry["centre_apart_p95"] = _round(np.nanpercentile(apart, 95) if np.isfinite(apart).any() else None)
        out[clip.relative_to(folder).as_posix()] = entry
        print(f"{clip.name:<24}{json.dumps(entry)}", file=sys.stderr)
    for tracker in trackers.values():
        tracker.close()
    return out


def _round(value: float | None, digits: int = 5) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=str(ROOT / "out/tracking_accuracy.json"))
    parser.add_argument("--synth", default=str(ROOT / "out/tracking"), help="folder for the synthetic sets")
    parser.add_argument("--methods", nargs="+", default=["pos", "student"])
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS)
    args = parser.parse_args()
    datasets = {"real_clip": (REAL_CLIP, "recording")} if "real_clip" in args.parts else {}
    synth = _synth(Path(args.synth), args.parts)
    datasets.update({k: (v, "ubfc") for k, v in synth.items()})
    path = Path(args.json)
    report = json.loads(path.read_text()) if path.is_file() else {}
    report["trackers"] = {k: {"redetect_s": v} for k, v in TRACKERS.items()}
    for dataset, result in accuracy(datasets, args.methods).items():
        report.setdefault("accuracy", {})[dataset] = result
    if "real_faces" in args.parts and REAL_FACES.is_dir():
        report["real_faces"] = real_faces(REAL_FACES)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(f"written: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

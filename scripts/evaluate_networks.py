"""Accuracy of the networks alone (no fallback, no gate) through the live per-window path.

Scores every network variant (shipped weights, every training seed, ablations) and the
classical baselines on:

* held-out synthetic sets (seeds and settings the training never saw), written once by
  ``rppg synth`` into OUT: ``typical`` (seed 9101) and ``random`` (seed 9303, strong motion,
  light, noise and compression);
* the real clip tests/data/physrecorder_v01 (contact PPG reference; never used in training);
* real faces without a reference (../shared/data/real_faces): on windows where POS is clean
  (SNR >= 1 dB), the share where the network agrees with POS within 3 bpm, and the median
  change between consecutive readings.

Writes everything to models/evaluation.json under "networks" (the README tables are rendered
from it by scripts/render_tables.py):

    python scripts/evaluate_networks.py [--out out/heldout] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import namedtuple
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rppg.constants import MODEL_FPS, NETWORK_FOLLOW, NETWORK_REDETECT_S  # noqa: E402
from rppg.datasets import load_dataset  # noqa: E402
from rppg.evaluation import evaluate_clip, summarize  # noqa: E402
from rppg.pipeline import Pipeline  # noqa: E402
from rppg.sources import open_source  # noqa: E402

REAL_CLIP = ROOT / "tests" / "data" / "physrecorder_v01"
REAL_FACES = ROOT.parent / "shared" / "data" / "real_faces"
SETS = {"typical": 9101, "random": 9303}
SET_CLIPS, SET_SECONDS = 12, 30.0
#: name -> (method, weights relative to the repository; None = shipped or classical)
VARIANTS: dict[str, tuple[str, str | None]] = {
    "teacher": ("teacher", None),
    **{f"student_seed{s}": ("student", f"models/seeds/student_seed{s}.safetensors") for s in (1, 2, 3)},
    **{f"student_nokd_seed{s}": ("student_nokd", f"models/seeds/student_nokd_seed{s}.safetensors") for s in (1, 2, 3)},
    **{f"previous_data_{v}": ("student_nokd", f"models/seeds/previous_data/nokd_seed1_{v}.safetensors")
       for v in ("label_free", "synthetic_only", "screened_160", "screened_400")},
    **{f"ablation_{v}": ("student_nokd", f"models/seeds/ablation_{v}.safetensors")
       for v in ("160_clips", "no_average", "no_grid", "finetune_control", "finetune_label_free")},
    # seed 1 of the student distilled from the longer teacher part-way (teacher_long at step 1,800)
    "ablation_interim_teacher": ("student", "models/seeds/ablation_interim_teacher.safetensors"),
    # teacher_long's best weights (its step 3,200), and seeds 1 and 2 of the student distilled from them
    "teacher_long_step3200": ("teacher", "models/seeds/teacher_long_step3200.safetensors"),
    **{f"ablation_teacher3200_seed{s}": ("student", f"models/seeds/ablation_teacher3200_seed{s}.safetensors")
       for s in (1, 2)},
    # the seeds of the recipe before sway augmentation (and the training-like validation bank)
    **{f"no_sway_{t}_seed{s}": (t, f"models/seeds/previous_data/{t}_seed{s}_no_sway.safetensors")
       for t in ("student", "student_nokd") for s in (1, 2, 3)},
    # the networks shipped before (160 clips; then 400 clips with the weight average), for comparison
    **{f"previous_data_{v}_screened_{n}": (v, f"models/seeds/previous_data/{f}_screened_{n}.safetensors")
       for n in ("160", "400") for v, f in (("student", "student_seed3"), ("teacher", "teacher"))},
    # seed 1 of each student after 2,000 steps, the point from which it was trained further
    **{f"steps2000_{t}_seed1": (t, f"models/seeds/previous_data/{t}_seed1_2000_steps.safetensors")
       for t in ("student", "student_nokd")},
    "pos": ("pos", None),
    "chrom": ("chrom", None),
    "student": ("student", None),  # the shipped files: the best seed by validation, evaluated above
    "student_nokd": ("student_nokd", None),
}
POS_CLEAN_DB = 1.0
Pair = namedtuple("Pair", "bpm quality")
AGREE_BPM = 3.0


def save(path: Path, name: str, entry: dict, **fields: str) -> None:
    """Store one variant's scores in the JSON as it is on disk now (another run may have added others)."""
    doc = json.loads(path.read_text()) if path.is_file() else {}
    doc.setdefault("networks", {})[name] = entry
    doc.update(fields)
    path.write_text(json.dumps(doc, indent=1) + "\n")


def pipeline_for(method: str, weights: str | None) -> Pipeline:
    """The live pipeline with the network alone: no fallback, nothing withheld (it replays recorded
    observations, so its own tracker is not used)."""
    return Pipeline(method, str(ROOT / weights) if weights else None, fallback=None, gate_db=-np.inf)


def shipped_seed(method: str) -> str | None:
    """The seed run whose weights were shipped as ``method`` (from its card), if any."""
    card = ROOT / "models" / f"{method}.json"
    if not card.is_file():
        return None
    return json.loads(card.read_text()).get("selected_seed_run")


def heldout_sets(out: Path) -> dict[str, Path]:
    from rppg.synth.ubfc import write_ubfc

    folders = {}
    for name, seed in SETS.items():
        folder = out / name
        if not (folder / f"subject{SET_CLIPS}").is_dir():  # absent, or written with fewer clips
            write_ubfc(folder, SET_CLIPS, seed, preset=name, duration_s=SET_SECONDS)
        folders[name] = folder
    return folders


class Observations:
    """Every clip tracked and sampled once (crops and skin colour), replayed for each estimator:
    ``Pipeline.push_sample`` on recorded observations gives exactly the readings ``push`` gives."""

    def __init__(self, method: str, redetect_s: float = NETWORK_REDETECT_S, follow: str = NETWORK_FOLLOW) -> None:
        # a network method's recorder samples crops and skin with the network path's tracker; a
        # classical method's samples skin with its own (flow between detections)
        self.recorder = Pipeline(method, fallback="pos" if method != "pos" else None, gate_db=-np.inf,
                                 network_redetect_s=redetect_s, network_follow=follow)
        self.store: dict[str, list] = {}

    def of(self, key: str, open_frames) -> list:
        if key not in self.store:
            self.recorder.reset()
            with open_frames() as source:
                self.store[key] = [self.recorder.observe(frame) for frame in source]
        return self.store[key]


class Replay:
    """What ``rppg.evaluation.evaluate_clip`` needs of a pipeline, served from recorded observations."""

    def __init__(self, pipeline: Pipeline, observations: list) -> None:
        self.pipeline, self.observations = pipeline, observations

    def process_clip(self, source) -> object:
        return self.pipeline.process_observations(self.observations)


def live_readings(pipeline: Pipeline, observations: list) -> list:
    return pipeline.process_observations(observations).readings


def score_set(pipeline: Pipeline, clips: list, obs: Observations) -> dict:
    entries = [evaluate_clip(clip, Replay(pipeline, obs.of(f"{clip.id}:{id(clip)}", clip.open_source)))[0]
               for clip in clips]
    return {"summary": summarize(entries), "clips": entries}


def pos_real_faces(cache: Path, videos: list[str], obs: Observations) -> dict[str, list]:
    """POS's live readings on each real-face video as (bpm, quality) pairs, computed once and cached."""
    if cache.is_file():
        stored = json.loads(cache.read_text())
        if sorted(stored) == videos:
            return {v: [Pair(*r) for r in rs] for v, rs in stored.items()}
    pipeline = pipeline_for("pos", None)
    try:
        out = {v: [Pair(r.bpm, float(r.quality)) for r in live_readings(pipeline, real_face(obs, v))]
               for v in videos}
    finally:
        pipeline.close()
    cache.write_text(json.dumps({v: [[p.bpm, p.quality] for p in rs] for v, rs in out.items()}))
    return out


def real_face(obs: Observations, name: str) -> list:
    return obs.of(f"real_faces/{name}", lambda: open_source(str(REAL_FACES / name)))


def real_faces_scores(method: str, weights: str | None, pos_readings: dict[str, list], obs: Observations) -> dict:
    """Agreement with POS on POS-clean windows, and reading-to-reading stability, over real_faces."""
    pipeline = pipeline_for(method, weights)
    agree, clean, changes = [], 0, []
    try:
        for name, pos in pos_readings.items():
            mine = live_readings(pipeline, real_face(obs, name))
            bpm = [r.bpm for r in mine]
            changes += [abs(a - b) for a, b in zip(bpm[1:], bpm[:-1], strict=False) if a is not None and b is not None]
            for r, p in zip(mine, pos, strict=False):
                if p.bpm is None or p.quality < POS_CLEAN_DB:
                    continue
                clean += 1
                agree.append(r.bpm is not None and abs(r.bpm - p.bpm) <= AGREE_BPM)
    finally:
        pipeline.close()
    return {"pos_clean_windows": clean, "agree_within3_share": float(np.mean(agree)) if agree else None,
            "median_change_bpm": float(np.median(changes)) if changes else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "heldout", help="folder for the held-out sets")
    parser.add_argument("--only", nargs="*", default=None, help="evaluate only these variants (others kept)")
    parser.add_argument("--json", type=Path, default=ROOT / "models" / "evaluation.json")
    parser.add_argument("--network-redetect", type=float, default=NETWORK_REDETECT_S,
                        help="seconds between face detections on the networks' path (0: every frame; more: "
                             "the box is held or follows the flow in between); the default is what the product runs")
    parser.add_argument("--network-follow", choices=("hold", "flow"), default=NETWORK_FOLLOW,
                        help="how the networks' box moves between detections (default: %(default)s)")
    args = parser.parse_args()
    sets = heldout_sets(args.out)
    results = json.loads(args.json.read_text()).get("networks", {}) if args.json.is_file() else {}
    videos = sorted(p.name for p in REAL_FACES.glob("*.mp4")) if REAL_FACES.is_dir() else []
    recorders = {"network": Observations("student", args.network_redetect, args.network_follow),
                 "classical": Observations("pos")}
    pos_readings = pos_real_faces(args.out / "pos_real_faces.json", videos, recorders["classical"])
    datasets = {name: load_dataset(folder, "ubfc") for name, folder in sets.items()}
    datasets["real_clip"] = load_dataset(REAL_CLIP, "recording")
    for name, (method, weights) in VARIANTS.items():
        if args.only and name not in args.only:
            continue
        seed_run = shipped_seed(method) if weights is None else None
        if seed_run and seed_run in results:  # the shipped file is that seed's file: same numbers
            results[name] = dict(results[seed_run], method=method, weights=None, same_as=seed_run)
            save(args.json, name, results[name])
            continue
        if weights and not (ROOT / weights).is_file():
            print(f"skip {name}: {weights} not found", file=sys.stderr)
            continue
        began = time.time()
        entry: dict = {"method": method, "weights": weights, "network_redetect_s": args.network_redetect,
                       "network_follow": args.network_follow}
        obs = recorders["classical" if method in ("pos", "chrom", "green") else "network"]
        pipeline = pipeline_for(method, weights)
        try:
            for set_name, clips in datasets.items():
                report = score_set(pipeline, clips, obs)
                s = report["summary"]
                entry[set_name] = {k: s.get(k) for k in ("n_clips", "mae", "window_mae", "window_rmse",
                                                          "window_within5", "window_pearson", "window_coverage")}
                if set_name == "real_clip":
                    entry[set_name]["hr_est"] = report["clips"][0]["hr_est"]
                    entry[set_name]["hr_ref"] = report["clips"][0]["hr_ref"]
        finally:
            pipeline.close()
        if videos:
            entry["real_faces"] = real_faces_scores(method, weights, pos_readings, obs)
        entry["eval_seconds"] = round(time.time() - began, 1)
        results[name] = entry
        between = "optical flow in between" if args.network_follow == "flow" else "the box held in between"
        tracking = ("face detected on every frame" if not args.network_redetect
                    else f"face detected every {args.network_redetect:g} s, {between}")
        protocol = ("network alone (--fallback none --no-gate), live per-window path, 10 s windows, 1 s step; "
                    f"{tracking}; "
                    f"held-out synthetic: {SET_CLIPS} clips x {SET_SECONDS:g} s per set, seeds {SETS}; real faces: "
                    f"POS-clean = POS SNR >= {POS_CLEAN_DB} dB, agreement within {AGREE_BPM} bpm; "
                    f"model rate {MODEL_FPS:g} Hz")
        flag = f" --network-redetect {args.network_redetect:g}" if args.network_redetect != NETWORK_REDETECT_S else ""
        flag += f" --network-follow {args.network_follow}" if args.network_follow != NETWORK_FOLLOW else ""
        save(args.json, name, entry, networks_command=f"python scripts/evaluate_networks.py{flag}",
             networks_protocol=protocol)
        print(f"{name}: real clip window MAE {entry['real_clip']['window_mae']}, "
              f"typical {entry['typical']['window_mae']}, random {entry['random']['window_mae']}, "
              f"real faces {entry.get('real_faces')} ({entry['eval_seconds']} s)", file=sys.stderr)


if __name__ == "__main__":
    main()

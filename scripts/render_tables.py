"""Render the accuracy tables of README.md and models/README.md from models/evaluation.json and the cards.

Each table sits between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` markers and is
replaced whole, so no number in those tables is typed by hand:

    python scripts/render_tables.py
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
DOCS = (ROOT / "README.md", ROOT / "models" / "README.md")


def fmt(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _get(entry: dict, *path):
    for key in path:
        if entry is None:
            return None
        entry = entry.get(key)
    return entry


#: Rows of the main accuracy table: (variant in models/evaluation.json, label).
NETWORK_ROWS = (
    ("student", "student"), ("student_nokd", "student_nokd"), ("teacher", "teacher"),
    ("steps2000_student_seed1", "student seed 1 at 2,000 steps (shipped before)"),
    ("steps2000_student_nokd_seed1", "student_nokd seed 1 at 2,000 steps (shipped before)"),
    ("no_sway_student_seed1", "student before (trained without sway)"),
    ("previous_data_student_screened_400", "student before that (400 clips, no GRID speakers)"),
    ("previous_data_teacher_screened_400", "teacher before (400 clips, no GRID speakers)"),
    ("previous_data_student_screened_160", "student earlier (160 clips, no weight average)"),
    ("previous_data_teacher_screened_160", "teacher earlier (160 clips, no weight average)"),
    ("pos", "pos"), ("chrom", "chrom"),
)


def networks_table(nets: dict) -> str:
    rows = ["| estimator | typical: window MAE | random: window MAE | real clip: window MAE | real clip: "
            "whole clip (ref) | real faces: agree with clean POS (windows) | real faces: median change |",
            "|---|---|---|---|---|---|---|"]
    for name, label in NETWORK_ROWS:
        e = nets.get(name)
        if not e:
            continue
        rc = e["real_clip"]
        rf = e.get("real_faces") or {}
        rows.append(f"| {label} | {fmt(e['typical']['window_mae'])} | {fmt(e['random']['window_mae'])} | "
                    f"{fmt(rc['window_mae'])} | {fmt(rc.get('hr_est'), 1)} ({fmt(rc.get('hr_ref'), 1)}) | "
                    f"{fmt(rf.get('agree_within3_share'))} ({rf.get('pos_clean_windows', '-')}) | "
                    f"{fmt(rf.get('median_change_bpm'))} |")
    return "\n".join(rows)


#: Scores of the networks on crops from other trackers than the shipped one (evaluate_networks.py --json).
TRACKING_DOCS = ("docs/network_tracking.json", "docs/network_tracking_hold.json")


def _tracking(entry: dict) -> str:
    every = entry.get("network_redetect_s") or 0.0
    if not every:
        return "BlazeFace on every frame"
    between = "box held between (every frame while the face moves)" if entry.get("network_follow") == "hold" \
        else "optical flow between"
    return f"BlazeFace every {every:g} s, {between}"


def _tracking_cells(entries: list[dict]) -> list[str]:
    """Typical, random and real-clip window MAE and real-face agreement: one entry's values, or the
    mean of several."""
    cells = []
    for path in (("typical", "window_mae"), ("random", "window_mae"), ("real_clip", "window_mae"),
                 ("real_faces", "agree_within3_share")):
        values = [v for v in (_get(e, *path) for e in entries) if v is not None]
        cells.append(fmt(float(np.mean(values))) if values else "-")
    return cells


def tracking_table(nets: dict) -> str:
    """The networks on crops from each tracker: as shipped (models/evaluation.json, detection on every
    frame) and with the trackers of TRACKING_DOCS, network by network, then the mean over the
    networks each tracker was scored on."""
    docs = [d.get("networks", {}) for d in (_doc(p) for p in TRACKING_DOCS) if d is not None]
    if not docs:
        return ""
    names = [n for n in nets if any(n in d for d in docs)]
    rows, by_tracker = [], {}
    for name in names:
        for entry in [nets[name]] + [d[name] for d in docs if name in d]:
            tracking = _tracking(entry)
            by_tracker.setdefault(tracking, []).append(entry)
            rows.append(f"| {name} | {tracking} | " + " | ".join(_tracking_cells([entry])) + " |")
    for tracking, entries in by_tracker.items():
        rows.append(f"| mean of {len(entries)} networks | {tracking} | " + " | ".join(_tracking_cells(entries)) + " |")
    return _table(["network", "crops tracked by", "typical: window MAE", "random: window MAE",
                   "real clip: window MAE", "real faces: agree with clean POS"], rows)


def _mean_sd(values: list) -> str:
    v = [x for x in values if x is not None]
    if not v:
        return "-"
    return f"{np.mean(v):.2f} ± {np.std(v, ddof=1) if len(v) > 1 else 0.0:.2f} (n={len(v)})"


def _card(entry: dict) -> dict | None:
    """The model card next to a scored network's weights, when there is one."""
    weights = entry.get("weights") or f"models/{entry.get('method')}.safetensors"  # None: the shipped file
    card = ROOT / Path(weights).with_suffix(".json")
    return json.loads(card.read_text()) if card.is_file() else None


def _card_steps(entry: dict) -> str:
    """The optimiser steps of a scored network, from its card."""
    card = _card(entry)
    return f"{card['steps']:,}" if card else "-"


def _card_validation(entry: dict) -> str:
    """A scored network's validation MAE at its chosen step, from its card."""
    card = _card(entry)
    if not card:
        return "-"
    windows = card["validation"].get("val_windows")
    where = f"step {card['best_step']:,}" + (f", {windows} windows" if windows else "")
    return f"{fmt(card['validation']['val_mae'])} ({where})"


def seeds_table(nets: dict) -> str:
    rows = ["| network | typical: window MAE | random: window MAE | real clip: window MAE | "
            "real faces: agree with clean POS | steps per seed |", "|---|---|---|---|---|---|"]
    for label, prefix in (("student (distilled)", "student_seed"), ("student_nokd", "student_nokd_seed"),
                          ("student (distilled), before sway", "no_sway_student_seed"),
                          ("student_nokd, before sway", "no_sway_student_nokd_seed")):
        runs = [nets[k] for k in sorted(nets) if k.startswith(prefix)]
        if not runs:
            continue
        cols = [_mean_sd([_get(r, s, "window_mae") for r in runs]) for s in ("typical", "random", "real_clip")]
        cols.append(_mean_sd([_get(r, "real_faces", "agree_within3_share") for r in runs]))
        cols.append(", ".join(_card_steps(r) for r in runs))
        rows.append(f"| {label} | " + " | ".join(cols) + " |")
    return "\n".join(rows)


#: The ablation ladder of student_nokd, seed 1: (label, variant in models/evaluation.json).
ABLATION_STEPS = (
    ("unscreened clips + label-free losses on real faces", "previous_data_label_free"),
    ("unscreened clips, synthetic only", "previous_data_synthetic_only"),
    ("screened clips (160)", "previous_data_screened_160"),
    ("screened clips (160), weight average", "ablation_160_clips"),
    ("screened clips (400), no weight average", "ablation_no_average"),
    ("screened clips (400), weight average, 1,500 steps", "previous_data_screened_400"),
    ("screened clips (400), weight average, 2,000 steps", "ablation_no_grid"),
    ("400 clips + 240 flow-tracked clips of GRID speakers, 2,000 steps", "no_sway_student_nokd_seed1"),
    ("the same + sway of the face in the crop, validated on training-like clips, 2,000 steps",
     "steps2000_student_nokd_seed1"),
    ("the same, trained on to 6,000 steps (shipped recipe)", "student_nokd_seed1"),
)


#: Seed 1 of each student after 2,000 steps and after training further: (label, variant).
STEPS_ROWS = (("student (distilled)", "steps2000_student_seed1", "student_seed1"),
              ("student_nokd", "steps2000_student_nokd_seed1", "student_nokd_seed1"))


def _score_cells(e: dict) -> str:
    """A network's held-out cells: typical, random and real-clip window MAE, real-face agreement
    with clean POS, median change."""
    return " | ".join(fmt(v) for v in (e["typical"]["window_mae"], e["random"]["window_mae"],
                                         e["real_clip"]["window_mae"], _get(e, "real_faces", "agree_within3_share"),
                                         _get(e, "real_faces", "median_change_bpm")))


def steps_table(nets: dict) -> str:
    """What training longer did: seed 1 of each student at 2,000 steps and at its current length."""
    rows = []
    for label, before, after in STEPS_ROWS:
        for key in (before, after):
            e = nets.get(key)
            if e:
                rows.append(f"| {label} | {_card_steps(e)} | {_score_cells(e)} |")
    return _table(["seed 1 of", "steps", "typical: window MAE", "random: window MAE", "real clip: window MAE",
                   "real faces: agree with clean POS", "real faces: median change"], rows)


#: The label-free fine-tuning experiment: (label, variant), all started from the shipped student_nokd.
LABEL_FREE_ROWS = (
    ("shipped student_nokd (seed 3, 6,000 steps): the start", "student_nokd_seed3"),
    ("+ 1,500 steps on the synthetic clips only (the control)", "ablation_finetune_control"),
    ("+ 1,500 steps on the synthetic clips and label-free losses on real faces", "ablation_finetune_label_free"),
)


#: Seeds of the distilled student from the shipped teacher and from the longer teacher part-way.
TEACHER_ROWS = (
    ("the shipped teacher (1,000 steps)", "teacher"),
    ("teacher_long at its step 3,200 (4,200 in all)", "teacher_long_step3200"),
    ("seed 1 distilled from the shipped teacher (1,000 steps)", "student_seed1"),
    ("seed 1 distilled from teacher_long at its step 1,800 (2,800 in all)", "ablation_interim_teacher"),
    ("seed 1 distilled from teacher_long at its step 3,200 (4,200 in all)", "ablation_teacher3200_seed1"),
    ("seed 2 distilled from the shipped teacher (1,000 steps; the shipped student)", "student_seed2"),
    ("seed 2 distilled from teacher_long at its step 3,200 (4,200 in all)", "ablation_teacher3200_seed2"),
)


def variants_table(nets: dict, variants: tuple[tuple[str, str], ...]) -> str:
    """One row per (label, variant): its validation MAE from the card and its held-out scores."""
    rows = []
    for label, key in variants:
        e = nets.get(key)
        if e:
            rows.append(f"| {label} | {_card_validation(e)} | {_score_cells(e)} |")
    return _table(["network", "validation MAE (chosen step)", "typical: window MAE", "random: window MAE",
                   "real clip: window MAE", "real faces: agree with clean POS", "real faces: median change"], rows)


def ablation_table(nets: dict) -> str:
    rows = ["| student_nokd, seed 1 | typical: window MAE | random: window MAE | real clip: window MAE | "
            "real faces: agree with clean POS | real faces: median change |", "|---|---|---|---|---|---|"]
    for label, key in ABLATION_STEPS:
        e = nets.get(key)
        if not e:
            continue
        rows.append(f"| {label} | {fmt(e['typical']['window_mae'])} | {fmt(e['random']['window_mae'])} | "
                    f"{fmt(e['real_clip']['window_mae'])} | {fmt(_get(e, 'real_faces', 'agree_within3_share'))} | "
                    f"{fmt(_get(e, 'real_faces', 'median_change_bpm'))} |")
    return "\n".join(rows)


def validation_table(doc: dict) -> str:
    """Every variant on one validation bank (scripts/score_validation.py)."""
    v = doc.get("validation")
    if not v:
        return "-"
    rows = [f"| {name} | {fmt(e['val_mae'])} | {e['val_within5']:.0%} |" for name, e in sorted(v["scores"].items())]
    return (f"`{v['command']}`: {v['windows']} windows of 10 s ({v['bank']}).\n\n"
            + _table(["network", "validation MAE", "within 5 bpm"], rows))


def _doc(relative: str) -> dict | None:
    """A measured JSON file of the repository, or None when it has not been written yet."""
    path = ROOT / relative
    return json.loads(path.read_text()) if path.is_file() else None


def _table(columns: list[str], rows: list[str]) -> str:
    return "\n".join(["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns), *rows])


def bank_table() -> str:
    """The training banks, with how much of their pulse POS finds (models/training_data.json)."""
    banks = _doc("models/training_data.json") or {}
    return _table(["bank", "clips", "10 s windows", "POS within 5 bpm", "POS window MAE", "median pulse visibility"],
                  [f"| {label} (v{b['bank_version']}) | {b['clips']} | {b['windows']} | {b['pos_right_share']:.0%} | "
                   f"{fmt(b['pos_window_mae'])} | {fmt(b['visibility_median'])} |" for label, b in banks.items()])


def trust_table() -> str:
    """No-pulse, turned and shrunk clips through the default pipeline (docs/trust_bench.json)."""
    doc = _doc("docs/trust_bench.json")
    if doc is None:
        return ""
    rows = []
    for name, e in doc["sets"].items():
        reasons = ", ".join(f"{k}: {v}" for k, v in e["reasons"].items() if k != "None") or "-"
        rows.append(f"| {name} | {e['readings']} | {e['with_bpm']} | {e['share_with_bpm']:.0%} | "
                    f"{fmt(e['max_error_bpm'])} | {reasons} |")
    return (f"Default pipeline: {doc['method']} with the {doc['fallback']} fallback, confidence >= "
            f"{doc['threshold']}, MIN_FACE_PX {doc['min_face_px']:g}.\n\n" +
            _table(["set", "readings", "with a bpm", "share with a bpm", "largest error (bpm)", "reasons for null"],
                   rows))


def face_size_table() -> str:
    """The real clip shrunk step by step, every window answered (docs/face_size.json)."""
    doc = _doc("docs/face_size.json")
    if doc is None:
        return ""
    return _table(["video size", "face box (px)", "windows", "window MAE (bpm)", "largest error (bpm)"],
                  [f"| {e['size'][0]}x{e['size'][1]} | {e['face_px']:.0f} | {e['windows']} | {fmt(e['mae_bpm'])} | "
                   f"{fmt(e['max_error_bpm'])} |" for e in doc["sizes"]])


def calibration_table() -> str:
    """The quality model's operating point, fitted and with each clip left out (docs/quality_calibration.json)."""
    doc = _doc("docs/quality_calibration.json")
    if doc is None:
        return ""
    rows = []
    for label, key in (("fitted on all clips (shipped)", "operating_point"),
                       ("each clip left out", "held_out_at_operating_point")):
        op = doc[key]
        rows.append(f"| {label} | {op['threshold']:.2f} | {op['pulse_answered']:.0%} | {op['pulse_right']:.0%} | "
                    f"{op['nopulse_answered']:.0%} | {op['risk']:.0%} |")
    return (f"{doc['clips']} clips, {doc['windows']} windows; default: {doc['method']} with the "
            f"{doc['fallback']} fallback. Targets: at most {doc['targets']['max_risk']:.0%} of answered windows "
            f"wrong, at most {doc['targets']['max_nopulse']:.0%} of no-pulse windows answered.\n\n" +
            _table(["model", "threshold", "pulse windows answered", "answered and right", "no-pulse windows answered",
                    "wrong among answered"], rows))


def bench_table() -> str:
    """Speed, stages and memory from ``rppg bench --json scripts/results/bench.json``."""
    from performance_table import bench_tables

    doc = _doc("scripts/results/bench.json")
    if doc is None:
        return ""
    load = doc.get("load_average")
    note = (f"Measured on {doc.get('cpu_count', '?')} cores; student network {doc['student_speedup']:.1f}x faster "
            f"than the teacher on a {doc['window_frames']}-frame window; receptive fields measured by gradient: "
            f"student {doc['student_receptive_field_s']:.1f} s, teacher {doc['teacher_receptive_field_s']:.1f} s; "
            f"load average during the run: {load if load is not None else '?'}.")
    return note + "\n\n" + "\n".join(bench_tables(doc)).rstrip()


def daemon_memory_table() -> str:
    """The headless daemon's memory and start-up, from the wheel (deploy/daemon_memory.json)."""
    doc = _doc("deploy/daemon_memory.json")
    if doc is None:
        return ""
    rows = [f"| {name} | {', '.join(r['installed_extras']) or '-'} | {r['spawn_to_serving_s']:.2f} | "
            f"{r['engine_first_frame_s']:.2f} | {r['rss_mb_at_first_frame']:.0f} | {r['rss_mb_max']:.1f} | "
            f"{r['rss_mb_last']:.1f} | {r['readings']} | {r['sigterm_exit_code']} after {r['sigterm_exit_s']:.2f} s |"
            for name, r in doc["runs"].items()]
    return (f"{doc['machine']['cpus']} cores, load average {doc['machine']['load_average_1min_at_end']} at the end.\n\n"
            + _table(["install", "optional packages present", "spawn to serving (s)", "engine to first frame (s)",
                      "MB at first frame", "MB peak", "MB at the end", "readings", "SIGTERM"], rows))


def soak_table() -> str:
    """One hour of the daemon on a source that drops out (docs/soak_summary.json)."""
    d = _doc("docs/soak_summary.json")
    if d is None:
        return ""
    t = d["targets"]
    rows = [f"| readings back after a return (s), max over {d['returns']} returns | {d['readings_back_s_max']} | "
            f"<= {t['readings_back_s_max']} |",
            f"| resident MB: after 1 min / peak / end | {d['rss_mb_at_1_min']:.1f} / "
            f"{d['rss_mb_max_after_1_min']:.1f} / {d['rss_mb_last']:.1f} | - |",
            f"| growth: last 10 min's peak over the peak of minutes 1-11 (MB) | {d['rss_mb_peak_growth']:.1f} | "
            f"<= {t['rss_mb_peak_growth_max']} |",
            f"| growth after the first minute: the later peak over the peak of minute 2 (MB) | "
            f"{d['rss_mb_growth_after_1_min']:.1f} | <= {t['rss_mb_growth_after_1_min_max']} |",
            f"| the later peak over one sample at 1 min (MB; counts a reading's scratch as growth) | "
            f"{d['rss_mb_sample_to_peak_after_1_min']:.1f} | - |",
            f"| threads: at 1 min / min / max / end | {d.get('threads_at_1_min', '-')} / {d['threads_min']} / "
            f"{d['threads_max']} / {d['threads_last']} | end <= at 1 min + "
            f"{d['targets'].get('threads_growth_max', 2)} |",
            f"| readings / with a bpm / lost | {d['readings']} / {d['readings_with_bpm']} / {d['readings_lost']} | - |",
            f"| SIGTERM | exit {d['sigterm_exit_code']} after {d['sigterm_exit_s']} s | exit 0 |"]
    trace = "" if not d.get("rss_trace") else "\n\n![resident memory over the soak](docs/soak_memory.png)"
    return (f"`{d['command']}`, {d['minutes']:.0f} min, {'passed' if d['passed'] else 'not passed'}.\n\n"
            + _table(["measure", "measured", "target"], rows) + trace)


def cards_table() -> str:
    """The shipped networks' cards: size, training (clips, steps, time) and validation."""
    rows = []
    for name in ("teacher", "student", "student_nokd"):
        path = ROOT / "models" / f"{name}.json"
        if not path.is_file():
            continue
        c = json.loads(path.read_text())
        v, d = c["validation"], c["config"]["data"]
        clips = c.get("train_clips_kept", d["train_clips"])
        rows.append(f"| {name} | {c['n_params']:,} | {c['flops_per_300_frames'] / 1e6:.0f} | {clips} | "
                    f"{c['steps']} | {c['batch_size']} | {c['config'].get('ema', 0) or '-'} | "
                    f"{c['wall_time_s'] / 60:.0f} | {fmt(v.get('val_mae'))} ({v.get('val_windows', '-')}) | "
                    f"{fmt(c['validation_baseline'].get('noise_mae'))} | {c['config'].get('seed')} |")
    return _table(["network", "parameters", "MFLOPs / 300 frames", "training clips", "steps", "batch",
                   "weight average (decay)", "wall time (min)", "best val MAE (windows)", "noise baseline",
                   "seed"], rows)


def render(text: str, tables: dict[str, str]) -> str:
    for name, body in tables.items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
        text = pattern.sub(lambda m, b=body: m.group(1) + b + "\n" + m.group(2), text)
    return text


def main() -> None:
    doc = json.loads((ROOT / "models" / "evaluation.json").read_text())
    nets = doc.get("networks", {})
    tables = {"networks_protocol": doc.get("networks_protocol", "-"),
              "networks_table": networks_table(nets), "seeds_table": seeds_table(nets),
              "steps_table": steps_table(nets),
              "validation_table": validation_table(doc),
              "ablation_table": ablation_table(nets), "label_free_table": variants_table(nets, LABEL_FREE_ROWS),
              "teacher_table": variants_table(nets, TEACHER_ROWS),
              "tracking_table": tracking_table(nets),
              "cards_table": cards_table(),
              "bank_table": bank_table(), "trust_table": trust_table(),
              "calibration_table": calibration_table(), "face_size_table": face_size_table(),
              "bench_table": bench_table(), "daemon_memory_table": daemon_memory_table(),
              "soak_table": soak_table()}
    for path in DOCS:
        path.write_text(render(path.read_text(), tables))
        print(f"rendered {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

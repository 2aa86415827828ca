"""Accuracy over a dataset with reference pulse (MAE, RMSE, MAPE, Pearson r, SNR, plots).

Writes a JSON report::

    {"summary": {"n_clips", "mae", "rmse", "mape", "pearson", "within5", "snr", "coverage",
                 "window_mae", "window_rmse", "window_mape", "window_pearson", "window_within5",
                 "window_coverage", "method", "format", "realtime_factor", "window_s", "step_s", "band"},
     "clips": [{"id", "hr_ref", "hr_est", "snr", "quality", "face_fraction", "duration_s",
                "window_mae", ... "window_coverage",
                "windows": [{"start", "end", "hr_ref", "hr_est", "quality", "snr"}]}]}

Whole-clip metrics pair each clip's single estimate with its reference; window
metrics pool every window of every clip. Errors skip withheld estimates (null);
``coverage`` is the share that was not withheld. ``snr`` is the estimate's SNR at
the reference heart rate (dB), ``quality`` the estimator's own SNR at its peak.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rppg.constants import QUALITY_GATE_DB, STEP_SECONDS, WINDOW_SECONDS
from rppg.datasets import FORMATS, load_dataset
from rppg.errors import ConfigError, RppgError
from rppg.evaluation import evaluate_clips
from rppg_app.common_args import add_method_arguments, add_tracking_arguments, check_method_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", metavar="DATASET", help="dataset folder (or a single clip's folder)")
    parser.add_argument("--format", required=True, choices=tuple(FORMATS), help="dataset layout")
    add_method_arguments(parser)
    add_tracking_arguments(parser)
    parser.add_argument("--json", required=True, metavar="OUT.json", help="where to write the report")
    parser.add_argument("--plots", default=None, metavar="DIR",
                        help="also write Bland-Altman, scatter and per-clip HR-over-time PNGs here")
    parser.add_argument("--window", type=float, default=WINDOW_SECONDS, help="window length in seconds")
    parser.add_argument("--step", type=float, default=STEP_SECONDS, help="window step in seconds")
    parser.add_argument("--no-gate", action="store_true",
                        help="score every window, also those the quality gate would withhold (pure accuracy)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _fmt(value: float | None, width: int = 7, digits: int = 2) -> str:
    return "-".rjust(width) if value is None else f"{value:{width}.{digits}f}"


def summary_table(report: dict[str, Any]) -> str:
    """A few lines a person reads: per clip, then whole-clip and window metrics."""
    s = report["summary"]
    width = max([len("clip")] + [len(c["id"]) for c in report["clips"]])
    lines = [f"{'clip':<{width}}  {'ref':>6}  {'est':>6}  {'snr dB':>6}  {'win MAE':>7}  {'face':>5}"]
    for c in report["clips"]:
        lines.append(f"{c['id']:<{width}}  {_fmt(c['hr_ref'], 6, 1)}  {_fmt(c['hr_est'], 6, 1)}  "
                     f"{_fmt(c['snr'], 6, 1)}  {_fmt(c['window_mae'])}  {_fmt(c['face_fraction'], 5)}")
    n_windows = sum(len(c["windows"]) for c in report["clips"])
    lines += [
        "",
        f"{s['method']} on {s['n_clips']} {s['format']} clip(s), {n_windows} windows "
        f"of {s['window_s']:g} s; realtime factor {_fmt(s['realtime_factor'], 0, 1)}x",
        f"{'':<12}{'MAE':>7}{'RMSE':>7}{'MAPE%':>7}{'r':>7}{'<=5bpm':>8}{'coverage':>9}",
    ]
    for label, prefix in (("whole clip", ""), ("windows", "window_")):
        m = {name: s[prefix + name] for name in ("mae", "rmse", "mape", "pearson", "within5", "coverage")}
        lines.append(f"{label:<12}{_fmt(m['mae'])}{_fmt(m['rmse'])}{_fmt(m['mape'])}"
                     f"{_fmt(m['pearson'], 7, 3)}{_fmt(m['within5'], 8)}{_fmt(m['coverage'], 9)}")
    lines.append(f"mean SNR at reference HR: {_fmt(s['snr'], 0)} dB")
    return "\n".join(lines)


def _write_json(report: dict[str, Any], path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    except OSError as exc:
        raise RppgError(f"cannot write {path}: {exc.strerror}") from None


def run(args: argparse.Namespace) -> int:
    if args.window <= 0 or args.step <= 0:
        raise ConfigError(f"--window and --step must be positive (got {args.window:g} and {args.step:g})")
    check_method_arguments(args)
    clips = load_dataset(args.dataset, args.format)
    from rppg.pipeline import Pipeline  # after the dataset check: bad paths fail before models load

    pipeline = Pipeline(args.method, args.weights, args.backend, band=tuple(args.band),
                        window_s=args.window, step_s=args.step, detector=args.detector, roi=args.roi,
                        fallback=args.fallback, gate_db=-float("inf") if args.no_gate else QUALITY_GATE_DB)
    try:
        report = evaluate_clips(clips, pipeline, window_s=args.window, step_s=args.step,
                                band=tuple(args.band), progress=not args.no_progress,
                                method=args.method, dataset_format=args.format)
    finally:
        pipeline.close()
    report["summary"]["detector"], report["summary"]["roi"] = args.detector, args.roi
    report["summary"]["gate_db"] = None if args.no_gate else pipeline.gate_db
    report["summary"]["fallback"] = args.fallback
    out = Path(args.json)
    _write_json(report, out)
    print(summary_table(report))
    print(f"report: {out}")
    if args.plots:
        from rppg_app.plots import write_plots  # matplotlib only when asked for

        written = write_plots(report, args.plots)
        print(f"plots: {len(written)} PNG files in {args.plots}")
    return 0

"""Calibrate the signal-quality model: windows with and without a pulse -> logistic coefficients,
a risk-coverage curve and the default operating point.

    python scripts/calibrate_quality.py            # student + POS fallback, the CLI default

Positives: synthetic faces with a pulse in typical conditions and with every nuisance randomised
(rppg.synth), and the real clip tests/data/physrecorder_v01. Negatives: the same typical synthetic
faces with no pulse, and still frames of real faces (../shared/data) animated with sway, light
drift, noise and JPEG compression. A window is "right" when its tracked bpm is within 5 bpm of
the truth; any bpm on a no-pulse clip is wrong. The model is fitted on every clip, each kind of
clip weighted equally. Its operating point comes from the curve of the same model fitted with
each clip left out (no window scored by a model that saw its clip): the lowest threshold whose
risk and no-pulse answer rate stay under the targets there. Reads whatever weights are in models/.

Writes rppg/signal/quality_model.json, docs/quality_calibration.json, docs/quality_risk_coverage.png.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from trust_data import ROOT, TestClip, cached, real_clip, run_clip, still, synthetic

from rppg.pipeline import Pipeline
from rppg.signal.quality import FEATURES, MODEL_PATH

RIGHT_BPM = 5.0


def fit_logistic(x: np.ndarray, y: np.ndarray, weight: np.ndarray, l2: float = 1.0,
                 iterations: int = 50) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Weighted L2 logistic regression by Newton's method on standardised features (NaN = average).
    Returns (weights, bias, mean, std)."""
    mean, std = np.nanmean(x, axis=0), np.nanstd(x, axis=0) + 1e-9
    z = np.where(np.isfinite(x), (x - mean) / std, 0.0)
    a = np.hstack([z, np.ones((len(z), 1))])
    beta = np.zeros(a.shape[1])
    reg = l2 * np.eye(a.shape[1])
    reg[-1, -1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-a @ beta))
        grad = a.T @ (weight * (p - y)) + reg @ beta
        hess = (a * (weight * p * (1 - p))[:, None]).T @ a + reg
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta[:-1], float(beta[-1]), mean, std


def predict(model: tuple, x: np.ndarray) -> np.ndarray:
    w, b, mean, std = model
    z = np.where(np.isfinite(x), (x - mean) / std, 0.0)
    return 1.0 / (1.0 + np.exp(-(z @ w + b)))


def group_weights(groups: np.ndarray) -> np.ndarray:
    """Each group (synthetic/real, pulse/none) weighs the same in total, whatever its window count."""
    out = np.zeros(len(groups))
    for g in np.unique(groups):
        out[groups == g] = len(groups) / (len(np.unique(groups)) * (groups == g).sum())
    return out


def curve(confidence: np.ndarray, right: np.ndarray, pulse: np.ndarray, thresholds: np.ndarray) -> list[dict]:
    """Per threshold: coverage (share of all windows answered), risk (share of the answered that are
    wrong), and the answered shares of pulse and no-pulse windows."""
    rows = []
    for t in thresholds:
        answered = confidence >= t
        n = answered.sum()
        rows.append({"threshold": round(float(t), 4), "coverage": float(answered.mean()),
                     "answered_n": int(n), "nopulse_n": int((~pulse).sum()),
                     "risk": float((~right[answered]).mean()) if n else 0.0,
                     "pulse_answered": float(answered[pulse].mean()) if pulse.any() else 0.0,
                     "pulse_right": float((answered & right)[pulse].mean()) if pulse.any() else 0.0,
                     "nopulse_answered": float(answered[~pulse].mean()) if (~pulse).any() else 0.0})
    return rows


#: One-sided 95 % normal quantile: the operating point must meet the targets with this confidence.
Z_95 = 1.645


def upper_bound(share: float, n: int, z: float = Z_95) -> float:
    """Wilson score upper bound of a share seen in ``n`` windows: what the true rate may still be.
    A threshold that only just meets a target on a few hundred windows misses it on new video."""
    if n == 0:
        return 1.0
    centre = share + z * z / (2 * n)
    spread = z * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    return float((centre + spread) / (1 + z * z / n))


def choose(points: list[dict], max_risk: float, max_nopulse: float) -> dict:
    """The lowest threshold (most answers) whose risk and no-pulse answer rate meet the targets, each
    with 95 % confidence (Wilson upper bounds over the windows they are measured on)."""
    ok = [p for p in points if p["coverage"] > 0 and upper_bound(p["risk"], p["answered_n"]) <= max_risk
          and upper_bound(p["nopulse_answered"], p["nopulse_n"]) <= max_nopulse]
    return min(ok, key=lambda p: p["threshold"]) if ok else max(points, key=lambda p: p["threshold"])


def plot(points: list[dict], fitted: list[dict], chosen: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot([p["coverage"] for p in fitted], [p["risk"] for p in fitted], "-", color="#3070c0",
             label="model fitted on all clips")
    ax1.plot([p["coverage"] for p in points], [p["risk"] for p in points], "--", color="#80a0d0",
             label="each clip left out of the fit")
    ax1.plot(chosen["coverage"], chosen["risk"], "o", color="#e04848",
             label=f"default: confidence >= {chosen['threshold']:.2f}")
    ax1.set_xlabel("coverage (share of windows answered)")
    ax1.set_ylabel("risk: answered but wrong (> 5 bpm off, or no pulse)")
    pulse_share = chosen.get("pulse_share", 0.0)
    if pulse_share:
        ax1.axvline(pulse_share, color="#888", ls=":", label="share of windows with a pulse")
    ax1.set_title("Risk-coverage")
    ax1.legend()
    thresholds = [p["threshold"] for p in points]
    ax2.plot(thresholds, [p["pulse_right"] for p in fitted], color="#3070c0", label="pulse windows answered right")
    ax2.plot(thresholds, [p["nopulse_answered"] for p in fitted], color="#e08030", label="no-pulse windows answered")
    ax2.plot(thresholds, [p["pulse_right"] for p in points], "--", color="#3070c0", alpha=0.5,
             label="(same, clip left out)")
    ax2.plot(thresholds, [p["nopulse_answered"] for p in points], "--", color="#e08030", alpha=0.5)
    ax2.axvline(chosen["threshold"], color="#e04848", ls="--")
    ax2.set_xlabel("confidence threshold")
    ax2.set_ylabel("share of windows")
    ax2.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", default="student")
    parser.add_argument("--fallback", default="pos")
    parser.add_argument("--synth", type=int, default=12, help="synthetic faces (each with and without a pulse)")
    parser.add_argument("--hard", type=int, default=8,
                        help="synthetic faces with a pulse and every nuisance randomised (right and wrong windows)")
    parser.add_argument("--stills", type=int, default=9,
                        help="animated still real faces (the first N faces; bench_trust.py keeps the last 3)")
    parser.add_argument("--max-risk", type=float, default=0.10,
                        help="answered windows that are wrong, at most (the target: 90 %% of answers within 5 bpm)")
    parser.add_argument("--max-nopulse", type=float, default=0.05, help="no-pulse windows answered, at most")
    parser.add_argument("--model", type=Path, default=MODEL_PATH)
    parser.add_argument("--summary", type=Path, default=ROOT / "docs" / "quality_calibration.json")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "quality_risk_coverage.png")
    parser.add_argument("--cache", type=Path, default=None,
                        help="keep each clip's windows here and reuse them (clear it after changing weights)")
    parser.add_argument("--cached-only", action="store_true", help="fit on the clips already in --cache")
    parser.add_argument("--shard", default=None, metavar="K/N",
                        help="only run every N-th clip from the K-th into --cache, and stop (run N of these in "
                             "parallel, then once with --cached-only to fit)")
    args = parser.parse_args()

    clips = [real_clip()]  # interleaved, so a partial --cache holds every kind of clip
    for i in range(max(args.synth, args.stills, args.hard)):
        clips += [synthetic(100 + i, True), synthetic(100 + i, False)] if i < args.synth else []
        clips += [synthetic(400 + i, True, preset="random")] if i < args.hard else []
        clips += [still(i, 200 + i)] if i < args.stills else []
    if args.cached_only and args.cache is not None:
        clips = [c for c in clips if (args.cache / f"{c.name}.json").exists()]
    pipelines: list[Pipeline] = []  # built on first use: fitting from a full cache loads no network

    def run(clip: TestClip) -> list[dict]:
        if not pipelines:
            pipelines.append(Pipeline(args.method, fallback=args.fallback, confidence_threshold=0.0))
        return run_clip(pipelines[0], clip)

    if args.shard is not None:
        k, n = (int(v) for v in args.shard.split("/"))
        for clip in clips[k::n]:
            cached(args.cache, clip, run)
        return 0
    rows = [row for clip in clips for row in cached(args.cache, clip, run) if row["features"] is not None]
    for pipeline in pipelines:
        pipeline.close()

    x = np.array([[row["features"][f] for f in FEATURES] for row in rows], float)
    pulse = np.array([row["truth"] is not None for row in rows])
    right = np.array([row["truth"] is not None and abs(row["candidate"] - row["truth"]) <= RIGHT_BPM
                      for row in rows])
    groups = np.array([row["group"] for row in rows])
    weight = group_weights(groups)
    clips_of = np.array([row["clip"] for row in rows])

    out_of_fold = np.zeros(len(rows))  # leave one clip out: no window is scored by a model that saw its clip
    for clip in np.unique(clips_of):
        held = clips_of == clip
        model = fit_logistic(x[~held], right[~held].astype(float), weight[~held])
        out_of_fold[held] = predict(model, x[held])
    thresholds = np.round(np.arange(0.0, 1.0001, 0.01), 2)
    points = curve(out_of_fold, right, pulse, thresholds)
    final = fit_logistic(x, right.astype(float), weight)
    fitted = curve(predict(final, x), right, pulse, thresholds)
    # the operating point comes from the held-out curve: the in-sample fit flatters the model
    held_out = choose(points, args.max_risk, args.max_nopulse)
    chosen = {**next(p for p in fitted if p["threshold"] == held_out["threshold"]), "pulse_share": float(pulse.mean())}
    model_json = {"features": list(FEATURES), "weights": [round(float(v), 5) for v in final[0]],
                  "bias": round(final[1], 5), "mean": [round(float(v), 5) for v in final[2]],
                  "std": [round(float(v), 5) for v in final[3]], "threshold": chosen["threshold"],
                  "calibrated_with": {"method": args.method, "fallback": args.fallback,
                                      "script": "scripts/calibrate_quality.py"}}
    args.model.write_text(json.dumps(model_json, indent=2) + "\n")
    per_group = {g: {"windows": int((groups == g).sum()),
                     "right_candidates": float(right[groups == g].mean()),
                     "answered_held_out": float((out_of_fold[groups == g] >= chosen["threshold"]).mean()),
                     "answered_fitted": float((predict(final, x[groups == g]) >= chosen["threshold"]).mean())}
                 for g in np.unique(groups)}
    summary = {"method": args.method, "fallback": args.fallback, "clips": len(clips), "windows": len(rows),
               "right_bpm": RIGHT_BPM, "operating_point": chosen, "held_out_at_operating_point": held_out,
               "groups": per_group, "curve_held_out": points, "curve_fitted": fitted,
               "targets": {"max_risk": args.max_risk, "max_nopulse": args.max_nopulse}}
    args.summary.parent.mkdir(parents=True, exist_ok=True)
    args.summary.write_text(json.dumps(summary, indent=2) + "\n")
    plot(points, fitted, chosen, args.plot)
    print(json.dumps({"operating_point": chosen, "groups": per_group}, indent=2), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

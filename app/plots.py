"""Evaluation figures as PNG files: Bland-Altman, estimate-vs-reference scatter, HR over time.

Figures are drawn on matplotlib's Agg canvas directly (no pyplot), so nothing
global changes and no display is needed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rppg.errors import RppgError
from rppg.metrics import paired


def _figure(width: float = 6.0, height: float = 4.5) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def _pairs(windows: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """(ref, est) of the windows that have both."""
    return paired([w["hr_ref"] for w in windows], [w["hr_est"] for w in windows])


def _no_data(ax: Any, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what}", ha="center", va="center", transform=ax.transAxes)


def bland_altman(windows: list[dict[str, Any]], path: Path, title: str = "") -> Path:
    """Difference (est - ref) against the mean, with the bias and 95 % limits of agreement."""
    ref, est = _pairs(windows)
    fig, ax = _figure()
    if len(ref):
        mean, diff = (ref + est) / 2.0, est - ref
        bias, sd = float(diff.mean()), float(diff.std(ddof=1)) if len(diff) > 1 else 0.0
        ax.scatter(mean, diff, s=12, alpha=0.6)
        ax.axhline(bias, color="k", label=f"bias {bias:+.2f} bpm")
        for limit in (bias - 1.96 * sd, bias + 1.96 * sd):
            ax.axhline(limit, color="k", linestyle="--")
        ax.plot([], [], "k--", label=f"95% limits {bias - 1.96 * sd:+.2f} / {bias + 1.96 * sd:+.2f}")
        ax.margins(y=0.25)
        ax.legend(loc="upper right", fontsize=8)
    else:
        _no_data(ax, "window with both a reference and an estimate")
    ax.set_xlabel("mean of estimate and reference (bpm)")
    ax.set_ylabel("estimate - reference (bpm)")
    ax.set_title(title or "Bland-Altman (windows)")
    return _save(fig, path)


def scatter(windows: list[dict[str, Any]], path: Path, title: str = "") -> Path:
    """Estimated against reference heart rate, with the identity line."""
    ref, est = _pairs(windows)
    fig, ax = _figure(5.0, 5.0)
    if len(ref):
        lo, hi = float(min(ref.min(), est.min())) - 5, float(max(ref.max(), est.max())) + 5
        ax.plot([lo, hi], [lo, hi], "k-", linewidth=1, label="identity")
        ax.scatter(ref, est, s=12, alpha=0.6)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.legend(loc="upper left", fontsize=8)
    else:
        _no_data(ax, "window with both a reference and an estimate")
    ax.set_xlabel("reference HR (bpm)")
    ax.set_ylabel("estimated HR (bpm)")
    ax.set_title(title or "Estimate vs reference (windows)")
    return _save(fig, path)


def hr_over_time(clip: dict[str, Any], path: Path) -> Path:
    """Reference and estimated window HR against the window centre; withheld windows are gaps."""
    windows = clip["windows"]
    fig, ax = _figure(7.0, 3.5)
    if windows:
        centre = np.array([(w["start"] + w["end"]) / 2.0 for w in windows])
        as_float = np.vectorize(lambda v: np.nan if v is None else v, otypes=[float])
        ax.plot(centre, as_float([w["hr_ref"] for w in windows]), "k-", label="reference")
        ax.plot(centre, as_float([w["hr_est"] for w in windows]), "o-", markersize=3, label="estimate")
        ax.legend(loc="best", fontsize=8)
    else:
        _no_data(ax, "full window in this clip")
    ax.set_xlabel("window centre (s)")
    ax.set_ylabel("HR (bpm)")
    ax.set_title(f"{clip['id']}: heart rate over time")
    return _save(fig, path)


def _file_id(clip_id: str) -> str:
    return re.sub(r"[^\w.-]+", "_", clip_id)


def write_plots(report: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """All figures for an evaluation report; returns the files written."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RppgError(f"cannot create plot folder {out}: {exc.strerror}") from None
    windows = [w for clip in report["clips"] for w in clip["windows"]]
    label = report["summary"].get("method") or "estimate"
    written = [
        bland_altman(windows, out / "bland_altman.png", f"Bland-Altman: {label} vs reference (windows)"),
        scatter(windows, out / "scatter.png", f"{label} vs reference (windows)"),
    ]
    written += [hr_over_time(clip, out / f"hr_{_file_id(clip['id'])}.png") for clip in report["clips"]]
    return written

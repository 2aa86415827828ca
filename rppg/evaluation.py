"""Offline evaluation: run the pipeline over dataset clips and score it against the reference pulse.

The reference heart rate is measured from the reference waveform by the same
spectral estimator as the estimate (without the quality gate), on the same
time grid and the same windows, so the comparison is about the video method
and not about two different rate estimators. The device's own HR readouts
(e.g. UBFC's second line) are deliberately not used.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
from tqdm import tqdm

from rppg.constants import HR_MAX_BPM, HR_MIN_BPM, MODEL_FPS, STEP_SECONDS, WINDOW_SECONDS
from rppg.datasets import Clip
from rppg.errors import RppgError
from rppg.metrics import hr_metrics, snr_at
from rppg.signal.filters import detrend_linear, resample_uniform
from rppg.signal.hr import estimate_hr

_EPS = 1e-6
#: Same tolerance ClipTrace.heart_rate uses to select [start, end), so SNR sees the same samples.
_T_EPS = 1e-9


def _num(value: float | None, digits: int = 3) -> float | None:
    """JSON-safe number: rounded, and None for missing or non-finite values."""
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), digits)


def reference_segment(ref_times: np.ndarray, ref_bvp: np.ndarray, start: float, end: float,
                      fs: float = MODEL_FPS) -> np.ndarray:
    """The reference waveform on a uniform ``fs`` grid over [start, end], detrended."""
    _, values = resample_uniform(ref_times, ref_bvp, fs, t0=start, t1=end)
    return detrend_linear(values) if len(values) > 1 else values


def reference_hr(ref_times: np.ndarray, ref_bvp: np.ndarray, start: float, end: float,
                 band: tuple[float, float] = (HR_MIN_BPM, HR_MAX_BPM), fs: float = MODEL_FPS) -> float | None:
    """Reference heart rate over [start, end] by the estimator's own method, gate disabled."""
    return estimate_hr(reference_segment(ref_times, ref_bvp, start, end, fs), fs, band, gate_db=-np.inf).bpm


def window_starts(start: float, end: float, window_s: float, step_s: float) -> np.ndarray:
    """Start times of full ``window_s`` windows every ``step_s`` inside [start, end]."""
    if end - start + _EPS < window_s:
        return np.zeros(0)
    count = int(np.floor((end - start - window_s) / step_s + _EPS)) + 1
    return start + step_s * np.arange(count)


def _score(trace: Any, clip: Clip, start: float, end: float, band: tuple[float, float]) -> dict[str, Any]:
    """Whole-clip estimated and reference HR (and the estimate's SNR at the reference) over [start, end).

    The estimate comes from ``trace.heart_rate`` so it is gated as live readings are
    (quality gate, and withheld when the face was mostly missing).
    """
    est = trace.heart_rate(start, end, band)
    ref = reference_hr(clip.ref_times, clip.ref_bvp, start, end, band)
    inside = (trace.times >= start - _T_EPS) & (trace.times < end - _T_EPS)
    return {"hr_ref": _num(ref), "hr_est": _num(est.bpm), "quality": _num(est.quality),
            "confidence": _num(est.confidence), "estimator": est.estimator, "reason": est.reason,
            "snr": _num(snr_at(trace.bvp[inside], trace.fs, ref, band))}


def _reading_windows(trace: Any, clip: Clip, start: float, end: float,
                     band: tuple[float, float]) -> list[dict[str, Any]]:
    """One scored window per live reading whose span lies inside [start, end]: the estimate is the
    reading itself (what ``monitor`` prints), the reference is measured over the same span."""
    windows = []
    for reading in trace.readings:
        w0, w1 = reading.t - trace.window_s, reading.t
        if w0 < start - _T_EPS or w1 > end + _T_EPS:
            continue
        ref = reference_hr(clip.ref_times, clip.ref_bvp, w0, w1, band)
        shown = reading.to_json()
        extra = {k: v for k, v in shown.items() if k not in ("t", "bpm", "quality")}
        windows.append({"start": _num(w0), "end": _num(w1), "hr_ref": _num(ref),
                        "hr_est": _num(reading.bpm), "quality": _num(reading.quality),
                        "snr": _num(snr_at(reading.waveform, MODEL_FPS, ref, band)) if len(reading.waveform) else None,
                        **extra})
    return windows


def _window_metrics(windows: list[dict[str, Any]]) -> dict[str, float | None]:
    values = hr_metrics([w["hr_ref"] for w in windows], [w["hr_est"] for w in windows])
    return {f"window_{name}": _num(value, 4) for name, value in values.items()}


def evaluate_clip(clip: Clip, pipeline: Any, window_s: float = WINDOW_SECONDS, step_s: float = STEP_SECONDS,
                  band: tuple[float, float] = (HR_MIN_BPM, HR_MAX_BPM)) -> tuple[dict[str, Any], float]:
    """One clip's report entry and the wall seconds its processing took."""
    began = time.perf_counter()
    try:
        with clip.open_source() as source:
            trace = pipeline.process_clip(source)
    except RppgError as exc:
        raise type(exc)(f"{clip.id}: {exc}") from exc
    wall = time.perf_counter() - began
    times = trace.times
    entry: dict[str, Any] = {
        "id": clip.id, "hr_ref": None, "hr_est": None, "snr": None, "quality": None,
        "face_fraction": _num(trace.face_fraction, 4), "duration_s": _num(trace.duration_s),
    }
    windows: list[dict[str, Any]] = []
    if len(times) > 1:
        start, end = max(times[0], clip.ref_times[0]), min(times[-1], clip.ref_times[-1])
        if end > start:
            entry.update(_score(trace, clip, start, end + _EPS, band))
            windows = _reading_windows(trace, clip, start, end, band)
    entry.update(_window_metrics(windows))
    entry["windows"] = windows
    return entry, wall


def summarize(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Whole-clip metrics across clips, and window metrics pooled over every window of every clip."""
    clip_metrics = hr_metrics([c["hr_ref"] for c in entries], [c["hr_est"] for c in entries])
    snrs = [c["snr"] for c in entries if c["snr"] is not None]
    summary: dict[str, Any] = {"n_clips": len(entries)}
    summary.update({name: _num(value, 4) for name, value in clip_metrics.items()})
    summary["snr"] = _num(float(np.mean(snrs))) if snrs else None
    summary.update(_window_metrics([w for c in entries for w in c["windows"]]))
    return summary


def evaluate_clips(clips: Iterable[Clip], pipeline: Any,
                   window_s: float = WINDOW_SECONDS, step_s: float = STEP_SECONDS,
                   band: tuple[float, float] = (HR_MIN_BPM, HR_MAX_BPM), progress: bool = True,
                   method: str | None = None, dataset_format: str | None = None) -> dict[str, Any]:
    """The evaluation report: ``{"summary": {...}, "clips": [...]}`` (schema in the module docs of
    ``rppg_app.evaluate_command``). The pipeline is built once (networks load once) and reset per
    clip by ``process_clip``; the caller closes it."""
    clips = list(clips)
    entries: list[dict[str, Any]] = []
    clip_seconds = wall_seconds = 0.0
    for clip in tqdm(clips, desc="evaluate", unit="clip", file=sys.stderr, disable=not progress):
        entry, wall = evaluate_clip(clip, pipeline, window_s, step_s, band)
        entries.append(entry)
        clip_seconds += entry["duration_s"] or 0.0
        wall_seconds += wall
    summary = summarize(entries)
    summary["method"] = method if method is not None else getattr(pipeline, "method", None)
    summary["format"] = dataset_format
    summary["realtime_factor"] = _num(clip_seconds / wall_seconds, 2) if wall_seconds > 0 else None
    summary["window_s"], summary["step_s"], summary["band"] = window_s, step_s, list(band)
    return {"summary": summary, "clips": entries}

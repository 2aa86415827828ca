"""``/metrics`` in the Prometheus text exposition format (version 0.0.4).

Counters for frames, drops and readings; gauges for latency, the latest
reading's quality and heart rate, stream clients and memory; so a board's
health can be scraped and alerted on without parsing ``/health``.
"""

from __future__ import annotations

import math

from rppg.containers import Reading
from rppg.stream_stats import EngineStats

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _value(x: float | int | bool | None) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "NaN"
    return repr(float(x)) if isinstance(x, float) else str(int(x))


def render_metrics(stats: EngineStats, latest: Reading | None, stream_clients: int,
                   rss_mb: float | None) -> str:
    """The exposition text for one scrape."""
    ms = 1e-3
    latency = {q: (None if v is None else v * ms) for q, v in
               (("0.5", stats.latency_ms_median), ("0.95", stats.latency_ms_p95), ("1", stats.latency_ms_max))}
    quality = None if latest is None else latest.quality
    bpm = None if latest is None else latest.bpm
    families: list[tuple[str, str, str, list[tuple[str, float | int | None]]]] = [
        ("rppg_frames_captured_total", "counter", "Frames read from the source.", [("", stats.frames_captured)]),
        ("rppg_frames_processed_total", "counter", "Frames through the pipeline.", [("", stats.frames_processed)]),
        ("rppg_frames_dropped_total", "counter", "Frames dropped because processing lagged.",
         [("", stats.frames_dropped)]),
        ("rppg_readings_total", "counter", "Readings published.", [("", stats.readings)]),
        ("rppg_source_reopens_total", "counter", "Times the source was reopened.", [("", stats.reopens)]),
        ("rppg_latency_seconds", "gauge", "Pipeline time per frame over recent frames, by quantile.",
         [(f'{{quantile="{q}"}}', v) for q, v in latency.items()]),
        ("rppg_lag_seconds", "gauge", "Median capture-to-processed delay, queue wait included.",
         [("", None if stats.lag_ms_median is None else stats.lag_ms_median * ms)]),
        ("rppg_fps", "gauge", "Frames per second.",
         [('{stage="captured"}', stats.fps_captured), ('{stage="processed"}', stats.fps_processed)]),
        ("rppg_quality", "gauge", "Signal quality (SNR, dB) of the latest reading.", [("", quality)]),
        ("rppg_bpm", "gauge", "Heart rate of the latest reading; NaN when withheld.", [("", bpm)]),
        ("rppg_source_up", "gauge", "1 while the source delivers frames.", [("", stats.source_state == "ok")]),
        ("rppg_queue_frames", "gauge", "Frames waiting between capture and processing.", [("", stats.queue_size)]),
        ("rppg_stream_clients", "gauge", "Open /stream connections.", [("", stream_clients)]),
        ("rppg_uptime_seconds", "gauge", "Seconds since the engine started.", [("", stats.uptime_s)]),
        ("rppg_resident_memory_bytes", "gauge", "Resident memory of the daemon.",
         [("", None if rss_mb is None else int(rss_mb * 1024 * 1024))]),
    ]
    lines = []
    for name, kind, help_text, samples in families:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        lines += [f"{name}{labels} {_value(v)}" for labels, v in samples]
    return "\n".join(lines) + "\n"

"""Running statistics of the live engine: rates and latency over a recent window.

Kept apart from the engine so the numbers the GUI status bar and the daemon's
``/health`` report are computed one way, in one place.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass

import numpy as np


class RateMeter:
    """Events per second over the last ``span_s`` seconds (wall clock)."""

    def __init__(self, span_s: float = 2.0) -> None:
        self.span_s = span_s
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def tick(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._times.append(now)
            while self._times and now - self._times[0] > self.span_s:
                self._times.popleft()

    def rate(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self._lock:
            times = [t for t in self._times if now - t <= self.span_s]
        if len(times) < 2:
            return 0.0
        # Rate over the whole span, so a stalled source reads as slowing down, not as its last burst.
        return (len(times) - 1) / max(times[-1] - times[0], now - times[0], 1e-6)


class LatencyWindow:
    """Median and 95th percentile of the last ``size`` durations (seconds in, milliseconds out)."""

    def __init__(self, size: int = 300) -> None:
        self._values: deque[float] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, seconds: float) -> None:
        with self._lock:
            self._values.append(seconds)

    def percentiles_ms(self) -> tuple[float | None, float | None, float | None]:
        """(median, 95th percentile, maximum) in milliseconds; Nones before the first value."""
        with self._lock:
            values = np.fromiter(self._values, dtype=np.float64)
        if values.size == 0:
            return None, None, None
        median, p95, top = np.percentile(values, [50, 95, 100]) * 1000.0
        return float(median), float(p95), float(top)


def resident_memory_mb() -> float | None:
    """This process's resident set size (VmRSS) in MiB; None where /proc is not available."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


@dataclass(frozen=True)
class EngineStats:
    """A snapshot of the engine's health; ``to_json`` is what ``/health`` serves."""

    source: str
    source_state: str  # "starting" | "ok" | "lost" | "finished"
    uptime_s: float
    frames_captured: int
    frames_processed: int
    frames_dropped: int
    fps_captured: float
    fps_processed: float
    latency_ms_median: float | None  # time spent in the pipeline per frame
    latency_ms_p95: float | None
    latency_ms_max: float | None  # the frames that complete a window also run the estimator
    lag_ms_median: float | None  # capture to processed, queue wait included
    queue_size: int
    queue_max: int  # the most frames ever waiting at once; never above queue_bound
    queue_bound: int
    readings: int
    reopens: int
    first_frame_s: float | None  # engine creation (model load included) to first processed frame
    last_error: str | None
    frames_in_progress: int = 0  # captured = processed + dropped + queue_size + frames_in_progress
    frames_invalid: int = 0  # empty or malformed images the source delivered, skipped
    time_jumps: int = 0  # frames whose timestamp went backwards, shifted to keep time increasing
    pipeline_errors: int = 0  # frames the pipeline failed on (logged; the window restarted)

    def to_json(self) -> dict:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, float):
                out[key] = round(value, 3)
        return out

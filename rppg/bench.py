"""Benchmarks measured side by side in one run: network cost and end-to-end pipeline speed.

Ratios (student speed-up, real-time factor) come from numbers taken in the same
process, interleaved where two things are compared, so machine load affects
both sides alike. Medians throughout.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rppg.constants import CROP_SIZE
from rppg.pipeline import Pipeline
from rppg.sources import open_source


def rss_mb() -> float:
    """Current resident memory of this process (Linux /proc; peak RSS elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@dataclass
class NetworkCost:
    name: str
    params: int
    flops: int
    latency_ms: float  # median per window, batch 1


def network_costs(window: int = 300, runs: int = 30) -> dict[str, NetworkCost]:
    """Teacher and student on the same (1, 3, window, 36, 36) input, runs interleaved."""
    import torch

    from rppg.models import count_flops, count_params
    from rppg.models.registry import build

    models = {name: build(name).eval() for name in ("teacher", "student")}
    x = torch.randn(1, 3, window, CROP_SIZE, CROP_SIZE)
    times: dict[str, list[float]] = {name: [] for name in models}
    with torch.inference_mode():
        for model in models.values():  # warm-up: allocator and kernels
            for _ in range(3):
                model(x)
        for _ in range(runs):
            for name, model in models.items():
                start = time.perf_counter()
                model(x)
                times[name].append(time.perf_counter() - start)
    return {name: NetworkCost(name, count_params(m), count_flops(m, window), 1000 * float(np.median(times[name])))
            for name, m in models.items()}


@dataclass
class PipelineRun:
    method: str
    frames: int
    video_seconds: float
    wall_seconds: float
    load_seconds: float
    latency_ms_median: float
    latency_ms_p95: float
    readings: int
    median_bpm: float | None

    @property
    def fps(self) -> float:
        return self.frames / self.wall_seconds

    @property
    def realtime_factor(self) -> float:
        return self.video_seconds / self.wall_seconds


def decode_only(video: str) -> tuple[int, float]:
    """Frames and wall seconds to just decode the clip: the floor under any pipeline."""
    start = time.perf_counter()
    with open_source(video) as source:
        n = sum(1 for _ in source)
    return n, time.perf_counter() - start


def run_pipeline(video: str, method: str, weights: str | None = None, backend: str = "torch",
                 fallback: str | None = "pos") -> PipelineRun:
    """Decode + face tracking + crop/skin + estimator + heart rate over the whole clip, as fast as
    possible, in the product's default configuration (networks with the POS fallback)."""
    start = time.perf_counter()
    pipeline = Pipeline(method, weights, backend, fallback=fallback)
    load = time.perf_counter() - start
    latencies, bpms = [], []
    start = time.perf_counter()
    with open_source(video) as source:
        for frame in source:
            t0 = time.perf_counter()
            reading = pipeline.push(frame)
            latencies.append(time.perf_counter() - t0)
            if reading is not None and reading.bpm is not None:
                bpms.append(reading.bpm)
        fps = source.fps
    wall = time.perf_counter() - start
    pipeline.close()
    lat = 1000 * np.asarray(latencies)
    return PipelineRun(method, len(lat), len(lat) / fps, wall, load, float(np.median(lat)),
                       float(np.percentile(lat, 95)), len(bpms), float(np.median(bpms)) if bpms else None)

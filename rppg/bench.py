"""Benchmarks measured side by side in one run: network cost and end-to-end pipeline speed.

Ratios (student speed-up, pipeline rate over decode-only rate) come from numbers taken
in the same process, so machine load affects both sides alike. Each pipeline runs in a
fresh subprocess (:func:`measure_in_subprocess`), so its load time includes the imports
it pulls in and its resident memory is its own, not what earlier measurements left.
Medians throughout.
"""

from __future__ import annotations

import contextlib
import json
import resource
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rppg.constants import CROP_SIZE, MODEL_FPS, NETWORK_THREADS
from rppg.errors import RppgError

#: Per-frame stages the pipeline time is split into (``other``: bookkeeping between them).
STAGES = ("decode", "detect", "track", "sample", "resample", "estimator", "heart_rate", "other")


def rss_mb(field: str = "VmRSS") -> float:
    """Resident memory of this process, now (``VmRSS``) or at its peak (``VmHWM``); Linux /proc,
    the peak elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
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
    """Teacher and student on the same (1, 3, window, 36, 36) input, runs interleaved, on the
    intra-op threads the estimators use (``NETWORK_THREADS``)."""
    import torch

    from rppg.models import count_flops, count_params
    from rppg.models.registry import build

    models = {name: build(name).eval() for name in ("teacher", "student")}
    x = torch.randn(1, 3, window, CROP_SIZE, CROP_SIZE)
    times: dict[str, list[float]] = {name: [] for name in models}
    threads = torch.get_num_threads()
    torch.set_num_threads(NETWORK_THREADS)
    with torch.inference_mode():
        for model in models.values():  # warm-up: allocator and kernels
            for _ in range(3):
                model(x)
        for _ in range(runs):
            for name, model in models.items():
                start = time.perf_counter()
                model(x)
                times[name].append(time.perf_counter() - start)
    torch.set_num_threads(threads)
    return {name: NetworkCost(name, count_params(m), count_flops(m, window), 1000 * float(np.median(times[name])))
            for name, m in models.items()}


def receptive_field_frames(model: Any, length: int = 600, size: int = CROP_SIZE, rel: float = 1e-2,
                           seed: int = 0) -> int:
    """Frames of input that the output's middle sample depends on, measured by gradient.

    ``model`` is any ``nn.Module`` taking (1, 3, T, size, size) and giving (1, ..., T'): the
    gradient of the middle output sample with respect to the input, summed over channels and
    pixels, is non-negligible (at least ``rel`` of its peak) over a span of input frames;
    that span is the effective receptive field, whatever the architecture.
    """
    import torch

    model = model.eval()
    x = torch.randn(1, 3, length, size, size, generator=torch.Generator().manual_seed(seed), requires_grad=True)
    y = model(x)
    y[..., y.shape[-1] // 2].sum().backward()
    grad = x.grad.abs().sum(dim=(0, 1, 3, 4)).numpy()
    strong = np.flatnonzero(grad >= rel * grad.max())
    return int(strong[-1] - strong[0] + 1) if len(strong) else 0


def receptive_fields_s(names: tuple[str, ...] = ("student", "teacher")) -> dict[str, float]:
    """Receptive field in seconds (frames / MODEL_FPS) of each shipped network, with its
    shipped weights when present (else freshly initialised)."""
    from rppg.models import default_weights
    from rppg.models.registry import build
    from rppg.models.weights_io import load_weights

    out = {}
    for name in names:
        model = build(name)
        if default_weights(name).is_file():
            load_weights(model, default_weights(name))
        out[name] = round(receptive_field_frames(model) / MODEL_FPS, 3)
    return out


class StageClock:
    """Adds up wall time per stage; :meth:`wrap` times any callable under a stage name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, stage: str, fn: Callable) -> Callable:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - start
        return timed


@contextlib.contextmanager
def _timed_module_functions(clock: StageClock, module: Any, names: dict[str, str]) -> Iterator[None]:
    """Time module-level functions (``name -> stage``) the pipeline calls, restored afterwards."""
    saved = {name: getattr(module, name) for name in names if hasattr(module, name)}
    for name, fn in saved.items():
        setattr(module, name, clock.wrap(names[name], fn))
    try:
        yield
    finally:
        for name, fn in saved.items():
            setattr(module, name, fn)


def _instrument(pipeline: Any, clock: StageClock) -> None:
    """Time the pipeline's stages on this instance only: tracker (with the detector inside it),
    per-frame sample, estimators."""
    pipeline.tracker.detector.detect = clock.wrap("detect", pipeline.tracker.detector.detect)
    pipeline.tracker.update = clock.wrap("track+detect", pipeline.tracker.update)
    pipeline._sample = clock.wrap("sample", pipeline._sample)
    for estimator in (pipeline.estimator, pipeline.fallback):
        if estimator is not None:
            estimator.run = clock.wrap("estimator", estimator.run)


def set_threads(n: int | None, pipeline: Any = None) -> None:
    """Limit OpenCV, PyTorch and ONNX Runtime (intra-op) to ``n`` threads; None leaves the defaults.
    An ONNX Runtime session fixes its threads when made, so the pipeline's is made again."""
    if n is None:
        return
    import cv2

    cv2.setNumThreads(n)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    net = getattr(getattr(pipeline, "estimator", None), "run", None)
    session = getattr(net, "session", None)
    if session is not None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = n
        net.session = ort.InferenceSession(session._model_path, options, providers=session.get_providers())


@dataclass
class PipelineRun:
    method: str
    backend: str
    threads: int | None
    frames: int
    video_seconds: float
    wall_seconds: float
    load_seconds: float  # building the pipeline: detector, weights (imports not counted)
    import_seconds: float  # importing OpenCV, mediapipe, torch or ONNX Runtime and rppg, fresh process
    latency_ms_median: float
    latency_ms_p95: float
    readings: int
    median_bpm: float | None
    decode_fps: float  # decode-only rate of the same clip, same process, just before
    detector_share: float  # frames on which the face detector ran
    stages_ms: dict[str, float] = field(default_factory=dict)  # mean per frame
    memory_mb: dict[str, float] = field(default_factory=dict)  # resident after each loading step

    @property
    def fps(self) -> float:
        return self.frames / self.wall_seconds

    @property
    def realtime_factor(self) -> float:
        return self.video_seconds / self.wall_seconds

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(fps=self.fps, realtime_factor=self.realtime_factor)  # the decode ratio: rppg bench, over the run
        return out


def decode_only(video: str, passes: int = 3) -> tuple[int, float]:
    """Frames and wall seconds to just decode the clip: the floor under any pipeline. The fastest
    of ``passes`` passes, so that a pass slowed by other work does not flatter the ratio to it."""
    from rppg.sources import open_source

    best = (0, float("inf"))
    for _ in range(passes):
        start = time.perf_counter()
        with open_source(video) as source:
            n = sum(1 for _ in source)
        best = min(best, (n, time.perf_counter() - start), key=lambda r: r[1])
    return best


def _import_face_detector() -> None:
    from rppg.face.mediapipe_api import load_face_detector_api

    load_face_detector_api()


def _load(method: str, weights: str | None, backend: str,
          fallback: str | None) -> tuple[Any, float, float, dict]:
    """Import what the pipeline needs, then build it; returns it, the seconds the imports and
    the building took, and the resident memory after each step (the differences between steps
    say what holds the memory)."""
    memory = {"python": rss_mb()}
    start = time.perf_counter()
    steps: list[tuple[str, Callable[[], Any]]] = [("opencv", lambda: __import__("cv2")),
                                                  ("mediapipe", _import_face_detector)]
    if method in ("student", "teacher", "student_nokd"):
        steps.append(("onnxruntime", lambda: __import__("onnxruntime")) if backend == "onnx"
                     else ("torch", lambda: __import__("torch")))
    for name, step in steps:
        step()
        memory[name] = rss_mb()
    from rppg.pipeline import Pipeline

    imports = time.perf_counter() - start
    start = time.perf_counter()
    pipeline = Pipeline(method, weights, backend, fallback=fallback)
    memory["pipeline"] = rss_mb()  # weights, detector, and whatever else the pipeline imported
    return pipeline, imports, time.perf_counter() - start, memory


def run_pipeline(video: str, method: str, weights: str | None = None, backend: str = "torch",
                 fallback: str | None = "pos", threads: int | None = None) -> PipelineRun:
    """Decode + face tracking + crop/skin + estimator + heart rate over the whole clip, as fast as
    possible, in the product's default configuration (networks with the POS fallback), timed
    per stage; the decode-only rate of the same clip is measured first, in the same process."""
    pipeline, imports, load, memory = _load(method, weights, backend, fallback)
    set_threads(threads, pipeline)
    frames_decoded, decode_s = decode_only(video)
    import rppg.pipeline as pipeline_module
    from rppg.sources import open_source

    clock = StageClock()
    _instrument(pipeline, clock)
    latencies, bpms = [], []
    detections = pipeline.tracker.detections
    with _timed_module_functions(clock, pipeline_module,
                                 {"resample_uniform": "resample", "estimate_hr": "heart_rate"}):
        start = time.perf_counter()
        with open_source(video) as source:
            frames = iter(clock.wrap("decode", lambda: next(source, None)), None)
            for frame in frames:
                t0 = time.perf_counter()
                reading = pipeline.push(frame)
                latencies.append(time.perf_counter() - t0)
                if reading is not None and reading.bpm is not None:
                    bpms.append(reading.bpm)
            fps = source.fps
        wall = time.perf_counter() - start
    detections = pipeline.tracker.detections - detections
    memory["after_run"] = rss_mb()
    memory["peak"] = rss_mb("VmHWM")  # the working set while frames and readings were in flight
    memory["torch_loaded"] = float("torch" in sys.modules)
    pipeline.close()
    lat = 1000 * np.asarray(latencies)
    return PipelineRun(method, backend, threads, len(lat), len(lat) / fps, wall, load, imports, float(np.median(lat)),
                       float(np.percentile(lat, 95)), len(bpms), float(np.median(bpms)) if bpms else None,
                       frames_decoded / decode_s, detections / max(len(lat), 1),
                       _per_frame_stages(clock.seconds, float(np.sum(latencies)), len(lat)),
                       {k: round(v, 1) for k, v in memory.items()})


def _per_frame_stages(seconds: dict[str, float], push_total: float, frames: int) -> dict[str, float]:
    """Mean milliseconds per frame for each of STAGES (track excludes the detector inside it)."""
    s = dict(seconds)
    s["track"] = s.pop("track+detect", 0.0) - s.get("detect", 0.0)
    s["other"] = push_total - sum(s.get(k, 0.0) for k in STAGES if k not in ("decode", "other"))
    return {k: round(1000 * s.get(k, 0.0) / max(frames, 1), 4) for k in STAGES}


def measure_in_subprocess(video: str, method: str, backend: str = "torch", threads: int | None = None,
                          weights: str | None = None, timeout_s: float = 900) -> dict[str, Any]:
    """:func:`run_pipeline` in a fresh interpreter: honest load time and resident memory."""
    spec = {"video": video, "method": method, "backend": backend, "threads": threads, "weights": weights}
    result = subprocess.run([sys.executable, "-m", "rppg.bench", json.dumps(spec)], capture_output=True,
                            text=True, timeout=timeout_s)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or ["no output"]
        raise RppgError(f"{method} pipeline ({backend}) failed: {lines[-1]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _worker(spec_json: str) -> None:
    spec = json.loads(spec_json)
    run = run_pipeline(spec["video"], spec["method"], spec.get("weights"), spec["backend"],
                       threads=spec.get("threads"))
    print(json.dumps(run.to_json()))


if __name__ == "__main__":
    _worker(sys.argv[1])

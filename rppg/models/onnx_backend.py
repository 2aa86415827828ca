"""ONNX export and an ONNX Runtime estimator (for boards without PyTorch, or TensorRT).

The graph takes the preprocessed window (1, 3, T, 36, 36) with a dynamic time axis;
preprocessing stays in :mod:`rppg.models.estimator` so both backends share it.
The weight metadata is copied into the ONNX file and checked on load.

Running needs only ``onnxruntime``; exporting needs ``torch`` and ``onnx`` (the
``[train]`` extra), imported inside :func:`export_onnx`.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from rppg.constants import NETWORK_THREADS
from rppg.errors import ConfigError, WeightsError
from rppg.models.estimator import TIME_MULTIPLE, Estimator
from rppg.models.weights_io import expected_metadata, input_metadata

OPSET = 17

#: Execution providers in order of preference; the first ones this onnxruntime build has are used.
#: TensorRT and CUDA come with ``onnxruntime-gpu`` (e.g. JetPack's wheel); the CPU is always there.
PREFERRED_PROVIDERS: tuple[str, ...] = ("TensorrtExecutionProvider", "CUDAExecutionProvider",
                                        "CPUExecutionProvider")
#: Comma-separated provider names that replace the preference list (e.g. "CUDAExecutionProvider,CPUExecutionProvider").
PROVIDERS_ENV = "RPPG_ONNX_PROVIDERS"


def export_onnx(model: Any, path: str | Path, metadata: dict[str, str] | None = None,
                t: int = 160) -> Path:
    """Export ``model`` (an ``nn.Module``, eval mode) to ONNX with a dynamic time axis; returns the path."""
    import onnx
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    meta = expected_metadata(model)
    size = int(meta["crop_size"])
    x = torch.zeros(1, 3, t, size, size)
    with warnings.catch_warnings():
        # The TorchScript exporter is the one that needs no extra packages; it warns it is legacy.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model, (x,), str(path), dynamo=False, input_names=["crops"], output_names=["bvp_diff"],
            dynamic_axes={"crops": {2: "T"}, "bvp_diff": {1: "T"}}, opset_version=OPSET,
        )
    proto = onnx.load(str(path))
    for key, value in (meta | (metadata or {}) | {"time_multiple": str(TIME_MULTIPLE)}).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.save(proto, str(path))
    return path


def available_providers(preferred: tuple[str, ...] | None = None) -> list[str]:
    """The preferred execution providers this onnxruntime build offers, best first (CPU at least).

    ``RPPG_ONNX_PROVIDERS`` replaces the preference list; naming only providers this build
    lacks is an error rather than a silent CPU run.
    """
    import onnxruntime as ort

    have = set(ort.get_available_providers())
    asked = os.environ.get(PROVIDERS_ENV, "").strip()
    if preferred is None and asked:
        preferred = tuple(p.strip() for p in asked.split(",") if p.strip())
        if not have & set(preferred):
            raise ConfigError(f"{PROVIDERS_ENV}={asked}: this onnxruntime has only {', '.join(sorted(have))}")
    chosen = [p for p in (preferred or PREFERRED_PROVIDERS) if p in have]
    return chosen or ["CPUExecutionProvider"]


def provider_options(provider: str) -> dict[str, str]:
    """TensorRT builds an engine on first use (minutes on a small board): cache it across starts."""
    if provider != "TensorrtExecutionProvider":
        return {}
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rppg" / "tensorrt"
    cache.mkdir(parents=True, exist_ok=True)
    return {"trt_engine_cache_enable": "True", "trt_engine_cache_path": str(cache)}


class OnnxEstimator(Estimator):
    """Runs an exported network with ONNX Runtime, on the best provider present (TensorRT, CUDA, CPU)."""

    def __init__(self, name: str, path: str | Path, arch: str, providers: list[str] | None = None) -> None:
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise WeightsError(f"ONNX file not found: {path} (make it with `rppg export`)")
        options = ort.SessionOptions()
        options.log_severity_level = 3  # provider fallbacks are expected on boards without a GPU
        # No CPU memory arena: it keeps the largest window's buffers for good (about 10 MB here),
        # and one inference per second gains nothing from reusing them. Small boards need the memory.
        options.enable_cpu_mem_arena = False
        options.intra_op_num_threads = options.inter_op_num_threads = NETWORK_THREADS
        providers = providers or available_providers()
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers,
                                                provider_options=[provider_options(p) for p in providers])
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
            raise WeightsError(f"{path} is not a loadable ONNX model ({str(exc).splitlines()[0]})") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        for key, want in input_metadata(arch).items():
            if meta.get(key) != want:
                raise WeightsError(f"{path.name} does not fit the {arch} network: "
                                   f"{key} is {meta.get(key)!r}, expected {want!r}")
        if not str(meta.get("n_params", "")).isdigit():
            raise WeightsError(f"{path.name} does not say its parameter count (n_params): re-export it")
        super().__init__(name, int(meta["n_params"]))
        self.providers = self.session.get_providers()
        self._input = self.session.get_inputs()[0].name

    def _run(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self._input: x})[0][0]

"""Neural pulse estimators: the ~795k-parameter teacher and the ~24k-parameter student.

``load_estimator(method)`` is the one entry point the pipeline uses. Nothing here
imports PyTorch at import time: the base install runs the networks on ONNX Runtime,
and torch (the ``[train]`` extra) is imported only by the torch backend, training,
export and the FLOP counter.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from rppg.errors import ConfigError
from rppg.models.estimator import Estimator, TorchEstimator
from rppg.models.registry import arch_of, build

__all__ = ["Estimator", "load_estimator", "default_weights", "default_backend", "count_flops", "count_params",
           "BACKENDS"]

BACKENDS = ("torch", "onnx")
_SUFFIX = {"torch": ".safetensors", "onnx": ".onnx"}


def torch_available() -> bool:
    """True when PyTorch is installed (found without importing it: that alone takes seconds)."""
    return importlib.util.find_spec("torch") is not None


def default_backend() -> str:
    """``torch`` when it is installed, else ``onnx`` (the base install)."""
    return "torch" if torch_available() else "onnx"


def default_weights(method: str, backend: str = "torch") -> Path:
    """The shipped weight file of a network method: models/<method>.safetensors (or .onnx)."""
    from rppg.paths import models_dir

    return models_dir() / f"{method}{_SUFFIX.get(backend, '.safetensors')}"


def check_weights_backend(weights: str | Path, backend: str) -> None:
    """A weight file must be the kind the backend runs: never silently swap one file for another."""
    suffix = Path(weights).suffix.lower()
    want = _SUFFIX[backend]
    if suffix != want:
        other = next(b for b, s in _SUFFIX.items() if s == suffix) if suffix in _SUFFIX.values() else None
        hint = f" (it is for --backend {other})" if other else ""
        raise ConfigError(f"--backend {backend} needs a {want} weight file, got {Path(weights).name}{hint}")


def load_estimator(method: str, weights: str | None = None, backend: str | None = None) -> Estimator:
    """Build the network for ``method`` (teacher | student | student_nokd) with its weights.

    ``backend`` None picks :func:`default_backend`. ``weights`` defaults to the shipped
    file of that backend (.safetensors for torch, .onnx for ONNX Runtime); a given file
    must match the backend.
    """
    backend = backend or default_backend()
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    arch = arch_of(method)
    if weights:
        check_weights_backend(weights, backend)
    path = Path(weights) if weights else default_weights(method, backend)
    if backend == "onnx":
        from rppg.models.onnx_backend import OnnxEstimator

        return OnnxEstimator(method, path, arch)
    if not torch_available():
        raise ConfigError("--backend torch needs PyTorch, which is not installed: use --backend onnx, "
                          "or install the training extra (pip install 'rppg[train]')")
    from rppg.models.layers import count_params
    from rppg.models.weights_io import load_weights

    model = build(arch)
    load_weights(model, path)
    return TorchEstimator(method, model, count_params(model))


def __getattr__(name: str) -> Any:
    """``count_flops`` and ``count_params`` need torch: imported on first use, not with the package."""
    if name == "count_flops":
        from rppg.models.flops import count_flops

        return count_flops
    if name == "count_params":
        from rppg.models.layers import count_params

        return count_params
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Neural pulse estimators: the ~795k-parameter teacher and the ~24k-parameter student.

``load_estimator(method)`` is the one entry point the pipeline uses.
"""

from __future__ import annotations

from pathlib import Path

from rppg.errors import ConfigError
from rppg.models.estimator import Estimator, TorchEstimator
from rppg.models.flops import count_flops
from rppg.models.layers import count_params
from rppg.models.registry import arch_of, build
from rppg.models.weights_io import load_weights

__all__ = ["Estimator", "load_estimator", "default_weights", "count_flops", "count_params", "BACKENDS"]

BACKENDS = ("torch", "onnx")


def default_weights(method: str) -> Path:
    """The shipped weight file of a network method: models/<method>.safetensors."""
    from rppg.paths import MODELS_DIR

    return Path(MODELS_DIR) / f"{method}.safetensors"


def load_estimator(method: str, weights: str | None = None, backend: str = "torch") -> Estimator:
    """Build the network for ``method`` (teacher | student | student_nokd) with its weights.

    ``weights`` defaults to the shipped file; with ``backend="onnx"`` the .onnx file next
    to it (same stem) is run by ONNX Runtime, or ``weights`` may name the .onnx itself.
    """
    model = build(arch_of(method))
    path = Path(weights) if weights else default_weights(method)
    if backend == "torch":
        load_weights(model, path)
        return TorchEstimator(method, model, count_params(model))
    if backend == "onnx":
        from rppg.models.onnx_backend import OnnxEstimator

        return OnnxEstimator(method, path if path.suffix == ".onnx" else path.with_suffix(".onnx"), model)
    raise ConfigError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")

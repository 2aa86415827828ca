"""One interface over every method: a window of per-frame samples at MODEL_FPS -> BVP.

Classical methods consume the skin RGB trace (N, 3); networks consume face
crops (N, 36, 36, 3). ``make_estimator`` is the registry lookup the pipeline
uses, so front ends never branch on the method name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rppg.constants import MODEL_FPS
from rppg.errors import ConfigError
from rppg.methods.classical import CLASSICAL_METHODS

NETWORK_METHODS: tuple[str, ...] = ("student", "teacher", "student_nokd")
ALL_METHODS: tuple[str, ...] = NETWORK_METHODS[:2] + tuple(CLASSICAL_METHODS) + NETWORK_METHODS[2:]


@dataclass
class Estimator:
    """``kind`` is what the pipeline extracts per frame: "rgb" (skin mean) or "crop" (face crop)."""

    name: str
    kind: str
    run: Callable[[np.ndarray], np.ndarray]
    n_params: int = 0

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        return np.asarray(self.run(samples), np.float64)


def make_estimator(method: str, weights: str | None = None, backend: str | None = None) -> Estimator:
    """The estimator for ``method``; networks load their weights here, once.

    ``backend`` None runs networks on PyTorch when it is installed, else on ONNX Runtime.
    Classical methods have no weights: passing some is an error, not silently ignored.
    """
    if method in CLASSICAL_METHODS:
        if weights:
            raise ConfigError(f"--weights is for the networks ({', '.join(NETWORK_METHODS)}); "
                              f"{method} has no weights")
        fn = CLASSICAL_METHODS[method]
        return Estimator(method, "rgb", lambda rgb: fn(rgb, MODEL_FPS))
    if method in NETWORK_METHODS:
        from rppg.models import load_estimator  # the networks' code loads only when one is asked for

        net = load_estimator(method, weights=weights, backend=backend)
        return Estimator(method, "crop", net, int(getattr(net, "n_params", 0)))
    raise ConfigError(f"unknown method {method!r}; choose from {', '.join(ALL_METHODS)}")

"""Estimators: crops in, pulse waveform out, for any backend.

The backend only runs the network on a preprocessed window; normalisation, padding
and integration of the derivative output live here once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rppg.constants import CROP_SIZE, NETWORK_THREADS
from rppg.models.preprocess import integrate, preprocess

#: The teacher halves time twice; windows are padded to a multiple of this and cut back.
TIME_MULTIPLE = 8


def padded_frames(t: int) -> int:
    """The next multiple of TIME_MULTIPLE: the window length the networks are run on (zero padding)."""
    return t + (-t) % TIME_MULTIPLE


class Estimator:
    """Callable: uint8 (T, 36, 36, 3) BGR crops at MODEL_FPS -> float32 (T,) pulse waveform."""

    def __init__(self, name: str, n_params: int) -> None:
        self.name = name
        self.n_params = n_params

    def _run(self, x: np.ndarray) -> np.ndarray:
        """(1, 3, T, H, W) float32 -> (T,) network output."""
        raise NotImplementedError

    def predict_diff(self, crops: np.ndarray) -> np.ndarray:
        """The raw network output: the predicted standardised pulse derivative (T,)."""
        crops = np.asarray(crops)
        if crops.ndim != 4 or crops.shape[1:] != (CROP_SIZE, CROP_SIZE, 3) or crops.dtype != np.uint8:
            raise ValueError(f"crops must be uint8 (T, {CROP_SIZE}, {CROP_SIZE}, 3), "
                             f"got {crops.dtype} {crops.shape}")
        if len(crops) < 2:
            raise ValueError("need at least 2 frames")
        return self._run(preprocess(crops, padded_frames(len(crops)))[None])[: len(crops)].astype(np.float32)

    def __call__(self, crops: np.ndarray) -> np.ndarray:
        return integrate(self.predict_diff(crops))


class TorchEstimator(Estimator):
    """Runs a PyTorch network (``nn.Module``) built once, in eval mode, under inference mode."""

    def __init__(self, name: str, model: Any, n_params: int) -> None:
        import torch  # only this backend needs it: the base install runs on ONNX Runtime

        super().__init__(name, n_params)
        if torch.get_num_threads() > NETWORK_THREADS:  # process-wide in PyTorch: lowered, never raised
            torch.set_num_threads(NETWORK_THREADS)
        self._torch = torch
        self.model = model.eval()

    def _run(self, x: np.ndarray) -> np.ndarray:
        with self._torch.inference_mode():
            return self.model(self._torch.from_numpy(x))[0].numpy()

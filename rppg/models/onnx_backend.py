"""ONNX export and an ONNX Runtime estimator (for boards without PyTorch, or TensorRT via trtexec).

The graph takes the preprocessed window (1, 3, T, 36, 36) with a dynamic time axis;
preprocessing stays in :mod:`rppg.models.estimator` so both backends share it.
The weight metadata is copied into the ONNX file and checked on load.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from rppg.errors import WeightsError
from rppg.models.estimator import TIME_MULTIPLE, Estimator
from rppg.models.weights_io import expected_metadata

OPSET = 17


def export_onnx(model: nn.Module, path: str | Path, metadata: dict[str, str] | None = None,
                t: int = 160) -> Path:
    """Export ``model`` (eval mode) to ONNX with a dynamic time axis; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    x = torch.zeros(1, 3, t, *(_crop_size(model),) * 2)
    with warnings.catch_warnings():
        # The TorchScript exporter is the one that needs no extra packages; it warns it is legacy.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model, (x,), str(path), dynamo=False, input_names=["crops"], output_names=["bvp_diff"],
            dynamic_axes={"crops": {2: "T"}, "bvp_diff": {1: "T"}}, opset_version=OPSET,
        )
    proto = onnx.load(str(path))
    meta = expected_metadata(model) | (metadata or {}) | {"time_multiple": str(TIME_MULTIPLE)}
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.save(proto, str(path))
    return path


def _crop_size(model: nn.Module) -> int:
    return int(expected_metadata(model)["crop_size"])


class OnnxEstimator(Estimator):
    """Runs an exported network with ONNX Runtime on the CPU."""

    def __init__(self, name: str, path: str | Path, model: nn.Module) -> None:
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise WeightsError(f"ONNX file not found: {path} (make it with `rppg export`)")
        try:
            self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
            raise WeightsError(f"{path} is not a loadable ONNX model ({str(exc).splitlines()[0]})") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        for key, want in expected_metadata(model).items():
            if meta.get(key) != want:
                raise WeightsError(f"{path.name} does not fit the {model.arch} network: "
                                   f"{key} is {meta.get(key)!r}, expected {want!r}")
        super().__init__(name, int(meta["n_params"]))
        self._input = self.session.get_inputs()[0].name

    def _run(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self._input: x})[0][0]

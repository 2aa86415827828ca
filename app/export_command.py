"""Export a network to ONNX for ONNX Runtime / TensorRT (dynamic time axis, opset 17).

The graph takes the preprocessed window (1, 3, T, 36, 36), T a multiple of 8; the
weight metadata travels in the file, and the export is checked against PyTorch.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from rppg.errors import RppgError
from rppg.models import default_weights
from rppg.models.onnx_backend import export_onnx
from rppg.models.registry import METHOD_ARCH, arch_of, build
from rppg.models.weights_io import load_weights

TOLERANCE = 1e-4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--method", choices=tuple(METHOD_ARCH), default="student", help="network to export")
    parser.add_argument("--weights", default=None, help="weight file (default: models/METHOD.safetensors)")
    parser.add_argument("--onnx", required=True, help="output .onnx file")


def run(args: argparse.Namespace) -> int:
    import onnxruntime as ort

    model = build(arch_of(args.method))
    weights = args.weights or default_weights(args.method)
    meta = load_weights(model, weights)
    path = export_onnx(model.eval(), args.onnx, {"method": args.method, "step": meta.get("step", "")})
    x = np.random.default_rng(0).normal(size=(1, 3, 304, 36, 36)).astype(np.float32)
    with torch.inference_mode():
        ref = model(torch.from_numpy(x)).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    err = float(np.abs(got - ref).max())
    if err > TOLERANCE:
        raise RppgError(f"exported graph disagrees with PyTorch (max abs difference {err:.2e})")
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB); ONNX Runtime matches PyTorch "
          f"within {err:.1e} on a 304-frame window")
    return 0

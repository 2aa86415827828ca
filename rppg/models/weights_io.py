"""Weight files: safetensors plus metadata that says which network and input they belong to.

Everything is checked before ``load_state_dict`` so a wrong file gives one clear line
instead of a shape traceback, and nothing is ever unpickled. PyTorch is imported by
the functions that move tensors into a network, never by this module itself, so
:func:`input_metadata` and :func:`read_metadata` work in the base (ONNX-only) install.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safetensors import SafetensorError

from rppg.constants import CROP_SIZE, MODEL_FPS, TRAIN_WINDOW
from rppg.errors import WeightsError
from rppg.models.preprocess import NORM_VERSION


def input_metadata(arch: str) -> dict[str, str]:
    """What any file for architecture ``arch`` must declare: the network and the input it was trained on."""
    return {
        "arch": arch,
        "crop_size": str(CROP_SIZE),
        "window": str(TRAIN_WINDOW),
        "fps": f"{MODEL_FPS:g}",
        "norm": NORM_VERSION,
    }


def expected_metadata(model: Any) -> dict[str, str]:
    """The metadata a weight file for ``model`` (an ``nn.Module``) must carry to be usable by this version."""
    from rppg.models.layers import count_params

    meta = input_metadata(model.arch)
    return {"arch": meta.pop("arch"), "n_params": str(count_params(model)), **meta}


def save_weights(model: Any, path: str | Path, extra: dict[str, str] | None = None) -> Path:
    """Write the inference network's weights and metadata (``extra`` adds e.g. the method name)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    from safetensors.torch import save_file

    meta = expected_metadata(model) | {k: str(v) for k, v in (extra or {}).items()}
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(path), metadata=meta)
    return path


def read_metadata(path: str | Path) -> dict[str, str]:
    """Metadata of a weight file, or WeightsError when it is missing or not a safetensors file."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weight file not found: {path}")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as f:
            return dict(f.metadata() or {})
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path} is not a readable safetensors weight file ({exc})") from None


def load_weights(model: Any, path: str | Path) -> dict[str, str]:
    """Load ``path`` into ``model`` after checking metadata and every tensor shape; returns metadata."""
    import torch
    from safetensors.torch import load_file

    path = Path(path)
    meta = read_metadata(path)
    for key, want in expected_metadata(model).items():
        got = meta.get(key)
        if got != want:
            raise WeightsError(
                f"{path.name} does not fit the {model.arch} network: {key} is {got!r}, expected {want!r}"
            )
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path} is corrupt or truncated ({exc})") from None
    own = model.state_dict()
    if set(tensors) != set(own):
        missing, unexpected = sorted(set(own) - set(tensors)), sorted(set(tensors) - set(own))
        raise WeightsError(f"{path.name} has the wrong tensors "
                           f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    for name, t in tensors.items():
        if t.shape != own[name].shape:
            raise WeightsError(f"{path.name}: tensor {name} has shape {tuple(t.shape)}, "
                               f"expected {tuple(own[name].shape)}")
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise WeightsError(f"{path.name}: tensor {name} holds NaN or infinite values")
    model.load_state_dict(tensors)
    return meta

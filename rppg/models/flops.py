"""Analytic compute count for the benchmark (multiply-accumulates of conv and linear layers)."""

from __future__ import annotations

import torch
from torch import nn

from rppg.constants import CROP_SIZE


def count_flops(model: nn.Module, t: int = 300, size: int = CROP_SIZE) -> int:
    """FLOPs (2 x MACs) of one forward pass on a (1, 3, t, size, size) window.

    Counts convolutions (incl. transposed) and linear layers from their real output
    shapes, found with forward hooks; normalisation and activations are ignored.
    """
    total = 0

    def hook(mod: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(mod, nn.modules.conv._ConvNd):
            # weight[0] holds the weights one output (conv) or one input (transposed) element meets
            total += 2 * (inp[0] if mod.transposed else out).numel() * mod.weight[0].numel()
        elif isinstance(mod, nn.Linear):
            total += 2 * out.numel() * mod.in_features

    layers = [m for m in model.modules() if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear))]
    handles = [m.register_forward_hook(hook) for m in layers]
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            model(torch.zeros(1, 3, t, size, size))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return int(total)

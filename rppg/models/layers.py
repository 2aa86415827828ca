"""Building blocks shared by the teacher and the student."""

from __future__ import annotations

from torch import nn


def conv_bn(c_in: int, c_out: int, kernel: tuple[int, int, int], groups: int = 1) -> nn.Sequential:
    """3D convolution with 'same' padding, batch norm and ReLU."""
    pad = tuple(k // 2 for k in kernel)
    return nn.Sequential(
        nn.Conv3d(c_in, c_out, kernel, padding=pad, groups=groups, bias=False),
        nn.BatchNorm3d(c_out),
        nn.ReLU(inplace=True),
    )


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters (the figure quoted for each network)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

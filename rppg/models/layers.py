"""Building blocks shared by the teacher and the student."""

from __future__ import annotations

import torch
from torch import nn


def conv_bn(c_in: int, c_out: int, kernel: tuple[int, int, int], groups: int = 1) -> nn.Sequential:
    """3D convolution with 'same' padding, batch norm and ReLU."""
    pad = tuple(k // 2 for k in kernel)
    return nn.Sequential(
        nn.Conv3d(c_in, c_out, kernel, padding=pad, groups=groups, bias=False),
        nn.BatchNorm3d(c_out),
        nn.ReLU(inplace=True),
    )


def conv_bn2d(c_in: int, c_out: int, k: int = 3) -> nn.Sequential:
    """2D convolution ('same' padding), batch norm and ReLU, applied to every frame alike."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class FrameEncoder(nn.Module):
    """(B, C, T, H, W) -> (B, C', T, H', W'): the same 2D layers on every frame.

    Frames are folded into the batch, so the spatial work runs as 2D convolutions, which
    CPUs and embedded boards execute far faster than 3D convolutions with a temporal extent of 1.
    """

    def __init__(self, *layers: nn.Module) -> None:
        super().__init__()
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        y = self.layers(x.transpose(1, 2).reshape(b * t, c, h, w))
        return y.reshape(b, t, *y.shape[1:]).transpose(1, 2)


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters (the figure quoted for each network)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class SkinAttentionPool(nn.Module):
    """Learned spatial weighting: (B, C, T, H, W) -> (B, C, T).

    A per-pixel, per-frame mask (1x1x1 convolutions, sigmoid) says how much each location
    carries pulse, as the attention masks of DeepPhys/TS-CAN do; features are averaged with
    those weights, so eyes, hair, background and glare count for little once learned.
    """

    def __init__(self, channels: int, hidden: int = 0) -> None:
        super().__init__()
        if hidden:
            self.mask = nn.Sequential(nn.Conv3d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv3d(hidden, 1, 1))
        else:
            self.mask = nn.Conv3d(channels, 1, 1)

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, T, H, W) non-negative weights summing to 1 over space."""
        w = torch.sigmoid(self.mask(x)) + 1e-4
        return w / w.sum(dim=(3, 4), keepdim=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.weights(x)).sum(dim=(3, 4))


class DilatedResidual(nn.Module):
    """x + ReLU(BN(conv1d_k3_dilated(x))): each block doubles the temporal context at no spatial cost."""

    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn = nn.BatchNorm1d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.relu(self.bn(self.conv(x)))


class TemporalHead(nn.Module):
    """(B, C_in, T) pooled features -> (B, T) pulse derivative, through a dilated temporal stack.

    ``hint_after`` names the block whose output is exposed as the ``hint2`` feature map.
    """

    def __init__(self, c_in: int, width: int, dilations: tuple[int, ...], hint_after: int) -> None:
        super().__init__()
        self.proj = nn.Sequential(nn.Conv1d(c_in, width, 1, bias=False), nn.BatchNorm1d(width), nn.ReLU(inplace=True))
        self.blocks = nn.ModuleList(DilatedResidual(width, d) for d in dilations)
        self.out = nn.Conv1d(width, 1, 1)
        self.hint_after = hint_after

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.proj(x)
        hint = h
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i == self.hint_after:
                hint = h
        return self.out(h)[:, 0], hint

"""The student: a (2+1)D CNN of ~24k parameters for real time on embedded boards.

Crops are average-pooled to 18x18 before the first convolution and to 9x9 and 4x4
later; spatial and temporal kernels are factorised. Time is never downsampled, so
the output has one value per input frame. Almost all parameters sit in the
temporal 1D layers after spatial pooling, where they cost next to no compute.
"""

from __future__ import annotations

import torch
from torch import nn

from rppg.models.layers import conv_bn

HINTS = ("hint1", "hint2")


class StudentNet(nn.Module):
    """(B, 3, T, 36, 36) DiffNormalized crops -> (B, T) predicted pulse derivative."""

    arch = "student"

    def __init__(self, c1: int = 12, c2: int = 20, c3: int = 32, temporal: int = 34) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.AvgPool3d((1, 2, 2)), conv_bn(3, c1, (1, 3, 3)))  # 18x18
        self.block1 = nn.Sequential(
            nn.AvgPool3d((1, 2, 2)), conv_bn(c1, c2, (1, 3, 3)), conv_bn(c2, c2, (3, 1, 1))
        )  # 9x9: hint1
        self.block2 = nn.Sequential(
            nn.AvgPool3d((1, 2, 2)), conv_bn(c2, c3, (1, 3, 3)), conv_bn(c3, c3, (3, 1, 1))
        )  # 4x4: hint2
        self.temporal = nn.Sequential(
            nn.Conv1d(c3, temporal, 5, padding=2, bias=False),
            nn.BatchNorm1d(temporal),
            nn.ReLU(inplace=True),
            nn.Conv1d(temporal, temporal, 5, padding=2, bias=False),
            nn.BatchNorm1d(temporal),
            nn.ReLU(inplace=True),
            nn.Conv1d(temporal, 1, 1),
        )
        self.hint_channels = {"hint1": c2, "hint2": c3}

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Output and the hint feature maps (used by distillation)."""
        h1 = self.block1(self.stem(x))
        h2 = self.block2(h1)
        y = self.temporal(h2.mean(dim=(3, 4)))
        return y[:, 0], {"hint1": h1, "hint2": h2}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[0]

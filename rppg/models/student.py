"""The student: ~24k parameters, real time on embedded boards.

Each frame's crop is average-pooled to 9x9 in one pass (before the frames are folded into
the batch, so the full-size crops are read once and never copied); two small 3x3
convolutions learn colour and texture; a learned skin-attention map pools space; and a
stack of dilated temporal convolutions (dilations 1..32) gives the output about 4 s of
context, so it sees several heartbeats. Almost all parameters sit in that temporal stack,
after spatial pooling, where they cost next to no compute.
"""

from __future__ import annotations

import torch
from torch import nn

from rppg.models.layers import FrameEncoder, SkinAttentionPool, TemporalHead, conv_bn2d

HINTS = ("hint1", "hint2")


class StudentNet(nn.Module):
    """(B, 3, T, 36, 36) DiffNormalized crops -> (B, T) predicted pulse derivative."""

    arch = "student"

    def __init__(self, c1: int = 12, c2: int = 16, width: int = 34,
                 dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32)) -> None:
        super().__init__()
        self.shrink = nn.AvgPool3d((1, 4, 4))  # 36x36 -> 9x9
        self.encoder = FrameEncoder(conv_bn2d(3, c1), conv_bn2d(c1, c2))  # 9x9: hint1
        self.pool = SkinAttentionPool(c2)
        self.temporal = TemporalHead(c2, width, dilations, hint_after=2)
        self.hint_channels = {"hint1": c2, "hint2": width}

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Output and the hint feature maps (used by distillation); hint2 is (B, C, T, 1, 1)."""
        h1 = self.encoder(self.shrink(x))
        y, h2 = self.temporal(self.pool(h1))
        return y, {"hint1": h1, "hint2": h2[..., None, None]}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[0]

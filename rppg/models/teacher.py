"""The teacher: ~795k parameters, the student's shape at a larger scale.

It keeps the full 36x36 crop for its first convolution and works at 36x36, 18x18 and 9x9
(the student only at 9x9), has a two-layer skin-attention map,
and a wide dilated temporal stack (dilations 1..128, about 17 s of context). Its hint
maps (the 9x9 feature map before attention, and the temporal features after the fourth
block) are what the student is taught to reproduce.
"""

from __future__ import annotations

import torch
from torch import nn

from rppg.models.layers import FrameEncoder, SkinAttentionPool, TemporalHead, conv_bn2d

#: Names of the intermediate feature maps the student is taught to reproduce.
HINTS = ("hint1", "hint2")


class TeacherNet(nn.Module):
    """(B, 3, T, 36, 36) DiffNormalized crops -> (B, T) predicted pulse derivative."""

    arch = "teacher"

    def __init__(self, c1: int = 16, c2: int = 32, c3: int = 64, width: int = 178,
                 dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128)) -> None:
        super().__init__()
        self.encoder = FrameEncoder(conv_bn2d(3, c1),  # 36x36
                                    nn.AvgPool2d(2), conv_bn2d(c1, c2),  # 18x18
                                    nn.AvgPool2d(2), conv_bn2d(c2, c3))  # 9x9: hint1
        self.pool = SkinAttentionPool(c3, hidden=16)
        self.temporal = TemporalHead(c3, width, dilations, hint_after=3)
        self.hint_channels = {"hint1": c3, "hint2": width}

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Output and the hint feature maps (used by distillation); hint2 is (B, C, T, 1, 1)."""
        h1 = self.encoder(x)
        y, h2 = self.temporal(self.pool(h1))
        return y, {"hint1": h1, "hint2": h2[..., None, None]}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[0]

"""The teacher: a 3D-CNN encoder with a temporal encoder-decoder (~795k parameters).

Like PhysNet it encodes space and time with 3D convolutions and decodes the pulse
with a temporal encoder-decoder, but its spatial encoder is factorised (2+1)D and
average-pools as it goes (36x36, 18x18, 9x9, 4x4), and the decoder runs on the
spatially pooled features. At this input size and pulse strength that shape learns from the first few
hundred steps, where a deep max-pooled 3x3x3 stack sat on a plateau for the whole CPU
budget; and its cost stays low enough to train on a CPU. Any T divisible by 2 maps to T outputs.
"""

from __future__ import annotations

import torch
from torch import nn

from rppg.models.layers import conv_bn

#: Names of the intermediate feature maps the student is taught to reproduce.
HINTS = ("hint1", "hint2")


def _conv1d(c_in: int, c_out: int, k: int = 5, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(c_in, c_out, k, stride=stride, padding=k // 2, bias=False),
        nn.BatchNorm1d(c_out),
        nn.ReLU(inplace=True),
    )


class TeacherNet(nn.Module):
    """(B, 3, T, 36, 36) DiffNormalized crops -> (B, T) predicted pulse derivative."""

    arch = "teacher"

    def __init__(self, c1: int = 32, c2: int = 64, c3: int = 128, t1: int = 128, t2: int = 188) -> None:
        super().__init__()
        self.stem = conv_bn(3, c1, (1, 3, 3))  # 36x36
        self.block1 = nn.Sequential(
            nn.AvgPool3d((1, 2, 2)), conv_bn(c1, c2, (1, 3, 3)), nn.AvgPool3d((1, 2, 2)), conv_bn(c2, c2, (3, 1, 1))
        )  # 18x18 spatial, 9x9 temporal: hint1
        self.block2 = nn.Sequential(
            nn.AvgPool3d((1, 2, 2)), conv_bn(c2, c3, (1, 3, 3)), conv_bn(c3, c3, (3, 1, 1))
        )  # 4x4: hint2
        self.enc = _conv1d(c3, t1)  # T
        self.down = nn.Sequential(_conv1d(t1, t2, stride=2), _conv1d(t2, t2))  # T/2
        self.up = nn.Sequential(
            nn.ConvTranspose1d(t2, t1, 4, stride=2, padding=1, bias=False), nn.BatchNorm1d(t1), nn.ReLU(inplace=True)
        )  # T
        self.dec = _conv1d(2 * t1, t1)
        self.head = nn.Conv1d(t1, 1, 1)
        self.hint_channels = {"hint1": c2, "hint2": c3}

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Output and the hint feature maps (used by distillation)."""
        h1 = self.block1(self.stem(x))
        h2 = self.block2(h1)
        e = self.enc(h2.mean(dim=(3, 4)))
        y = self.dec(torch.cat([e, self.up(self.down(e))], dim=1))
        return self.head(y)[:, 0], {"hint1": h1, "hint2": h2}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[0]

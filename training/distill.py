"""Knowledge distillation: hint losses on intermediate feature maps plus output matching.

Adapters (1x1x1 convolutions) lift each student hint to the teacher's channel width;
the student map is then average-pooled to the teacher map's (T, H, W) and both are
standardised per sample before the MSE, so the loss compares patterns, not scales.
Adapters exist only during training; they are neither counted nor shipped.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rppg_training.losses import neg_pearson


def _standardise(f: torch.Tensor) -> torch.Tensor:
    dims = tuple(range(1, f.dim()))
    return (f - f.mean(dim=dims, keepdim=True)) / (f.std(dim=dims, keepdim=True) + 1e-6)


class HintAdapters(nn.Module):
    """One 1x1x1 convolution per hint, student channels -> teacher channels."""

    def __init__(self, student_channels: dict[str, int], teacher_channels: dict[str, int]) -> None:
        super().__init__()
        self.maps = nn.ModuleDict(
            {name: nn.Conv3d(c, teacher_channels[name], 1) for name, c in student_channels.items()}
        )

    def forward(self, name: str, feature: torch.Tensor) -> torch.Tensor:
        return self.maps[name](feature)


def hint_loss(adapted: torch.Tensor, teacher_feat: torch.Tensor) -> torch.Tensor:
    """MSE between an adapted student map, pooled to the teacher map's size, and the teacher map."""
    s = F.adaptive_avg_pool3d(adapted, teacher_feat.shape[2:])
    return F.mse_loss(_standardise(s), _standardise(teacher_feat.detach()))


class StudentWithAdapters(nn.Module):
    """The student plus its training-only adapters, so one DistributedDataParallel wraps both.

    ``forward`` returns the output and the adapted hint maps.
    """

    def __init__(self, student: nn.Module, adapters: HintAdapters) -> None:
        super().__init__()
        self.student, self.adapters = student, adapters

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out, feats = self.student.forward_features(x)
        return out, {name: self.adapters(name, feats[name]) for name in self.adapters.maps}


class Distiller(nn.Module):
    """The frozen teacher; returns the weighted KD terms for a batch of student outputs."""

    def __init__(self, teacher: nn.Module, weights: dict[str, float]) -> None:
        super().__init__()
        self.teacher = teacher.eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.weights = weights

    def train(self, mode: bool = True) -> Distiller:
        super().train(mode)
        self.teacher.eval()  # the teacher's batch-norm statistics stay fixed
        return self

    def forward(self, x: torch.Tensor, student_out: torch.Tensor,
                adapted: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``adapted``: the student's hint maps after the adapters (see StudentWithAdapters)."""
        with torch.no_grad():
            t_out, t_feats = self.teacher.forward_features(x)
        hint = sum(hint_loss(adapted[n], t_feats[n]) for n in adapted) / len(adapted)
        return {
            "kd_output": self.weights.get("output", 0.0) * neg_pearson(student_out, t_out),
            "kd_hint": self.weights.get("hint", 0.0) * hint,
        }

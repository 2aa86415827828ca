"""Knowledge distillation: hint losses on intermediate feature maps plus output matching.

Adapters (1x1x1 convolutions) lift each student hint to the teacher's channel width;
the student map is then average-pooled to the teacher map's (T, H, W) and both are
standardised per sample before the MSE, so the loss compares patterns, not scales.
Adapters exist only during training; they are neither counted nor shipped.
"""

from __future__ import annotations

import numpy as np
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

    def forward(self, x: torch.Tensor, student_out: torch.Tensor, adapted: dict[str, torch.Tensor],
                targets: tuple[torch.Tensor, dict[str, torch.Tensor]] | None = None) -> dict[str, torch.Tensor]:
        """``adapted``: the student's hint maps after the adapters (see StudentWithAdapters);
        ``targets``: the teacher's output and hint maps for ``x`` when already computed (TeacherCache)."""
        if targets is None:
            with torch.no_grad():
                t_out, t_feats = self.teacher.forward_features(x)
        else:
            t_out, t_feats = targets
        hint = sum(hint_loss(adapted[n], t_feats[n]) for n in adapted) / len(adapted)
        return {
            "kd_output": self.weights.get("output", 0.0) * neg_pearson(student_out, t_out),
            "kd_hint": self.weights.get("hint", 0.0) * hint,
        }


#: Spatial size the teacher's 9x9 hint map is pooled to in the cache (memory: 9 values per channel and frame).
CACHED_HINT_SIDE = 3


class TeacherCache:
    """The frozen teacher's output and hint maps over every training clip, computed once.

    A distillation step then reads the teacher's targets for its windows instead of running
    the teacher: the teacher is fully convolutional in time, so its features over a clip,
    cut to a window, stand in for its features on that window (they differ only near the
    window's edges and by the window's own normalisation, which the standardised hint loss
    and the Pearson output loss ignore). Flipped clips are computed too, so flips stay exact.
    """

    def __init__(self, teacher: nn.Module, clips: list[np.ndarray], device: torch.device) -> None:
        from rppg.models.preprocess import preprocess

        self.items: list[tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]] = []
        teacher.eval()
        with torch.inference_mode():
            for crops in clips:
                outs, h1s, h2s = [], [], []
                for flip in (False, True):
                    c = crops[:, :, ::-1] if flip else crops
                    x = torch.from_numpy(preprocess(np.ascontiguousarray(c)))[None].to(device)
                    out, feats = teacher.forward_features(x)
                    h1 = F.adaptive_avg_pool3d(feats["hint1"], (x.shape[2], CACHED_HINT_SIDE, CACHED_HINT_SIDE))
                    outs.append(out[0].float().cpu())
                    h1s.append(h1[0].half().cpu())
                    h2s.append(feats["hint2"][0].half().cpu())
                self.items.append((outs, h1s, h2s))

    def targets(self, where: torch.Tensor, window: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Teacher output (B, T) and hint maps for windows given as rows (clip, start, flipped)."""
        outs, h1s, h2s = [], [], []
        for k, start, flip in where.tolist():
            out, h1, h2 = (part[int(flip)] for part in self.items[k])
            outs.append(out[start:start + window])
            h1s.append(h1[:, start:start + window].float())
            h2s.append(h2[:, start:start + window].float())
        return torch.stack(outs), {"hint1": torch.stack(h1s), "hint2": torch.stack(h2s)}

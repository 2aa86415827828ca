"""Losses against a reference pulse: waveform shape (Pearson) and spectral agreement in the HR band."""

from __future__ import annotations

import torch

from rppg.constants import HR_MAX_BPM, HR_MIN_BPM, MODEL_FPS

_EPS = 1e-8


def neg_pearson(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - Pearson r over time, averaged over the batch; (B, T) inputs. 0 = same shape, 2 = inverted."""
    p = pred - pred.mean(dim=1, keepdim=True)
    t = target - target.mean(dim=1, keepdim=True)
    r = (p * t).sum(1) / (p.norm(dim=1) * t.norm(dim=1) + _EPS)
    return (1 - r).mean()


def band_spectrum(x: torch.Tensor, fs: float = MODEL_FPS, band=(HR_MIN_BPM, HR_MAX_BPM)) -> torch.Tensor:
    """Power spectrum of (B, T) signals inside the HR band, normalised to sum 1 per row.

    Zero-padded to at least 1024 points so a 160-frame window has ~1.8 bpm bins.
    """
    n_fft = max(1024, 1 << (x.shape[1] - 1).bit_length())
    x = x - x.mean(dim=1, keepdim=True)
    power = torch.fft.rfft(x, n=n_fft, dim=1).abs() ** 2
    bpm = torch.fft.rfftfreq(n_fft, d=1.0 / fs, device=x.device) * 60.0
    p = power[:, (bpm >= band[0]) & (bpm <= band[1])]
    return p / (p.sum(dim=1, keepdim=True) + _EPS)


def spectral_ce(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the prediction's band spectrum against the target's (a soft HR label).

    Minimal when the predicted pulse power sits at the reference heart rate; insensitive
    to phase and amplitude, which Pearson already covers.
    """
    q = band_spectrum(target.detach())
    p = band_spectrum(pred)
    return -(q * torch.log(p + 1e-6)).sum(dim=1).mean()


def reference_loss(pred: torch.Tensor, target: torch.Tensor,
                   weights: dict[str, float]) -> dict[str, torch.Tensor]:
    """The weighted terms against the reference pulse: ``pearson`` and ``freq``."""
    return {
        "pearson": weights.get("pearson", 0.0) * neg_pearson(pred, target),
        "freq": weights.get("freq", 0.0) * spectral_ce(pred, target),
    }

"""Learning from real face video without a reference pulse.

Three losses that need no label, for windows from unlabelled real clips:

* ``band``: the output's power lies in the heart-rate band (a pulse, not drift or noise);
* ``sparse``: inside the band, power concentrates around one peak (one heart rate);
* ``consistency``: two windows of the same clip, a couple of seconds apart, put their
  power at the same rate (the heart rate changes slowly);
* ``pos``: where POS is very clean on the same crops (SNR above a threshold), the output's
  spectrum agrees with POS's (a pseudo-label from a method that needs no training).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from rppg.constants import HR_MAX_BPM, HR_MIN_BPM, MODEL_FPS
from rppg.methods.classical import pos
from rppg.models.preprocess import preprocess, preprocess_label
from rppg.signal.hr import estimate_hr
from rppg_training.data import ClipBank
from rppg_training.losses import band_spectrum

_EPS = 1e-8
#: Band the output's power should fall in (bpm): the HR band plus room for the second harmonic's skirt.
POWER_BAND = (HR_MIN_BPM, 240.0)
#: Half-width (bpm) of the peak that ``sparse`` rewards.
PEAK_HALF_WIDTH = 6.0


def skin_centre_rgb(crops: np.ndarray) -> np.ndarray:
    """Mean RGB of the crop's central half (cheeks, nose and brow: mostly skin), for POS."""
    side = crops.shape[1]
    lo, hi = side // 4, side - side // 4
    return crops[:, lo:hi, lo:hi].reshape(len(crops), -1, 3).mean(axis=1)[:, ::-1].astype(np.float64)


class PairDataset(Dataset):
    """Pairs of overlapping windows ``shift`` frames apart from unlabelled clips, plus a POS target.

    Item: (x1, x2, pos_target, pos_ok); pos_ok is 1.0 where POS's SNR on window 1 clears ``pos_snr_db``.
    """

    def __init__(self, bank: ClipBank, window: int, shift: int, seed: int, pos_snr_db: float) -> None:
        self.bank, self.window, self.shift, self.seed, self.pos_snr_db = bank, window, shift, seed, pos_snr_db
        span = window + shift
        self.clips = np.flatnonzero(bank.lengths >= span)
        if not len(self.clips):
            raise ValueError(f"every unlabelled clip is shorter than {span} frames")
        self.weights = (bank.lengths[self.clips] - span + 1) / (bank.lengths[self.clips] - span + 1).sum()

    def item(self, step: int, i: int) -> tuple[torch.Tensor, ...]:
        rng = np.random.default_rng([self.seed, step, i])
        k = self.clips[rng.choice(len(self.clips), p=self.weights)]
        start = rng.integers(0, len(self.bank.crops[k]) - self.window - self.shift + 1)
        crops = self.bank.crops[k][start:start + self.window + self.shift]
        if rng.random() < 0.5:
            crops = crops[:, :, ::-1]
        w1, w2 = crops[: self.window], crops[self.shift:]
        rgb = skin_centre_rgb(w1)
        pos_wave = pos(rgb, MODEL_FPS)
        ok = estimate_hr(pos_wave, MODEL_FPS, gate_db=-np.inf).quality >= self.pos_snr_db
        return (torch.from_numpy(preprocess(w1)), torch.from_numpy(preprocess(w2)),
                torch.from_numpy(preprocess_label(pos_wave)), torch.tensor(float(ok)))

    def batch(self, step: int, size: int) -> tuple[torch.Tensor, ...]:
        items = [self.item(step, i) for i in range(size)]
        return tuple(torch.stack(col) for col in zip(*items, strict=True))

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, ...]:
        return self.item(0, i)


def _power(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    n_fft = max(1024, 1 << (x.shape[1] - 1).bit_length())
    x = x - x.mean(dim=1, keepdim=True)
    power = torch.fft.rfft(x, n=n_fft, dim=1).abs() ** 2
    return power, torch.fft.rfftfreq(n_fft, d=1.0 / MODEL_FPS, device=x.device) * 60.0


def band_loss(pred: torch.Tensor) -> torch.Tensor:
    """Share of the output's power outside POWER_BAND (0 = all of it inside)."""
    power, bpm = _power(pred)
    inside = (bpm >= POWER_BAND[0]) & (bpm <= POWER_BAND[1])
    return (1 - power[:, inside].sum(1) / (power.sum(1) + _EPS)).mean()


def sparse_loss(pred: torch.Tensor) -> torch.Tensor:
    """Share of the HR band's power away from its strongest peak (0 = a single line)."""
    power, bpm = _power(pred)
    band = (bpm >= HR_MIN_BPM) & (bpm <= HR_MAX_BPM)
    p, f = power[:, band], bpm[band]
    peak = f[p.argmax(dim=1)]
    near = (f[None, :] - peak[:, None]).abs() <= PEAK_HALF_WIDTH
    return (1 - (p * near).sum(1) / (p.sum(1) + _EPS)).mean()


def consistency_loss(pred1: torch.Tensor, pred2: torch.Tensor) -> torch.Tensor:
    """Symmetric KL divergence between the band spectra of two nearby windows of one clip."""
    p, q = band_spectrum(pred1), band_spectrum(pred2)
    kl = lambda a, b: (a * (torch.log(a + 1e-6) - torch.log(b + 1e-6))).sum(1)  # noqa: E731
    return (0.5 * (kl(p, q) + kl(q, p))).mean()


def pos_agreement_loss(pred: torch.Tensor, pos_target: torch.Tensor, ok: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the output's band spectrum against POS's, on windows where POS is clean."""
    if ok.sum() == 0:
        return pred.sum() * 0.0
    q = band_spectrum(pos_target[ok > 0])
    p = band_spectrum(pred[ok > 0])
    return -(q * torch.log(p + 1e-6)).sum(1).mean()


def unsupervised_loss(model: torch.nn.Module, batch: tuple[torch.Tensor, ...],
                      weights: dict[str, float]) -> dict[str, torch.Tensor]:
    """The weighted label-free terms for one batch of window pairs."""
    x1, x2, pos_target, ok = batch
    out = model(torch.cat([x1, x2]))
    p1, p2 = out[: len(x1)], out[len(x1):]
    return {
        "u_band": weights.get("band", 0.0) * 0.5 * (band_loss(p1) + band_loss(p2)),
        "u_sparse": weights.get("sparse", 0.0) * 0.5 * (sparse_loss(p1) + sparse_loss(p2)),
        "u_consistency": weights.get("consistency", 0.0) * consistency_loss(p1, p2),
        "u_pos": weights.get("pos", 0.0) * pos_agreement_loss(p1, pos_target, ok),
    }

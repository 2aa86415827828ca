"""Training data: clip banks of face crops at MODEL_FPS with a reference pulse, and window datasets.

A bank is built once (rendering synthetic faces, or tracking and cropping a real
dataset) and cached as .npz under ``data_cache/``, so epochs never re-render.
Training windows are drawn at random offsets from the bank's clips; validation uses
fixed 10 s windows from a bank with another seed and harder settings.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from rppg.constants import CROP_SIZE, MODEL_FPS
from rppg.errors import ConfigError, DatasetError
from rppg.models.preprocess import preprocess, preprocess_label
from rppg.signal.hr import estimate_hr
from rppg_training.synth_adapter import render_training_clip

log = logging.getLogger("rppg_training.data")

#: Bumped when bank contents change, so stale caches are not reused.
BANK_VERSION = 2
REAL_FORMATS = ("ubfc", "pure", "recording")


@dataclass
class ClipBank:
    """Clips of uint8 (n_i, 36, 36, 3) BGR crops and float32 (n_i,) reference pulse, all at MODEL_FPS."""

    crops: list[np.ndarray]
    bvp: list[np.ndarray]

    def __post_init__(self) -> None:
        if not self.crops:
            raise DatasetError("no usable clip (no frame with a tracked face and a reference pulse)")

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(c) for c in self.crops])

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, crops=np.concatenate(self.crops), bvp=np.concatenate(self.bvp), lengths=self.lengths)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> ClipBank:
        with np.load(path) as z:
            cuts = np.cumsum(z["lengths"])[:-1]
            return cls(np.split(z["crops"], cuts), np.split(z["bvp"].astype(np.float32), cuts))


@dataclass(frozen=True)
class DataSpec:
    """Parsed ``--data`` value: ``synth`` or ``FORMAT:PATH`` with FORMAT in ubfc | pure | recording."""

    kind: str
    path: str | None = None

    @classmethod
    def parse(cls, text: str) -> DataSpec:
        if text == "synth":
            return cls("synth")
        kind, sep, path = text.partition(":")
        if not sep or kind not in REAL_FORMATS or not path:
            raise ConfigError(f"--data must be synth or one of {', '.join(REAL_FORMATS)} followed by :PATH, "
                              f"got {text!r}")
        return cls(kind, path)


# ---------------------------------------------------------------- synthetic banks
#: Names the generator in cache keys and model cards.
GENERATOR = "rppg.synth"


def synth_bank(split: str, n_clips: int, clip_seconds: float, seed: int) -> ClipBank:
    """Render ``n_clips`` synthetic clips; ``split`` selects the settings (train | val, see synth_adapter)."""
    n = int(round(clip_seconds * MODEL_FPS))
    crops, bvp = [], []
    for i in tqdm(range(n_clips), desc=f"render {split}", leave=False):
        c, b = render_training_clip(np.random.default_rng([seed, i]), n, split)
        crops.append(c)
        bvp.append(b.astype(np.float32))
    return ClipBank(crops, bvp)


# ---------------------------------------------------------------- real datasets
def real_clip_crops(clip) -> tuple[np.ndarray, np.ndarray] | None:
    """Track and crop one dataset clip, resample crops and reference to MODEL_FPS; None if no face."""
    from rppg.face.regions import crop_face
    from rppg.face.tracker import FaceTracker
    from rppg.signal.filters import resample_uniform

    tracker = FaceTracker()
    times, crops = [], []
    try:
        with clip.open_source() as source:
            for frame in source:
                box = tracker.update(frame)
                if box is not None:
                    times.append(frame.t)
                    crops.append(crop_face(frame.image, box, CROP_SIZE))
    finally:
        tracker.close()
    if len(crops) < 2 * MODEL_FPS:
        return None
    t0, t1 = max(times[0], clip.ref_times[0]), min(times[-1], clip.ref_times[-1])
    grid, flat = resample_uniform(np.array(times), np.stack(crops).reshape(len(crops), -1), MODEL_FPS, t0, t1)
    crops_u = np.clip(np.rint(flat), 0, 255).astype(np.uint8).reshape(len(grid), CROP_SIZE, CROP_SIZE, 3)
    bvp = np.interp(grid, clip.ref_times, clip.ref_bvp).astype(np.float32)
    return crops_u, bvp


def real_banks(spec: DataSpec) -> tuple[ClipBank, ClipBank | None]:
    """(train, val) banks from a real dataset; every fifth clip is held out for validation
    (None when there are fewer than two clips: validation then uses synthetic data)."""
    from rppg.datasets import load_dataset

    clips = load_dataset(spec.path, spec.kind)
    done = [r for clip in tqdm(clips, desc="track+crop", leave=False) if (r := real_clip_crops(clip))]
    if not done:
        raise DatasetError(f"no clip in {spec.path} has a trackable face with an overlapping reference pulse")
    if len(done) >= 5:
        val_idx = set(range(4, len(done), 5))
    else:
        val_idx = {len(done) - 1} if len(done) >= 2 else set()
    train = [d for i, d in enumerate(done) if i not in val_idx]
    val = [d for i, d in enumerate(done) if i in val_idx]
    to_bank = lambda items: ClipBank([c for c, _ in items], [b for _, b in items])  # noqa: E731
    return to_bank(train), (to_bank(val) if val else None)


# ---------------------------------------------------------------- cache
def _cache_path(cache_dir: Path, key: dict) -> Path:
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir / f"bank_{key.get('split', 'data')}_{digest}.npz"


def cached(cache_dir: Path | None, key: dict, make) -> ClipBank:
    """Load the bank for ``key`` from the cache, or make and store it."""
    if cache_dir is None:
        return make()
    path = _cache_path(Path(cache_dir), key | {"version": BANK_VERSION})
    if path.is_file():
        return ClipBank.load(path)
    bank = make()
    bank.save(path)
    return bank


def load_banks(data: str, cfg: dict, cache_dir: Path | None) -> tuple[ClipBank, ClipBank]:
    """(train, val) banks for a ``--data`` value and the config's ``data`` section."""
    spec = DataSpec.parse(data)
    seed, n_train, n_val, secs = cfg["seed"], cfg["train_clips"], cfg["val_clips"], cfg["clip_seconds"]

    def synth(split: str, n: int, s: int) -> ClipBank:
        key = {"kind": "synth", "split": split, "n": n, "secs": secs, "seed": s, "gen": GENERATOR}
        return cached(cache_dir, key, lambda: synth_bank(split, n, secs, s))

    if spec.kind == "synth":
        return synth("train", n_train, seed), synth("val", n_val, seed + 1_000_003)
    if spec.path is None or not Path(spec.path).is_dir():
        raise DatasetError(f"dataset folder not found: {spec.path}")
    from rppg.datasets import load_dataset

    load_dataset(spec.path, spec.kind)  # an empty or malformed folder fails here, before any work
    val = synth("val", n_val, seed + 1_000_003)
    store: dict[str, ClipBank | None] = {}

    def make_real(split: str) -> ClipBank:
        if not store:
            store["train"], store["val"] = real_banks(spec)
        return store[split] or val

    root = str(Path(spec.path).resolve())
    key = {"kind": spec.kind, "path": root, "mtime": Path(root).stat().st_mtime}
    return cached(cache_dir, key | {"split": "train"}, lambda: make_real("train")), \
        cached(cache_dir, key | {"split": "val"}, lambda: make_real("val"))


# ---------------------------------------------------------------- datasets
def window_target(crops: np.ndarray, bvp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The network input and target of one window (shared by training and validation)."""
    return preprocess(crops), preprocess_label(bvp)


class WindowDataset(Dataset):
    """``size`` random windows per epoch; item i of epoch e is the same on every rank and rerun."""

    def __init__(self, bank: ClipBank, window: int, size: int, seed: int, augment: bool = True) -> None:
        usable = bank.lengths >= window
        if not usable.any():
            raise DatasetError(f"every clip is shorter than the {window}-frame training window")
        self.bank, self.window, self.size, self.seed, self.augment = bank, window, size, seed, augment
        self.clips = np.flatnonzero(usable)
        self.weights = (bank.lengths[self.clips] - window + 1) / (bank.lengths[self.clips] - window + 1).sum()
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, i])
        k = self.clips[rng.choice(len(self.clips), p=self.weights)]
        start = rng.integers(0, len(self.bank.crops[k]) - self.window + 1)
        crops = self.bank.crops[k][start:start + self.window]
        if self.augment and rng.random() < 0.5:
            crops = crops[:, :, ::-1]
        x, y = window_target(crops, self.bank.bvp[k][start:start + self.window])
        return torch.from_numpy(x), torch.from_numpy(y)


def val_windows(bank: ClipBank, window: int) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Non-overlapping fixed windows (crops, target, reference HR from the reference pulse)."""
    out = []
    for crops, bvp in zip(bank.crops, bank.bvp, strict=True):
        for s in range(0, len(crops) - window + 1, window):
            x, y = window_target(crops[s:s + window], bvp[s:s + window])
            out.append((x, y, estimate_hr(bvp[s:s + window], MODEL_FPS).peak_bpm))
    if not out:
        raise DatasetError(f"validation clips are shorter than the {window}-frame validation window")
    return out

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

from rppg.constants import MODEL_FPS
from rppg.errors import ConfigError, DatasetError
from rppg.models.preprocess import preprocess, preprocess_label
from rppg.signal.hr import estimate_hr
from rppg_training.augment import sway
from rppg_training.synth_adapter import render_training_clip

log = logging.getLogger("rppg_training.data")

#: Bumped when bank contents change, so stale caches are not reused.
BANK_VERSION = 4
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
#: The face photographs of banks whose config names none (see SynthSpec.identities).
DEFAULT_IDENTITIES = "pyfeat"


def _render_one(args: tuple[int, int, int, str, str, str, float, str | None]) -> tuple[np.ndarray, np.ndarray] | None:
    """Render clip ``i`` (or load it from the per-clip cache, so an interrupted bank resumes)."""
    seed, i, n, split, pulse_colour, identities, redetect_s, clip_dir = args
    variant = pulse_colour if identities == DEFAULT_IDENTITIES else f"{pulse_colour}_{identities}"
    variant += f"_flow{redetect_s:g}" if redetect_s else ""
    path = Path(clip_dir) / f"{split}_{seed}_{i}_{n}_{variant}_v{BANK_VERSION}.npz" if clip_dir else None
    if path is not None and path.is_file():
        with np.load(path) as z:
            return (z["crops"], z["bvp"]) if z["crops"].size else None
    out = render_training_clip(seed, i, n, split, pulse_colour, identities, redetect_s)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        crops, bvp = out if out is not None else (np.zeros((0,), np.uint8), np.zeros(0, np.float32))
        np.savez(path.with_suffix(".tmp.npz"), crops=crops, bvp=bvp)
        path.with_suffix(".tmp.npz").replace(path)
    return out


def synth_bank(split: str, n_clips: int, clip_seconds: float, seed: int, workers: int = 1,
               pulse_colour: str = "optics", clip_dir: Path | None = None,
               identities: str = DEFAULT_IDENTITIES, redetect_s: float = 0.0) -> ClipBank:
    """Render ``n_clips`` synthetic clips through the live tracking path (``workers`` processes);
    ``split`` selects the settings (train | val, see synth_adapter), ``identities`` the face
    photographs (see SynthSpec), ``redetect_s`` the tracking (0: detection on every frame, more:
    optical flow between detections). Clips where the tracker lost the face too often are
    dropped, as their live windows would be withheld."""
    n = int(round(clip_seconds * MODEL_FPS))
    jobs = [(seed, i, n, split, pulse_colour, identities, redetect_s, str(clip_dir) if clip_dir else None)
            for i in range(n_clips)]
    bar = tqdm(total=n_clips, desc=f"render {split}", leave=False)
    results = []
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as pool:
            for r in pool.map(_render_one, jobs):
                results.append(r)
                bar.update(1)
    else:
        for job in jobs:
            results.append(_render_one(job))
            bar.update(1)
    bar.close()
    kept = [r for r in results if r is not None]
    log.info("%s: %d of %d clips kept (face tracked in enough frames)", split, len(kept), n_clips)
    return ClipBank([c for c, _ in kept], [b for _, b in kept])


# ---------------------------------------------------------------- real datasets
def real_clip_crops(clip) -> tuple[np.ndarray, np.ndarray] | None:
    """Track and crop one dataset clip through the live path, with its reference pulse on the same
    MODEL_FPS grid; None if the face was found in under 2 s of frames."""
    from rppg.windowing import crops_on_grid, track_and_crop

    with clip.open_source() as source:
        times, crops = track_and_crop(source)
    if len(crops) < 2 * MODEL_FPS:
        return None
    t0, t1 = max(times[0], clip.ref_times[0]), min(times[-1], clip.ref_times[-1])
    grid, window = crops_on_grid(times, crops, t0, t1)
    return window, np.interp(grid, clip.ref_times, clip.ref_bvp).astype(np.float32)


def unlabelled_bank(paths: list[str]) -> ClipBank:
    """Real face videos without a reference (for losses that need none), through the live path.

    Each video is tracked and cropped; stretches where the face was lost for over 0.5 s split it
    into separate clips, so no window bridges a gap. The ``bvp`` of these clips is zeros."""
    from rppg.sources.video import VideoFileSource
    from rppg.windowing import crops_on_grid, track_and_crop

    crops_out, bvp_out = [], []
    for path in tqdm(paths, desc="track real", leave=False):
        with VideoFileSource(path) as source:
            times, crops = track_and_crop(source)
        if len(times) < 2:
            continue
        cuts = np.flatnonzero(np.diff(times) > 0.5) + 1
        for seg_t, seg_c in zip(np.split(times, cuts), np.split(crops, cuts), strict=True):
            if len(seg_t) >= 4 * MODEL_FPS:
                _, window = crops_on_grid(seg_t, seg_c, float(seg_t[0]), float(seg_t[-1]))
                crops_out.append(window)
                bvp_out.append(np.zeros(len(window), np.float32))
    return ClipBank(crops_out, bvp_out)


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
    path = bank_path(cache_dir, key)
    if path.is_file():
        return ClipBank.load(path)
    bank = make()
    bank.save(path)
    return bank


#: Validation clips are drawn with the training seed plus this, per validation split: "val" (other
#: settings than training) or "use" (training's settings, see synth_adapter.split_spec).
VAL_SEED_OFFSET = {"val": 1_000_003, "use": 2_000_029}


def synth_bank_key(cfg: dict, split: str) -> dict:
    """The cache key of the synthetic ``split`` bank (train | val | use) that the ``data`` config ``cfg`` makes."""
    train = split == "train"
    n, seed = (cfg["train_clips"], cfg["seed"]) if train else (cfg["val_clips"], cfg["seed"] + VAL_SEED_OFFSET[split])
    key = {"kind": "synth", "split": split, "n": n, "secs": cfg["clip_seconds"], "seed": seed, "gen": GENERATOR,
           "pulse_colour": cfg.get("pulse_colour", "optics")}
    identities = cfg.get("identities", DEFAULT_IDENTITIES)
    if identities != DEFAULT_IDENTITIES:  # banks made before these choices existed keep their keys
        key["identities"] = identities
    if cfg.get("redetect_s", 0.0):
        key["redetect_s"] = float(cfg["redetect_s"])
    return key


def validation_bank_key(cfg: dict) -> dict:
    """The cache key of the validation bank of the ``data`` config ``cfg``: split "val" (other settings
    than training, the bank of the networks trained so far) unless its ``validation`` entry names another
    split and overrides, e.g. ``{"split": "use", "val_clips": 120, "identities": "all"}``: clips like the
    training clips but of other draws and of every face set, which rank networks as use would."""
    override = dict(cfg.get("validation", {}))
    split = override.pop("split", "val")
    return synth_bank_key(cfg | override, split)


def bank_path(cache_dir: Path, key: dict) -> Path:
    """Where ``cached`` keeps the bank for ``key``."""
    return _cache_path(Path(cache_dir), key | {"version": BANK_VERSION})


def cached_synth_bank(key: dict, cache_dir: Path | None, workers: int = 1) -> ClipBank:
    """The synthetic bank of ``key`` (from ``synth_bank_key``), rendered from the key itself so the two
    always agree, or loaded from ``cache_dir``."""
    clips = Path(cache_dir) / "clips" if cache_dir is not None else None
    return cached(cache_dir, key, lambda: synth_bank(key["split"], key["n"], key["secs"], key["seed"], workers,
                                                     key["pulse_colour"], clips,
                                                     key.get("identities", DEFAULT_IDENTITIES),
                                                     key.get("redetect_s", 0.0)))


def concat(banks: list[ClipBank]) -> ClipBank:
    """One bank with the clips of ``banks`` in order."""
    return ClipBank([c for b in banks for c in b.crops], [v for b in banks for v in b.bvp])


def load_banks(data: str, cfg: dict, cache_dir: Path | None) -> tuple[ClipBank, ClipBank]:
    """(train, val) banks for a ``--data`` value and the config's ``data`` section.

    Synthetic training data may add banks drawn with other settings: each entry of the optional
    ``extra_train`` list overrides keys of ``data`` (e.g. ``{"train_clips": 240, "seed": 8,
    "identities": "grid", "redetect_s": 0.5}``), so more clips join without re-rendering the ones
    already cached. The optional ``validation`` entry overrides keys of ``data`` for the validation
    bank the same way, and names its ``split`` ("val" by default; see ``validation_bank_key``)."""
    spec = DataSpec.parse(data)
    workers = int(cfg.get("workers", 1))

    def synth(key: dict) -> ClipBank:
        return cached_synth_bank(key, cache_dir, workers)

    if spec.kind == "synth":
        return concat([synth(synth_bank_key(cfg | extra, "train")) for extra in [{}, *cfg.get("extra_train", [])]]), \
            synth(validation_bank_key(cfg))
    if spec.path is None or not Path(spec.path).is_dir():
        raise DatasetError(f"dataset folder not found: {spec.path}")
    from rppg.datasets import load_dataset

    load_dataset(spec.path, spec.kind)  # an empty or malformed folder fails here, before any work
    val = synth(validation_bank_key(cfg))
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

    def __init__(self, bank: ClipBank, window: int, size: int, seed: int, augment: bool = True,
                 sway_px: float = 0.0) -> None:
        usable = bank.lengths >= window
        if not usable.any():
            raise DatasetError(f"every clip is shorter than the {window}-frame training window")
        self.bank, self.window, self.size, self.seed, self.augment = bank, window, size, seed, augment
        self.sway_px = sway_px  # half the windows sway by up to this many pixels (see augment.sway); 0: none
        self.clips = np.flatnonzero(usable)
        self.weights = (bank.lengths[self.clips] - window + 1) / (bank.lengths[self.clips] - window + 1).sum()
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(input, target, where): ``where`` is (clip, start, flipped), to look up cached teacher targets."""
        rng = np.random.default_rng([self.seed, self.epoch, i])
        k = self.clips[rng.choice(len(self.clips), p=self.weights)]
        start = rng.integers(0, len(self.bank.crops[k]) - self.window + 1)
        crops = self.bank.crops[k][start:start + self.window]
        flip = bool(self.augment and rng.random() < 0.5)
        if flip:
            crops = crops[:, :, ::-1]
        if self.augment and self.sway_px > 0 and rng.random() < 0.5:
            crops = sway(crops, rng, self.sway_px)
        x, y = window_target(crops, self.bank.bvp[k][start:start + self.window])
        return torch.from_numpy(x), torch.from_numpy(y), torch.tensor([int(k), int(start), int(flip)])


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

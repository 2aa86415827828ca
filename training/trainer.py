"""One trainer for every network: reference loss, optional distillation, validation, checkpoints.

Runs on the CPU by default and on CUDA when present; under ``torchrun`` it trains with
DistributedDataParallel (nccl on CUDA, gloo on CPU) and only rank 0 logs and writes.
The batch order is a pure function of (seed, step), so ``--resume`` continues exactly.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DistributedSampler
from tqdm import tqdm

from rppg.constants import MODEL_FPS, TRAIN_WINDOW
from rppg.errors import ConfigError, RppgError, WeightsError
from rppg.models import count_flops, count_params
from rppg.models.preprocess import integrate
from rppg.models.registry import build
from rppg.models.weights_io import load_weights, save_weights
from rppg.signal.hr import estimate_hr
from rppg_training.data import GENERATOR, WindowDataset, cached, load_banks, unlabelled_bank, val_windows
from rppg_training.distill import Distiller, HintAdapters, StudentWithAdapters, TeacherCache
from rppg_training.losses import reference_loss
from rppg_training.unsupervised import PairDataset, unsupervised_loss

CHECKPOINT = "checkpoint.pt"
BEST = "best.safetensors"
LOG = "metrics.jsonl"


@dataclass
class RunOptions:
    """What the command line adds to a config."""

    target: str
    out: Path
    data: str = "synth"
    steps: int | None = None
    resume: bool = False
    init: str | None = None  # weights a new run starts from (a warm start), instead of a random initialisation
    threads: int | None = None
    teacher: str | None = None
    cache_dir: Path | None = Path("data_cache")
    stop_after: int | None = None  # steps in this invocation (time-limited job slots); resume later
    command: str = field(default_factory=lambda: _command_line())
    progress: bool = True


def _command_line() -> str:
    """How this process was started, as a user would type it."""
    argv = list(sys.argv)
    if argv and argv[0].endswith(("training/__main__.py", "training\\__main__.py")):
        argv[0:1] = ["python", "-m", "training"]
    elif argv and Path(argv[0]).name == "rppg":
        argv[0] = "rppg"
    return " ".join(argv)


@dataclass
class Dist:
    """Rank, world size and device of this process."""

    rank: int = 0
    world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed() -> Dist:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1)."""
    cuda = torch.cuda.is_available()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    rank = dist.get_rank() if dist.is_initialized() else 0
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device(f"cuda:{local}") if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    return Dist(rank, world if dist.is_initialized() else 1, device)


def barrier(d: Dist) -> None:
    if d.world > 1:
        dist.barrier()


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up then cosine decay to 5 % of the peak rate."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress))


def pearson_np(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def baselines(windows: list) -> dict[str, float]:
    """Val MAE of the spectral peak of white noise: what a network that learned nothing scores."""
    rng = np.random.default_rng(0)
    ref = np.array([w[2] for w in windows])
    noise = np.array([estimate_hr(rng.normal(size=w[1].shape[0]), MODEL_FPS).peak_bpm for w in windows])
    return {"noise_mae": float(np.mean(np.abs(noise - ref)))}


class Trainer:
    """Trains ``cfg['arch']`` as configured; see the module docstring."""

    def __init__(self, cfg: dict, opts: RunOptions) -> None:
        self.cfg, self.opts = cfg, opts
        self.steps = int(opts.steps if opts.steps is not None else cfg["steps"])
        if self.steps < 1:
            raise ConfigError("--steps must be at least 1")
        if opts.init and opts.resume:
            raise ConfigError("--init starts a new run and --resume continues one: give one of them")
        if opts.init and not Path(opts.init).is_file():
            raise ConfigError(f"--init: no weights file at {opts.init}")
        threads = opts.threads or cfg.get("threads")
        if threads:
            torch.set_num_threads(int(threads))
        self.d = setup_distributed()
        self.out = Path(opts.out)
        torch.manual_seed(int(cfg.get("seed", 0)))

        # data first: a bad dataset must fail before any training work
        if self.d.main:
            self.train_bank, self.val_bank = load_banks(opts.data, cfg["data"], opts.cache_dir)
        barrier(self.d)
        if not self.d.main:
            self.train_bank, self.val_bank = load_banks(opts.data, cfg["data"], opts.cache_dir)
        batch = int(cfg["batch_size"])
        self.dataset = WindowDataset(self.train_bank, TRAIN_WINDOW, int(cfg.get("epoch_windows", 64 * batch)),
                                     seed=int(cfg["data"]["seed"]), sway_px=float(cfg.get("sway_px", 0.0)))
        self.sampler = DistributedSampler(self.dataset, num_replicas=self.d.world, rank=self.d.rank,
                                          shuffle=True, seed=int(cfg.get("seed", 0)), drop_last=True)
        self.steps_per_epoch = max(1, len(self.sampler) // batch)
        self.val = val_windows(self.val_bank, int(cfg["val_window"]))
        self.pairs = self._make_pairs()

        self.model = build(cfg["arch"]).to(self.d.device)
        if opts.init:
            load_weights(self.model, opts.init)
        self.distiller = self._make_distiller()
        self.teacher_cache: TeacherCache | None = None
        if self.distiller is not None and cfg["distill"].get("cache_teacher", False):
            self.teacher_cache = TeacherCache(self.distiller.teacher, self.train_bank.crops, self.d.device)
        # the module that is trained: the network, or the student with its hint adapters
        self.trained: nn.Module = self.model
        if self.distiller is not None:
            adapters = HintAdapters(self.model.hint_channels, self.distiller.teacher.hint_channels)
            self.trained = StudentWithAdapters(self.model, adapters).to(self.d.device)
        self.ema = self._make_ema()
        params = list(self.trained.parameters())
        self.opt = torch.optim.AdamW(params, lr=float(cfg["lr"]),
                                     weight_decay=float(cfg.get("weight_decay", 0)))
        warm = int(cfg.get("warmup_steps", 0)) or 1
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda s: lr_factor(s, warm, self.steps))
        self.step, self.best, self.best_metrics, self.wall = 0, float("inf"), {}, 0.0
        self.commands = [opts.command]  # every invocation that contributed, for the model card
        self.init = opts.init  # the warm start's weights, kept across --resume for the model card
        if opts.resume:
            self._load_checkpoint()
        self.net: nn.Module = self.trained if self.distiller else _Features(self.model)
        if self.d.world > 1:
            self.net = DistributedDataParallel(self.net)

    # ------------------------------------------------------------------ setup
    def _make_distiller(self) -> Distiller | None:
        kd = self.cfg.get("distill")
        if self.cfg["arch"] != "student" or kd is None:
            return None
        weights = {"hint": float(kd.get("hint", 0)), "output": float(kd.get("output", 0))}
        if not any(w > 0 for w in weights.values()):
            return None  # same student, same data and optimiser, no teacher: the no-KD baseline
        path = self.opts.teacher or kd.get("teacher")
        if not path:
            raise ConfigError("distillation needs teacher weights (--teacher or distill.teacher)")
        if not Path(path).is_absolute() and not Path(path).exists():
            path = Path(__file__).resolve().parents[1] / path  # config paths are relative to the repository
        teacher = build("teacher")
        load_weights(teacher, path)
        return Distiller(teacher, weights).to(self.d.device)

    def _make_ema(self) -> AveragedModel | None:
        """An exponential moving average of the weights (config ``ema``: its decay per step), which is
        what gets validated and shipped: single small-batch steps make the raw weights jumpy."""
        decay = float(self.cfg.get("ema", 0))
        if not 0 < decay < 1:
            return None
        return AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)

    @property
    def validated(self) -> nn.Module:
        """The network that is validated and saved: the weight average when there is one."""
        return self.ema.module if self.ema is not None else self.model

    def _make_pairs(self) -> PairDataset | None:
        """Window pairs from unlabelled real video, when the config asks for label-free losses."""
        u = self.cfg.get("unlabelled")
        if not u or not any(float(w) > 0 for w in u.get("weights", {}).values()):
            return None
        if self.d.world > 1:
            raise ConfigError("label-free losses on unlabelled video run in single-process training only")
        root = Path(__file__).resolve().parents[1]
        paths = [str(p if Path(p).is_absolute() or Path(p).exists() else root / p) for p in u["videos"]]
        missing = [p for p in paths if not Path(p).is_file()]
        if missing:
            raise ConfigError(f"unlabelled video not found: {missing[0]}")
        key = {"kind": "unlabelled", "split": "real", "videos": sorted(paths)}
        bank = cached(self.opts.cache_dir, key, lambda: unlabelled_bank(paths))
        return PairDataset(bank, TRAIN_WINDOW, int(u.get("shift", 60)), int(self.cfg["data"]["seed"]),
                           float(u.get("pos_snr_db", 3.0)))

    # ------------------------------------------------------------------ batches
    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """This rank's batch for ``step`` (deterministic, so resuming continues the same sequence):
        inputs, targets, and where each window came from (clip, start, flipped)."""
        epoch, j = divmod(step, self.steps_per_epoch)
        self.sampler.set_epoch(epoch)
        self.dataset.set_epoch(epoch)
        bs = int(self.cfg["batch_size"])
        idx = list(self.sampler)[j * bs:(j + 1) * bs]
        xs, ys, where = zip(*(self.dataset[i] for i in idx), strict=True)
        return torch.stack(xs).to(self.d.device), torch.stack(ys).to(self.d.device), torch.stack(where)

    def losses(self, x: torch.Tensor, y: torch.Tensor, where: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Every weighted loss term for one batch (reference terms, plus KD terms for a student;
        with a teacher cache and ``where``, the teacher's targets are read instead of computed)."""
        out, feats = self.net(x)
        terms = reference_loss(out, y, self.cfg["loss"])
        if self.distiller is not None:
            targets = None
            if self.teacher_cache is not None and where is not None:
                t_out, t_feats = self.teacher_cache.targets(where, x.shape[2])
                targets = (t_out.to(self.d.device), {k: v.to(self.d.device) for k, v in t_feats.items()})
            terms |= self.distiller(x, out, feats, targets)
        if self.pairs is not None:
            u = self.cfg["unlabelled"]
            batch = self.pairs.batch(self.step, int(u.get("batch_size", 4)))
            terms |= unsupervised_loss(self.model, tuple(b.to(self.d.device) for b in batch), u["weights"])
        return terms

    # ------------------------------------------------------------------ loop
    def fit(self) -> dict:
        """Train to ``steps``, validating and checkpointing; returns the model card (rank 0)."""
        if self.d.main:
            self.out.mkdir(parents=True, exist_ok=True)
            if self.step == 0:
                base = baselines(self.val)
                self._log({"step": 0, "split": "baseline", **base})
                self.baseline = base
        val_every = int(self.cfg["val_every"])
        bar = tqdm(total=self.steps, initial=self.step, desc=f"train {self.opts.target}",
                   disable=not (self.d.main and self.opts.progress), dynamic_ncols=True)
        self.trained.train()
        if self.distiller is not None:
            self.distiller.train()
        t_start = time.perf_counter() - self.wall
        stop = self.steps
        if self.opts.stop_after is not None:
            stop = min(self.steps, self.step + self.opts.stop_after)
        while self.step < stop:
            x, y, where = self.batch(self.step)
            terms = self.losses(x, y, where)
            loss = sum(terms.values())
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(self.trained.parameters(), float(self.cfg.get("grad_clip", 5.0)))
            self.opt.step()
            self.sched.step()
            if self.ema is not None:
                self.ema.update_parameters(self.model)
            self.step += 1
            self.wall = time.perf_counter() - t_start
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", best_mae=f"{self.best:.2f}")
            if self.d.main and (self.step % 10 == 0 or self.step == self.steps):
                self._log({"step": self.step, "split": "train", "loss": loss.item(),
                           "lr": self.sched.get_last_lr()[0], "wall_s": round(self.wall, 1),
                           **{k: v.item() for k, v in terms.items()}})
            if self.step % val_every == 0 or self.step == stop:
                if self.d.main:
                    self._validate()
                    self._save_checkpoint()
                barrier(self.d)
                self.trained.train()
        bar.close()
        if self.d.world > 1:  # batch-norm statistics: every rank keeps rank 0's, as DDP does per step
            for buf in self.model.buffers():
                dist.broadcast(buf, 0)
        card = self._finish() if self.d.main and self.step == self.steps else {}
        barrier(self.d)
        return card

    # ------------------------------------------------------------------ validation
    def evaluate(self) -> dict[str, float]:
        """Val loss (reference terms), HR MAE/RMSE from the spectral peak, waveform Pearson r."""
        net = self.validated
        net.eval()
        losses, err, rs = [], [], []
        with torch.inference_mode():
            for x, y, hr_ref in self.val:
                pred = net(torch.from_numpy(x)[None].to(self.d.device))
                yt = torch.from_numpy(y)[None].to(self.d.device)
                losses.append(sum(reference_loss(pred, yt, self.cfg["loss"]).values()).item())
                p = pred[0].cpu().numpy()
                err.append(estimate_hr(integrate(p), MODEL_FPS).peak_bpm - hr_ref)
                rs.append(pearson_np(p, y))
        err = np.abs(np.array(err))
        return {"val_loss": float(np.mean(losses)), "val_mae": float(err.mean()),
                "val_rmse": float(np.sqrt((err ** 2).mean())), "val_within5": float((err <= 5).mean()),
                "val_r": float(np.mean(rs)), "val_windows": len(self.val)}

    def _validate(self) -> None:
        metrics = self.evaluate()
        self._log({"step": self.step, "split": "val", "wall_s": round(self.wall, 1), **metrics})
        if metrics["val_mae"] < self.best:
            self.best, self.best_metrics = metrics["val_mae"], metrics | {"step": self.step}
            save_weights(self.validated, self.out / BEST, {"method": self.opts.target, "step": self.step})

    def _log(self, row: dict) -> None:
        with open(self.out / LOG, "a") as f:
            f.write(json.dumps(row) + "\n")

    # ------------------------------------------------------------------ checkpoints
    def _save_checkpoint(self) -> None:
        state = {
            "trained": self.trained.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else {},
            "opt": self.opt.state_dict(),
            "sched": self.sched.state_dict(),
            "step": self.step,
            "best": self.best,
            "best_metrics": json.dumps(self.best_metrics),
            "baseline": json.dumps(getattr(self, "baseline", {})),
            "wall": self.wall,
            "commands": json.dumps(self.commands),
            "init": self.init or "",
            "torch_rng": torch.get_rng_state(),
        }
        tmp = self.out / (CHECKPOINT + ".tmp")
        torch.save(state, tmp)
        tmp.replace(self.out / CHECKPOINT)

    def _load_checkpoint(self) -> None:
        path = self.out / CHECKPOINT
        if not path.is_file():
            raise WeightsError(f"--resume: no checkpoint in {self.out}")
        try:
            state = torch.load(path, map_location=self.d.device, weights_only=True)
            self.trained.load_state_dict(state["trained"])
            self.opt.load_state_dict(state["opt"])
            self.sched.load_state_dict(state["sched"])
            if self.ema is not None:
                self.ema.load_state_dict(state["ema"])
        except (RuntimeError, KeyError, ValueError) as exc:
            raise WeightsError(f"--resume: checkpoint {path} does not fit this run ({exc})") from None
        self.step, self.best, self.wall = int(state["step"]), float(state["best"]), float(state["wall"])
        self.best_metrics = json.loads(state["best_metrics"])
        self.baseline = json.loads(state["baseline"])
        self.commands = json.loads(state.get("commands", "[]")) + [self.opts.command]
        self.init = state.get("init") or None
        torch.set_rng_state(state["torch_rng"])

    # ------------------------------------------------------------------ export
    def _finish(self) -> dict:
        """Write <target>.safetensors (the best validation checkpoint) and its JSON card."""
        best = self.out / BEST
        if not best.is_file():
            raise RppgError(f"no validated checkpoint in {self.out}")
        final = build(self.cfg["arch"])
        load_weights(final, best)
        weights = save_weights(final, self.out / f"{self.opts.target}.safetensors",
                               {"method": self.opts.target, "step": self.best_metrics.get("step", self.step)})
        card = {
            "name": self.opts.target,
            "arch": self.cfg["arch"],
            "n_params": count_params(final),
            "flops_per_300_frames": count_flops(final, 300),
            "training_data": self._data_description(),
            "train_clips_kept": len(self.train_bank.crops),
            "val_clips_kept": len(self.val_bank.crops),
            "steps": self.step,
            "batch_size": self.cfg["batch_size"] * self.d.world,
            "window_frames": TRAIN_WINDOW,
            "wall_time_s": round(self.wall, 1),
            "device": f"{self.d.device.type} x{self.d.world} ({platform.processor() or platform.machine()}, "
                      f"{torch.get_num_threads()} threads)",
            "best_step": self.best_metrics.get("step"),
            "validation": {k: v for k, v in self.best_metrics.items() if k != "step"},
            "validation_baseline": getattr(self, "baseline", {}),
            "config": self.cfg,
            "command": " && ".join(self.commands),
            "initialised_from": self.init,
            "weights": weights.name,
        }
        (self.out / f"{self.opts.target}.json").write_text(json.dumps(card, indent=2) + "\n")
        return card

    def _data_description(self) -> str:
        d = self.cfg["data"]
        if self.opts.data == "synth":
            return (f"synthetic ({GENERATOR}): {d['train_clips']} train clips x "
                    f"{d['clip_seconds']} s (seed {d['seed']}); validation: {d['val_clips']} clips with "
                    "another seed, wider HR range and stronger noise")
        return f"{self.opts.data} (every fifth clip held out for validation)"


class _Features(nn.Module):
    """Calls ``forward_features`` as ``forward``, so DistributedDataParallel sees the call."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self.net.forward_features(x)


def train(cfg: dict, opts: RunOptions) -> dict:
    """Build a trainer and run it; returns the model card (empty on ranks other than 0)."""
    return Trainer(cfg, opts).fit()

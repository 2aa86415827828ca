"""Train the teacher, or distil the student from it (synthetic data or a real dataset).

The command-line options of training, shared by ``rppg train`` (registered as an entry point)
and ``python -m rppg_training`` (for launchers like torchrun). Writes checkpoints, a metrics.jsonl
log and finally TARGET.safetensors with a JSON model card into the run folder; copy them into
models/ to ship them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rppg_training.config import TARGETS, apply_overrides, load_config
from rppg_training.trainer import RunOptions, train


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", choices=TARGETS,
                        help="network to train: the teacher, the distilled student, or the student without "
                             "distillation (the comparison baseline)")
    parser.add_argument("--config", default=None, help="JSON config; training/configs/TARGET.json when omitted")
    parser.add_argument("--out", default=None,
                        help="run folder for checkpoints, logs and the final weights; runs/TARGET when omitted")
    parser.add_argument("--steps", type=int, default=None, help="optimiser steps; the config's when omitted")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--init", default=None, metavar="WEIGHTS",
                        help="start a new run from these weights (a .safetensors of the same network) "
                             "instead of a random initialisation, for example to train a shipped network "
                             "further; not with --resume")
    parser.add_argument("--stop-after", type=int, default=None,
                        help="train at most this many steps now, checkpoint, exit (continue with --resume)")
    parser.add_argument("--data", default="synth",
                        help="synth, or ubfc:PATH | pure:PATH | recording:PATH for a real dataset")
    parser.add_argument("--teacher", default=None,
                        help="teacher weights for distillation; the config's distill.teacher when omitted")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads; the config's when omitted")
    parser.add_argument("--seed", type=int, default=None,
                        help="initialisation and batch-order seed (the training data stay the same); "
                             "the config's when omitted")
    parser.add_argument("--set", dest="overrides", action="append", default=None, metavar="KEY=VALUE",
                        help="change one config value, dotted for nested keys, the value in JSON "
                             "(e.g. --set data.train_clips=160 --set ema=0); repeatable")
    parser.add_argument("--cache", default="data_cache", help="folder for rendered/cropped training data")
    parser.add_argument("--no-cache", action="store_true", help="rebuild the training data in memory only")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    cfg = apply_overrides(load_config(args.target, args.config), args.overrides or [])
    if args.seed is not None:
        cfg["seed"] = args.seed
    opts = RunOptions(
        target=args.target, out=Path(args.out or f"runs/{args.target}"), data=args.data, steps=args.steps,
        resume=args.resume, init=args.init, stop_after=args.stop_after, threads=args.threads, teacher=args.teacher,
        cache_dir=None if args.no_cache else Path(args.cache), progress=not args.quiet,
    )
    card = train(cfg, opts)
    if not card:  # another rank, or stopped early by --stop-after
        return 0
    v = card["validation"]
    print(f"{card['name']}: {card['n_params']} parameters, best val MAE {v['val_mae']:.2f} bpm "
          f"(noise baseline {card['validation_baseline'].get('noise_mae', float('nan')):.2f}) "
          f"-> {opts.out / card['weights']}")
    return 0

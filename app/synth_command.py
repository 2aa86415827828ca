"""Write synthetic face videos with a known pulse (UBFC-rPPG layout), for evaluation and training.

Each subject is drawn at random from the seed: heart rate, face, skin tone, size, motion, light,
camera noise, compression, frame rate (``--preset random``), or only the person with moderate,
typical-webcam conditions (``--preset typical``). ``rppg evaluate OUT_DIR --format ubfc`` reads
the result. The signal model is described in rppg/synth/README.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from rppg.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", metavar="OUT_DIR", type=Path, help="folder to create (must not hold files)")
    parser.add_argument("--subjects", type=int, default=4, help="number of videos (subject1 .. subjectN)")
    parser.add_argument("--seed", type=int, default=0, help="random seed: the same seed writes the same videos")
    parser.add_argument("--duration", type=float, default=30.0, help="length of each video in seconds")
    parser.add_argument("--preset", choices=("random", "typical"), default="random",
                        help="random: every nuisance randomised; typical: moderate webcam conditions")
    parser.add_argument("--no-pulse", action="store_true",
                        help="no pulse in the skin (reference pulse and heart rate written as zeros)")
    parser.add_argument("--width", type=int, default=640, help="frame width in pixels")
    parser.add_argument("--height", type=int, default=480, help="frame height in pixels")
    parser.add_argument("--fps", type=float, default=None,
                        help="frame rate (default: drawn per video from 24-60 with --preset random, else 30)")


def run(args: argparse.Namespace) -> int:
    from rppg.synth import write_ubfc

    out: Path = args.out_dir
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out} exists and is not an empty folder; choose a new OUT_DIR")
    if args.subjects < 1:
        raise ConfigError("--subjects must be at least 1")
    if args.duration <= 0:
        raise ConfigError("--duration must be positive")
    overrides: dict = {"duration_s": args.duration, "width": args.width, "height": args.height}
    if args.fps is not None:
        overrides["fps"] = args.fps
    if args.no_pulse:
        overrides["pulse_amplitude"] = 0.0
    with tqdm(total=args.subjects, desc="synth", unit="video") as bar:
        folders = write_ubfc(out, args.subjects, args.seed, preset=args.preset, progress=bar.update, **overrides)
    print(f"wrote {len(folders)} videos to {out}")
    return 0

"""Write synthetic clips as a UBFC-rPPG DATASET_2 folder, so every dataset tool can read them."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from rppg.errors import ConfigError
from rppg.synth.render import Scene
from rppg.synth.spec import SynthSpec

FOURCC = "MJPG"  # written and read by every OpenCV build we know of


def write_subject(folder: Path, spec: SynthSpec) -> Path:
    """Render ``spec`` into ``folder/vid.avi`` and ``folder/ground_truth.txt``; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    scene = Scene(spec)
    video = folder / "vid.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*FOURCC), float(spec.fps), (spec.width, spec.height))
    if not writer.isOpened():
        raise ConfigError(f"OpenCV cannot write {FOURCC} video to {video}")
    try:
        for i in range(len(scene.times)):
            writer.write(scene.render(i))
    finally:
        writer.release()
    lines = [scene.bvp, scene.hr, scene.times]
    (folder / "ground_truth.txt").write_text(
        "\n".join(" ".join(f"{v:.6g}" for v in np.asarray(line, np.float64)) for line in lines) + "\n")
    return folder


PRESETS = {"random": SynthSpec.random, "typical": SynthSpec.typical}


def write_ubfc(out_dir: Path, n_subjects: int, seed: int, preset: str = "random", progress=None,
               **spec_overrides) -> list[Path]:
    """Write ``subject1 .. subjectN``, specs drawn by ``SynthSpec.random`` (full domain randomisation) or
    ``SynthSpec.typical`` (``preset``) from ``seed``, fields in ``spec_overrides`` fixed.
    ``progress``, if given, is called once per finished subject.

    Frames are written back to back at the nominal rate (video files have no timestamps); the
    third line of ground_truth.txt has each frame's true capture time."""
    if preset not in PRESETS:
        raise ConfigError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    folders = []
    for k in range(1, n_subjects + 1):
        spec = PRESETS[preset](rng, **spec_overrides)
        folders.append(write_subject(out_dir / f"subject{k}", spec))
        if progress is not None:
            progress()
    return folders

"""Training clips from the project's synthetic face-video generator (rppg.synth).

Frames are rendered small (72x72, the face filling most of it), cropped with the
pipeline's own ``crop_face`` on the generator's box plus a small random jitter (as a
tracker would wobble), and resampled to MODEL_FPS by timestamps, as in the pipeline.
"""

from __future__ import annotations

import numpy as np

from rppg.constants import CROP_SIZE, MODEL_FPS
from rppg.containers import FaceBox
from rppg.face.regions import crop_face
from rppg.signal.filters import resample_uniform
from rppg.synth import SynthSpec, render_clip  # ImportError until the generator exists: data.py falls back

FRAME_SIDE = 72
#: Relative std of the box jitter (position and size): a smoothed tracker's slow wobble.
BOX_JITTER = 0.015
#: Training uses the generator's factors, but a pulse at least this strong (AC/DC, green) and
#: half its motion: the weakest, most-moving clips carry no learnable pulse at 36x36 and
#: only slowed learning in a CPU-sized budget.
MIN_PULSE = 0.003
MOTION_SCALE = 0.5


def _split_spec(rng: np.random.Generator, seconds: float, split: str) -> SynthSpec:
    spec = SynthSpec.random(rng, duration_s=seconds, width=FRAME_SIDE, height=FRAME_SIDE)
    spec = spec.replace(face_size=float(rng.uniform(0.45, 0.7)), face_x=float(rng.uniform(0.4, 0.6)),
                        face_y=float(rng.uniform(0.4, 0.6)), motion=spec.motion * MOTION_SCALE,
                        pulse_amplitude=float(np.exp(rng.uniform(np.log(MIN_PULSE), np.log(0.02)))))
    if split == "val":  # other settings than training: flat HR mix over the band, stronger noise
        spec = spec.replace(hr_bpm=float(rng.uniform(40, 190)), read_noise=spec.read_noise * 1.5 + 0.5)
    return spec


def render_training_clip(rng: np.random.Generator, n: int, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(crops uint8 (n, 36, 36, 3), bvp (n,)) at MODEL_FPS from one random synthetic clip."""
    clip = render_clip(_split_spec(rng, n / MODEL_FPS + 0.5, split))
    boxes = np.asarray(clip.boxes, np.float64)
    jitter = _smooth_walk(rng, len(boxes)) * BOX_JITTER * boxes[:, 2:3]
    crops = np.stack([
        crop_face(frame, FaceBox(b[0] + j[0], b[1] + j[1], b[2] + j[2], b[3] + j[2]), CROP_SIZE)
        for frame, b, j in zip(clip.frames, boxes, jitter, strict=True)
    ])
    times = np.asarray(clip.times, np.float64)
    grid, flat = resample_uniform(times, crops.reshape(len(crops), -1), MODEL_FPS, times[0],
                                  times[0] + (n - 1) / MODEL_FPS)
    crops_u = np.clip(np.rint(flat), 0, 255).astype(np.uint8).reshape(len(grid), CROP_SIZE, CROP_SIZE, 3)
    bvp = np.interp(grid, _bvp_times(clip), np.asarray(clip.bvp, np.float64))
    return crops_u, bvp.astype(np.float32)


def _bvp_times(clip) -> np.ndarray:
    """The generator samples the pulse at the frame times unless it says otherwise."""
    return np.asarray(getattr(clip, "bvp_times", clip.times), np.float64)


def _smooth_walk(rng: np.random.Generator, n: int, tau: float = 8.0) -> np.ndarray:
    """(n, 3) unit-std noise low-passed over ~tau frames (dx, dy, dsize)."""
    white = rng.normal(0, 1, (n, 3))
    out = np.empty_like(white)
    a, acc = 1.0 / tau, np.zeros(3)
    for i in range(n):
        acc = (1 - a) * acc + a * white[i]
        out[i] = acc
    return out / np.sqrt(a / (2 - a))

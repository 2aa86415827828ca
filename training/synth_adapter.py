"""Training clips from the project's synthetic face-video generator (rppg.synth).

Frames are rendered at webcam resolutions with faces of 60-300 px, and go through the
product's own path (``rppg.windowing``): the real BlazeFace tracker, the same crop, the
same timestamp resampling and the same uint8 rounding as live windows. So the network
is trained on the tracking jitter, scale and compression it meets in use.
"""

from __future__ import annotations

import numpy as np

from rppg.constants import MODEL_FPS
from rppg.containers import Frame
from rppg.synth import SynthSpec
from rppg.synth.render import Scene, scene_frames
from rppg.windowing import crops_on_grid, track_and_crop

#: Frame sizes drawn for training clips, with their probabilities (small ones are cheaper to render).
RESOLUTIONS = ((320, 240), (480, 360), (640, 480))
RESOLUTION_P = (0.6, 0.25, 0.15)
FACE_PX = (60.0, 300.0)
#: Training uses the generator's random factors, but a pulse at least this strong (AC/DC, green) and
#: less motion: the weakest, most-moving clips carry no learnable pulse and only slow learning.
MIN_PULSE = 0.002
MOTION_SCALE = 0.7


def split_spec(rng: np.random.Generator, seconds: float, split: str, pulse_colour: str = "optics") -> SynthSpec:
    """A random training (or validation) spec at a webcam resolution."""
    w, h = RESOLUTIONS[int(rng.choice(len(RESOLUTIONS), p=RESOLUTION_P))]
    face_px = float(np.exp(rng.uniform(np.log(FACE_PX[0]), np.log(min(FACE_PX[1], 0.8 * h)))))
    spec = SynthSpec.random(rng, duration_s=seconds, width=w, height=h)
    spec = spec.replace(face_size=face_px / h, motion=spec.motion * MOTION_SCALE,
                        pulse_amplitude=float(np.exp(rng.uniform(np.log(MIN_PULSE), np.log(0.02)))))
    if pulse_colour == "fixed":
        spec = spec.replace(pulse_rgb=(0.43, 1.0, 0.69))
    if split == "val":  # other settings than training: flat HR mix over the band, stronger noise
        spec = spec.replace(hr_bpm=float(rng.uniform(40, 190)), read_noise=spec.read_noise * 1.5 + 0.5)
    return spec


def render_training_clip(rng: np.random.Generator, n: int, split: str,
                         pulse_colour: str = "optics") -> tuple[np.ndarray, np.ndarray] | None:
    """(crops uint8 (n', 36, 36, 3), bvp (n',)) at MODEL_FPS from one random clip, or None when the
    tracker found the face in too few frames (as a live window would then be withheld)."""
    spec = split_spec(rng, n / MODEL_FPS + 1.0, split, pulse_colour)
    scene = Scene(spec)
    times, crops = track_and_crop(Frame(img, t) for img, t in scene_frames(scene))
    if len(times) < 0.8 * len(scene.times):
        return None
    t0 = float(scene.times[0])
    grid, window = crops_on_grid(times, crops, t0, t0 + (n - 1) / MODEL_FPS)
    bvp = np.interp(grid, scene.times, scene.bvp)
    return window, bvp.astype(np.float32)

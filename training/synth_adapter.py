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
#: Codec settings below these erase the pulse (webcam H.264 at 640x480 runs at 1-4 Mbit/s).
MIN_H264_KBPS = 800.0
MIN_JPEG_QUALITY = 60
#: A clip is kept only if a linear colour projection of its mean crop correlates at least this much
#: with its reference pulse (0.7-3.5 Hz). Below it the pulse is buried, and a target the input does
#: not carry only teaches the network to fit noise: with the old draws two thirds of the training
#: windows were like that, and POS itself missed them.
MIN_PULSE_VISIBILITY = 0.35
#: Redraws allowed before a clip slot is left empty.
MAX_ATTEMPTS = 4


def split_spec(rng: np.random.Generator, seconds: float, split: str, pulse_colour: str = "optics",
               identities: str = "pyfeat") -> SynthSpec:
    """A random training (or validation) spec at a webcam resolution, its photographed faces drawn
    from the identity set ``identities`` (see SynthSpec)."""
    w, h = RESOLUTIONS[int(rng.choice(len(RESOLUTIONS), p=RESOLUTION_P))]
    face_px = float(np.exp(rng.uniform(np.log(FACE_PX[0]), np.log(min(FACE_PX[1], 0.8 * h)))))
    spec = SynthSpec.random(rng, duration_s=seconds, width=w, height=h)
    spec = spec.replace(face_size=face_px / h, motion=spec.motion * MOTION_SCALE,
                        pulse_amplitude=float(np.exp(rng.uniform(np.log(MIN_PULSE), np.log(0.02)))),
                        h264_kbps=max(spec.h264_kbps, MIN_H264_KBPS) if spec.h264_kbps else 0.0,
                        jpeg_quality=max(spec.jpeg_quality, MIN_JPEG_QUALITY) if spec.jpeg_quality else 0,
                        identities=identities)
    if pulse_colour == "fixed":
        spec = spec.replace(pulse_rgb=(0.43, 1.0, 0.69))
    if split == "val":  # other settings than training: flat HR mix over the band, stronger noise
        spec = spec.replace(hr_bpm=float(rng.uniform(40, 190)), read_noise=spec.read_noise * 1.5 + 0.5)
    # split "use": training's settings with other draws, the held-out counterpart of the training data
    return spec


def pulse_visibility(crops: np.ndarray, bvp: np.ndarray) -> float:
    """How much of the reference pulse the crops carry: the correlation between the band-passed pulse
    and the best linear combination of the band-passed, DC-normalised mean colour of the crop centre.

    An upper bound on what a colour projection (POS, CHROM, or a network's first layer) can recover
    from the mean; it needs the label, so it only screens training clips."""
    from scipy.signal import butter, sosfiltfilt

    sos = butter(2, [0.7, 3.5], "bandpass", fs=MODEL_FPS, output="sos")
    h, w = crops.shape[1:3]
    rgb = crops[:, h // 4:h - h // 4, w // 4:w - w // 4].reshape(len(crops), -1, 3).mean(axis=1).astype(np.float64)
    x = sosfiltfilt(sos, rgb / np.maximum(rgb.mean(axis=0), 1e-6), axis=0)
    y = sosfiltfilt(sos, bvp.astype(np.float64) - float(np.mean(bvp)))
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    fit = x @ coef
    if fit.std() == 0 or y.std() == 0:
        return 0.0
    return float(np.corrcoef(fit, y)[0, 1])


def render_training_clip(seed: int, i: int, n: int, split: str, pulse_colour: str = "optics",
                         identities: str = "pyfeat", redetect_s: float = 0.0) -> tuple[np.ndarray, np.ndarray] | None:
    """(crops uint8 (n', 36, 36, 3), bvp (n',)) at MODEL_FPS for clip slot ``i``: the first of up to
    MAX_ATTEMPTS random clips whose face the tracker follows (as a live window is otherwise
    withheld) and whose pulse is visible (``pulse_visibility``); None when none qualifies.
    ``redetect_s``: 0 detects the face on every frame, more tracks it by optical flow in between."""
    for attempt in range(MAX_ATTEMPTS):
        rng = np.random.default_rng([seed, i] if attempt == 0 else [seed, i, attempt])
        out = _render(n, split_spec(rng, n / MODEL_FPS + 1.0, split, pulse_colour, identities), redetect_s)
        if out is not None and pulse_visibility(*out) >= MIN_PULSE_VISIBILITY:
            return out
    return None


def _render(n: int, spec: SynthSpec, redetect_s: float) -> tuple[np.ndarray, np.ndarray] | None:
    scene = Scene(spec)
    # a bank's redetect_s (a data config key) means optical flow between detections
    times, crops = track_and_crop((Frame(img, t) for img, t in scene_frames(scene)), redetect_s=redetect_s,
                                  follow="flow")
    if len(times) < 0.8 * len(scene.times):
        return None
    t0 = float(scene.times[0])
    grid, window = crops_on_grid(times, crops, t0, t0 + (n - 1) / MODEL_FPS)
    bvp = np.interp(grid, scene.times, scene.bvp)
    return window, bvp.astype(np.float32)

"""Face videos with no pulse at all: one still frame of a real face, brought to life by a camera.

A still photograph has real skin, real faces and no heartbeat. Swaying it
slowly (under 0.5 Hz, below the heart-rate band), drifting the light slowly,
adding sensor noise and lossy compression gives the everyday nuisances that fool
a heart-rate method without any pulse: any bpm read from such a clip is wrong.
Used as negatives to calibrate and test the signal quality. Rhythmic motion
inside the heart-rate band (nodding, walking) is a harder case the quality
features do not yet separate; it is deliberately not generated here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from rppg.containers import Frame
from rppg.errors import SourceError


@dataclass(frozen=True)
class StillMotion:
    """The random camera and light effects of one animated still (amplitudes in pixels, degrees, fractions)."""

    sway_hz: tuple[float, float]  # horizontal, vertical sway frequency
    sway_px: tuple[float, float]
    phase: tuple[float, float]
    roll_hz: float
    roll_deg: float
    light_hz: float  # slow brightness drift
    light_depth: float
    tint_per_s: tuple[float, float, float]  # slow colour drift of each channel (B, G, R), fraction per second
    noise_sigma: float
    jpeg_quality: int

    @classmethod
    def random(cls, rng: np.random.Generator) -> StillMotion:
        u = rng.uniform
        return cls(sway_hz=(u(0.05, 0.5), u(0.05, 0.5)), sway_px=(u(0.5, 5.0), u(0.3, 3.0)),
                   phase=(u(0, 2 * np.pi), u(0, 2 * np.pi)), roll_hz=u(0.05, 0.5), roll_deg=u(0.0, 2.0),
                   light_hz=u(0.02, 0.3), light_depth=u(0.005, 0.05),
                   tint_per_s=(u(-0.002, 0.002), u(-0.002, 0.002), u(-0.002, 0.002)),
                   noise_sigma=u(0.5, 4.0), jpeg_quality=int(rng.integers(40, 91)))


def read_still(path: str, at_s: float = 0.0) -> np.ndarray:
    """One BGR frame of the video at ``path``, ``at_s`` seconds in (or the last one before the end)."""
    capture = cv2.VideoCapture(path)
    try:
        fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
        capture.set(cv2.CAP_PROP_POS_FRAMES, int(at_s * fps))
        ok, image = capture.read()
        if not ok:
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = capture.read()
    finally:
        capture.release()
    if not ok or image is None:
        raise SourceError(f"cannot read a frame from {path}")
    return image


def animate_still(image: np.ndarray, motion: StillMotion, duration_s: float, fps: float = 30.0,
                  seed: int = 0) -> Iterator[Frame]:
    """Frames of ``image`` swayed, rolled, relit, noised and JPEG-compressed as ``motion`` says."""
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    base = image.astype(np.float32)
    for i in range(int(round(duration_s * fps))):
        t = i / fps
        dx = motion.sway_px[0] * np.sin(2 * np.pi * motion.sway_hz[0] * t + motion.phase[0])
        dy = motion.sway_px[1] * np.sin(2 * np.pi * motion.sway_hz[1] * t + motion.phase[1])
        roll = motion.roll_deg * np.sin(2 * np.pi * motion.roll_hz * t)
        warp = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), roll, 1.0)
        warp[:, 2] += (dx, dy)
        moved = cv2.warpAffine(base, warp, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        gain = (1.0 + motion.light_depth * np.sin(2 * np.pi * motion.light_hz * t)) * (
            1.0 + np.asarray(motion.tint_per_s) * t)
        lit = moved * gain.astype(np.float32) + rng.normal(0.0, motion.noise_sigma, moved.shape).astype(np.float32)
        frame = np.clip(lit, 0, 255).astype(np.uint8)
        ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, motion.jpeg_quality])
        yield Frame(cv2.imdecode(jpeg, cv2.IMREAD_COLOR) if ok else frame, t)

"""Real footage with a known pulse: a real face video whose own pulse is cancelled and a
synthetic one injected. Real skin, real motion and real camera noise, exact ground truth.

Per video, once (cached in the process): decode, track the face with the product's own
tracker, find skin pixels by colour inside the face, measure the skin's mean colour, and
band-pass (0.7-3.5 Hz) its relative variation. Per frame: divide the skin by that in-band
variation (removing the person's pulse and any in-band flicker) and multiply it by the new
pulse, with the same spatial pattern, channel ratios and regional delays as drawn faces.
The video plays back and forth (ping-pong) when the clip is longer than the video.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from scipy.signal import butter, sosfiltfilt

from rppg.errors import SourceError
from rppg.synth.spec import SynthSpec
from rppg.synth.sprite_layer import pulse_weights

CANCEL_BAND_HZ = (0.7, 3.5)
_TEMPLATE = 64  # side of the box-relative pulse-amplitude map
_SKIN_LO = np.array([0, 133, 77], np.uint8)  # YCrCb skin range
_SKIN_HI = np.array([255, 173, 127], np.uint8)


@dataclass(frozen=True)
class Footage:
    """A decoded, tracked video: frames, face boxes (NaN where none), skin masks, in-band skin variation."""

    frames: np.ndarray  # uint8 (M, h, w, 3)
    fps: float
    boxes: np.ndarray  # (M, 4)
    skin: np.ndarray  # uint8 (M, h, w) 0/255
    inband: np.ndarray  # (M, 3) relative in-band variation of the skin mean, BGR


def _skin_mask(frame: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Skin-coloured pixels inside an ellipse fitted to the face box (eyes and mouth fall out by colour)."""
    mask = np.zeros(frame.shape[:2], np.uint8)
    if np.isnan(box).any():
        return mask
    x, y, w, h = box
    cv2.ellipse(mask, (int(x + w / 2), int(y + h * 0.45)), (int(w * 0.45), int(h * 0.6)), 0, 0, 360, 255, -1)
    return cv2.inRange(cv2.cvtColor(frame, cv2.COLOR_BGR2YCrCb), _SKIN_LO, _SKIN_HI) & mask


@lru_cache(maxsize=2)
def load_footage(path: str, mtime: float) -> Footage:
    """Decode and track ``path`` once per process (``mtime`` makes an edited file reload)."""
    from rppg.containers import Frame
    from rppg.face.tracker import FaceTracker

    cap = cv2.VideoCapture(path)
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    if len(frames) < 2:
        raise SourceError(f"cannot read a face video from {path}")
    tracker = FaceTracker()
    boxes = np.full((len(frames), 4), np.nan)
    try:
        for k, frame in enumerate(frames):
            b = tracker.update(Frame(frame, k / fps))
            if b is not None:
                boxes[k] = (b.x, b.y, b.w, b.h)
    finally:
        tracker.close()
    if np.isnan(boxes[:, 0]).all():
        raise SourceError(f"no face found in {path}")
    skin = np.stack([_skin_mask(f, b) for f, b in zip(frames, boxes, strict=True)])
    means = np.array([cv2.mean(f, mask=m)[:3] if m.any() else (np.nan,) * 3 for f, m in zip(frames, skin, strict=True)])
    good = ~np.isnan(means[:, 0])
    idx = np.arange(len(frames))
    means = np.stack([np.interp(idx, idx[good], means[good, c]) for c in range(3)], axis=1)
    sos = butter(2, [CANCEL_BAND_HZ[0], min(CANCEL_BAND_HZ[1], 0.45 * fps)], btype="band", fs=fps, output="sos")
    rel = means / means.mean(axis=0) - 1.0
    inband = sosfiltfilt(sos, rel, axis=0, padlen=min(len(rel) - 1, 15))
    return Footage(np.stack(frames), float(fps), boxes, skin, inband.astype(np.float32))


def _pingpong(times: np.ndarray, fps: float, n: int) -> np.ndarray:
    """Video frame index for each clip time, playing forward then backward when the video runs out."""
    k = np.round(times * fps).astype(np.int64)
    if n == 1:
        return np.zeros_like(k)
    period = 2 * (n - 1)
    k = k % period
    return np.where(k < n, k, period - k)


class FootageLayer:
    """Frame radiance from a real video with its pulse replaced: ``boxes`` and ``radiance(i, drive)``."""

    def __init__(self, spec: SynthSpec, rngs: dict[str, np.random.Generator], times: np.ndarray,
                 light_field: np.ndarray | None) -> None:
        path = Path(spec.texture_video)
        if not path.is_file():
            raise SourceError(f"texture video not found: {path}")
        self.spec = spec
        self.footage = load_footage(str(path.resolve()), path.stat().st_mtime)
        self.light_field = light_field
        n, h, w = self.footage.frames.shape[:3]
        self.index = _pingpong(times, self.footage.fps, n)
        # cover the output frame: scale, then centre-crop
        self.scale = scale = max(spec.width / w, spec.height / h)
        self.scaled_size = (max(spec.width, int(round(w * scale))), max(spec.height, int(round(h * scale))))
        self.ox, self.oy = (self.scaled_size[0] - spec.width) // 2, (self.scaled_size[1] - spec.height) // 2
        src = self.footage.boxes[self.index]
        self.boxes = np.stack([src[:, 0] * scale - self.ox, src[:, 1] * scale - self.oy, src[:, 2] * scale,
                               src[:, 3] * scale], axis=1).astype(np.float32)
        # pulse amplitude in box-relative coordinates: the box spans the middle half of the template
        t = _TEMPLATE
        yy, xx = np.mgrid[0:t, 0:t].astype(np.float32) / t * 2 - 1  # box is [-0.5, 0.5]
        g = lambda cx, cy, r: np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))  # noqa: E731
        forehead = g(0, -0.22, 0.11)
        cheeks = g(-0.2, 0.1, 0.07) + g(0.2, 0.1, 0.07)
        face = (np.abs(xx) < 0.5) & (np.abs(yy) < 0.55)
        weights = pulse_weights(face.astype(np.float32), forehead, cheeks, spec.pulse_patchiness, rngs["maps"], t / 12)
        self.template = np.ascontiguousarray(weights.transpose(1, 2, 0))  # (t, t, 3)
        self.pulse_rgb = (spec.pulse_amplitude * np.asarray(spec.pulse_rgb, np.float32)[::-1]).astype(np.float32)

    def radiance(self, i: int, drive: np.ndarray | None) -> np.ndarray:
        s = self.spec
        k = int(self.index[i])
        frame = self.footage.frames[k].astype(np.float32)
        box = self.footage.boxes[k]
        skin = self.footage.skin[k]
        if not np.isnan(box).any() and skin.any():
            ys, xs = np.nonzero(skin)
            y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
            mask = skin[y0:y1, x0:x1, None].astype(np.float32) / 255.0
            factor = 1.0 / (1.0 + self.footage.inband[k])  # cancel the person's own pulse
            if drive is not None:
                # template (t x t) covers 2x the box around its centre -> ROI pixels
                t = _TEMPLATE
                bx, by, bw, bh = box
                a = np.array([[t / (2 * bw), 0, t / 2 - (bx + bw / 2 - x0) * t / (2 * bw)],
                              [0, t / (2 * bh), t / 2 - (by + bh / 2 - y0) * t / (2 * bh)]])
                maps = cv2.warpAffine(self.template, a, (x1 - x0, y1 - y0),
                                      flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR)
                mod = maps @ drive  # (h, w) blood volume
                factor = factor * (1.0 - mod[..., None] * self.pulse_rgb)
            else:
                factor = np.broadcast_to(factor, (y1 - y0, x1 - x0, 3))
            roi = frame[y0:y1, x0:x1]
            roi *= 1.0 + mask * (factor - 1.0)
        interp = cv2.INTER_AREA if self.scale < 1 else cv2.INTER_LINEAR
        scaled = cv2.resize(frame, self.scaled_size, interpolation=interp)
        out = scaled[self.oy:self.oy + s.height, self.ox:self.ox + s.width].copy()
        if self.light_field is not None:
            out *= self.light_field
        return out

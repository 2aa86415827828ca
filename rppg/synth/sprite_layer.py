"""The drawn scene: a face sprite whose skin carries the pulse, moving over a background.

Everything that does not change from frame to frame (sprite, pulse maps, specular map,
background, trajectories) is built once; a frame is then a few array operations on the
skin, one affine warp of the sprite and a composite.
"""

from __future__ import annotations

import cv2
import numpy as np

from rppg.synth.background import make_background
from rppg.synth.face import FaceSprite, mirrored, procedural_face, skin_bgr, smooth_noise, texture_face
from rppg.synth.motion import make_motion
from rppg.synth.spec import SynthSpec


def gauss(shape: tuple[int, int], c: np.ndarray, r: float) -> np.ndarray:
    yy, xx = np.ogrid[0:shape[0], 0:shape[1]]
    return np.exp(-((xx - c[0]) ** 2 + (yy - c[1]) ** 2) / (2 * r * r)).astype(np.float32)


def face_regions(shape: tuple[int, int], kp: np.ndarray, box_w: float) -> tuple[np.ndarray, ...]:
    """Soft forehead, cheeks and nose weights from the six keypoints."""
    eyes = (kp[0] + kp[1]) / 2
    down = kp[3] - eyes
    forehead = gauss(shape, eyes - 0.55 * down, 0.22 * box_w)
    cheeks = gauss(shape, kp[0] + 0.6 * down, 0.13 * box_w) + gauss(shape, kp[1] + 0.6 * down, 0.13 * box_w)
    nose = gauss(shape, kp[2], 0.07 * box_w)
    return forehead, cheeks, nose


def pulse_weights(skin: np.ndarray, forehead: np.ndarray, cheeks: np.ndarray, patchiness: float,
                  rng: np.random.Generator, feature_px: float) -> np.ndarray:
    """(3, h, w) pulse amplitude of the rest of the skin, the forehead and the cheeks: stronger on
    forehead and cheeks, patchy, mean 1 over the skin; regions are later driven with their own delay."""
    h, w = skin.shape
    patches = np.clip(1 + patchiness * smooth_noise(rng, h, w, max(2.0, feature_px)), 0.1, None)
    amp = skin * (0.5 + 0.8 * forehead + 0.8 * cheeks) * patches
    amp /= max(float(amp.sum()), 1e-6) / max(float(skin.sum()), 1e-6)
    total = forehead + cheeks + 0.5
    return np.stack([amp * 0.5 / total, amp * forehead / total, amp * cheeks / total]).astype(np.float32)


class SpriteLayer:
    """Frame radiance for a drawn or photographed face: ``boxes`` (N, 4) and ``radiance(i, drive)``."""

    def __init__(self, spec: SynthSpec, rngs: dict[str, np.random.Generator], times: np.ndarray,
                 light_field: np.ndarray | None) -> None:
        self.spec = spec
        self.light_field = light_field
        self.sprite, self.base_scale, anchor = self._make_sprite(rngs["face"])
        self._make_maps(rngs["maps"])
        self.motion = make_motion(spec, rngs["motion"], times)
        background = make_background(spec.background, rngs["background"], spec.height, spec.width)
        self.background = background * light_field if light_field is not None else background
        box_px = float(self.sprite.box[2]) * self.base_scale
        cx = anchor[0] + self.motion.dx * box_px
        cy = anchor[1] + self.motion.dy * box_px
        side = box_px * self.motion.scale
        self.boxes = np.stack([cx - side / 2, cy - side / 2, side, side], axis=1).astype(np.float32)
        self.pivot = (float(self.sprite.box[0] + self.sprite.box[2] / 2),
                      float(self.sprite.box[1] + self.sprite.box[3] / 2))

    def _make_sprite(self, rng: np.random.Generator) -> tuple[FaceSprite, float, np.ndarray]:
        s = self.spec
        target = s.face_size * s.height  # face box side in the frame, pixels
        skin = skin_bgr(s.skin_tone)
        if s.face_kind == "texture":
            index = s.face_index if s.face_index >= 0 else int(rng.integers(1 << 30))
            sprite = texture_face(rng, index, max(48, int(target / 123 * 320)), skin, s.identities)
        else:
            sprite = procedural_face(rng, max(48, int(target / 0.43)), skin)
        if s.mirror:
            sprite = mirrored(sprite)
        scale = target / float(sprite.box[2])
        anchor = np.array([s.face_x * s.width, s.face_y * s.height])
        # extend the torso (bottom rows) so it reaches below the frame at any scale and tilt
        box_cy = sprite.box[1] + sprite.box[3] / 2
        need = (s.height * 1.2 - anchor[1]) / (scale * 0.7) - (sprite.alpha.shape[0] - box_cy)
        if need > 0:
            pad = int(np.ceil(need))
            sprite = FaceSprite(np.pad(sprite.image, ((0, pad), (0, 0), (0, 0)), mode="edge"),
                                np.pad(sprite.alpha, ((0, pad), (0, 0)), mode="edge"),
                                np.pad(sprite.skin, ((0, pad), (0, 0))), sprite.box, sprite.keypoints)
        return sprite, scale, anchor

    def _make_maps(self, rng: np.random.Generator) -> None:
        """Pulse amplitude per region and pixel, specular map, jaw warp; premultiplied sprite."""
        s, sp = self.spec, self.sprite
        h, w = sp.alpha.shape
        bw = float(sp.box[2])
        forehead, cheeks, nose = face_regions((h, w), sp.keypoints, bw)
        rows, cols = np.nonzero(sp.skin > 0.01)
        if len(rows) == 0:
            rows, cols = np.array([0, 1]), np.array([0, 1])
        self.skin_slice = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
        weights = pulse_weights(sp.skin, forehead, cheeks, s.pulse_patchiness, rng, bw / 6)
        self.pulse_maps = np.ascontiguousarray(weights[:, self.skin_slice[0], self.skin_slice[1]])
        self.pulse_rgb = (s.pulse_amplitude * np.asarray(s.pulse_rgb, np.float32)[::-1]).astype(np.float32)
        spec_map = sp.skin * (forehead + nose + 0.4 * cheeks) * sp.alpha
        self.specular_map = (spec_map * 255.0).astype(np.float32)[..., None]
        self.sprite_rgba = np.dstack([sp.image * sp.alpha[..., None], sp.alpha]).astype(np.float32)
        self.jaw_field = None
        if s.talking > 0:
            mouth = sp.keypoints[3]
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            below = np.clip((yy - mouth[1]) / (0.08 * bw), 0, 1)
            fade = np.exp(-((xx - mouth[0]) / (0.45 * bw)) ** 2) * np.clip(
                1 - (yy - mouth[1] - 0.45 * bw) / (0.3 * bw), 0, 1)
            self.jaw_field = (xx, yy, (0.04 * bw * below * fade).astype(np.float32))
            gap = ((xx - mouth[0]) / (0.12 * bw)) ** 2 + ((yy - mouth[1] - 0.01 * bw) / (0.022 * bw)) ** 2
            self.mouth_gap = np.exp(-gap).astype(np.float32)

    def _sprite_at(self, i: int, drive: np.ndarray | None) -> np.ndarray:
        rgba = self.sprite_rgba.copy()
        if drive is not None:
            mod = np.tensordot(drive, self.pulse_maps, axes=1)  # (h, w) blood volume per pixel
            region = rgba[self.skin_slice[0], self.skin_slice[1], :3]
            region *= 1.0 - mod[..., None] * self.pulse_rgb  # more blood -> darker, most in green
        m = self.motion
        if self.spec.specular > 0:
            glint = self.spec.specular * (0.5 + 0.5 * np.tanh(m.angle[i] / 4.0 + 3.0 * m.dx[i] + 2.0 * m.dy[i]))
            rgba[..., :3] += self.specular_map * np.float32(glint)
        if self.jaw_field is not None and m.jaw[i] > 0.01:
            xx, yy, field = self.jaw_field
            rgba[..., :3] *= (1 - 0.85 * np.float32(m.jaw[i]) * self.mouth_gap)[..., None]
            rgba = cv2.remap(rgba, xx, yy - np.float32(m.jaw[i]) * field, cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
        return rgba

    def radiance(self, i: int, drive: np.ndarray | None) -> np.ndarray:
        """Frame ``i`` before global light and camera: float32 (H, W, 3) BGR. ``drive``: (3,) pulse of
        the rest / forehead / cheek regions (None = no pulse)."""
        s, m = self.spec, self.motion
        frame = self.background.copy()
        box = self.boxes[i]
        centre = np.array([box[0] + box[2] / 2, box[1] + box[3] / 2], np.float64)
        M = cv2.getRotationMatrix2D(self.pivot, float(m.angle[i]), self.base_scale * float(m.scale[i]))
        M[:, 2] += centre - self.pivot
        h, w = self.sprite.alpha.shape
        corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ M.T
        x0, y0 = np.maximum(np.floor(corners.min(0)).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(corners.max(0)).astype(int), [s.width, s.height])
        if x1 > x0 and y1 > y0:
            M[:, 2] -= (x0, y0)
            warped = cv2.warpAffine(self._sprite_at(i, drive), M, (int(x1 - x0), int(y1 - y0)),
                                    flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            roi = frame[y0:y1, x0:x1]
            colour = warped[..., :3]
            if self.light_field is not None:
                colour *= self.light_field[y0:y1, x0:x1]
            roi *= 1.0 - warped[..., 3:4]
            roi += colour
        return frame

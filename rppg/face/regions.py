"""Regions cut from a tracked face: the network crop and the skin patches for classical methods.

Skin patches (forehead above the brows, both cheeks below the eyes and any
glasses rim) are placed from the BlazeFace eye keypoints when present, else from
fixed fractions of the box. Inside them soft skin-colour weights drop hair,
brows and background. On real video and under head motion this beats a plain
whole-box average (README, "Face tracking and skin regions").
"""

from __future__ import annotations

import cv2
import numpy as np

from rppg.constants import CROP_SIZE
from rppg.containers import FaceBox

#: The network crop is a square this many times the larger box side, centred on the box.
CROP_SCALE = 1.2

#: Skin weighting: a pixel counts fully when its chroma (Cr, Cb) is within about this distance
#: of the patch's median chroma, and fades out smoothly beyond it.
_CHROMA_SIGMA = 14.0
_LUMA_SIGMA = 50.0
_MIN_SKIN_SHARE = 0.3


def crop_face(image: np.ndarray, box: FaceBox, size: int = CROP_SIZE) -> np.ndarray:
    """Square crop around the face, area-resampled to ``size``; out-of-image parts are edge-padded."""
    cx, cy = box.center
    side = max(box.w, box.h) * CROP_SCALE
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    x1, y1 = x0 + max(int(round(side)), 1), y0 + max(int(round(side)), 1)
    h, w = image.shape[:2]
    patch = image[max(y0, 0):min(y1, h), max(x0, 0):min(x1, w)]
    if patch.size == 0:
        return np.zeros((size, size, 3), np.uint8)
    pad = (max(0, -y0), max(0, y1 - h), max(0, -x0), max(0, x1 - w))
    if any(pad):
        patch = cv2.copyMakeBorder(patch, *pad, cv2.BORDER_REPLICATE)
    return cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)


def skin_rects(box: FaceBox) -> list[tuple[int, int, int, int]]:
    """Forehead, right cheek, left cheek as (x, y, w, h) rectangles, from the eye keypoints
    when present, else from fixed fractions of the box."""
    if box.keypoints is not None:
        (rex, rey), (lex, ley) = box.keypoints[:2]
        eye_dist = max(abs(lex - rex), 1.0)
        eye_y = (rey + ley) / 2
        left_eye_x, right_eye_x = min(rex, lex), max(rex, lex)
        cheek_w = cheek_h = 0.42 * eye_dist
        cheek_y = eye_y + 0.3 * eye_dist
        rects = [(left_eye_x, eye_y - 1.0 * eye_dist, eye_dist, 0.45 * eye_dist),
                 (left_eye_x - 0.25 * eye_dist, cheek_y, cheek_w, cheek_h),
                 (right_eye_x + 0.25 * eye_dist - cheek_w, cheek_y, cheek_w, cheek_h)]
    else:
        x, y, w, h = box.x, box.y, box.w, box.h
        rects = [(x + 0.3 * w, y + 0.08 * h, 0.4 * w, 0.15 * h),
                 (x + 0.15 * w, y + 0.5 * h, 0.2 * w, 0.2 * h),
                 (x + 0.65 * w, y + 0.5 * h, 0.2 * w, 0.2 * h)]
    return [(int(round(rx)), int(round(ry)), max(int(round(rw)), 1), max(int(round(rh)), 1))
            for rx, ry, rw, rh in rects]


def _patch(image: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    h, w = image.shape[:2]
    rx, ry, rw, rh = rect
    return image[max(ry, 0):min(ry + rh, h), max(rx, 0):min(rx + rw, w)]


def skin_weights(patch: np.ndarray, reference: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Soft skin weights (0..1) per pixel, and the patch's median YCrCb.

    A pixel counts fully when its colour is close to ``reference`` (the skin colour, by
    default this patch's median) and fades out smoothly beyond: hair, brows, glasses rims
    and background drop out without a fixed colour range, so every skin tone and light
    colour works, and no pixel flickers in and out of the mean at a threshold.
    """
    ycc = cv2.cvtColor(patch, cv2.COLOR_BGR2YCrCb).astype(np.float32)
    median = np.median(ycc.reshape(-1, 3), axis=0)
    ref = median if reference is None else reference
    chroma2 = (ycc[..., 1] - ref[1]) ** 2 + (ycc[..., 2] - ref[2]) ** 2
    luma2 = (ycc[..., 0] - ref[0]) ** 2
    return np.exp(-0.5 * (chroma2 / _CHROMA_SIGMA**2 + luma2 / _LUMA_SIGMA**2)), median


class SkinSampler:
    """Weighted mean R, G, B of the skin in the forehead and cheek patches, once per frame.

    Each patch's reference skin colour is a slow running average of its median, so the
    weights stay steady from frame to frame (a per-frame reference adds its own noise).
    Patches where too little looks like that skin are averaged whole.
    """

    def __init__(self, smoothing: float = 0.05) -> None:
        self.smoothing = smoothing
        self.reset()

    def reset(self) -> None:
        self._refs: list[np.ndarray | None] = [None, None, None]

    def __call__(self, image: np.ndarray, box: FaceBox) -> np.ndarray | None:
        total, weight = np.zeros(3), 0.0
        for i, rect in enumerate(skin_rects(box)):
            patch = _patch(image, rect)
            if patch.size == 0:
                continue
            w, median = skin_weights(patch, self._refs[i])
            ref = self._refs[i]
            self._refs[i] = median if ref is None else ref + self.smoothing * (median - ref)
            if w.mean() < _MIN_SKIN_SHARE:
                w = np.ones(patch.shape[:2], np.float32)
            total += np.tensordot(w, patch.astype(np.float32), axes=([0, 1], [0, 1]))[::-1]  # BGR -> RGB
            weight += float(w.sum())
        return total / weight if weight > 0 else None


def box_mean_rgb(image: np.ndarray, box: FaceBox) -> np.ndarray | None:
    """Mean R, G, B over the central part of the box: the plain baseline without skin regions."""
    x0, y0 = int(box.x + 0.1 * box.w), int(box.y + 0.1 * box.h)
    patch = _patch(image, (x0, y0, int(0.8 * box.w), int(0.8 * box.h)))
    if patch.size == 0:
        return None
    b, g, r, _ = cv2.mean(patch)
    return np.array([r, g, b])

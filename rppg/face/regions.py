"""Regions cut from a tracked face: the network crop and the skin patches for classical methods.

Skin patches (forehead, both cheeks) are placed from the BlazeFace keypoints
when present, else from fixed fractions of the box. Inside them a YCrCb skin
mask drops hair, brows and background, which is what lifts the classical
methods above a plain whole-box average.
"""

from __future__ import annotations

import cv2
import numpy as np

from rppg.constants import CROP_SIZE
from rppg.containers import FaceBox

#: The network crop is a square this many times the larger box side, centred on the box.
CROP_SCALE = 1.2

# YCrCb skin range; wide enough for dark and light skin under warm or cool light.
_SKIN_LO = np.array([0, 128, 70], np.uint8)
_SKIN_HI = np.array([255, 180, 135], np.uint8)
_MIN_SKIN_SHARE = 0.15


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
    """Forehead, right cheek, left cheek as (x, y, w, h) rectangles."""
    if box.keypoints is not None:
        (rex, rey), (lex, ley) = box.keypoints[:2]
        eye_dist = max(abs(lex - rex), 1.0)
        eye_y = (rey + ley) / 2
        forehead = (min(rex, lex), eye_y - 0.95 * eye_dist, eye_dist, 0.45 * eye_dist)
        cheek_w = cheek_h = 0.42 * eye_dist
        cheek_y = eye_y + 0.3 * eye_dist
        right = (min(rex, lex) - 0.25 * eye_dist, cheek_y, cheek_w, cheek_h)
        left = (max(rex, lex) + 0.25 * eye_dist - cheek_w, cheek_y, cheek_w, cheek_h)
        rects = [forehead, right, left]
    else:
        x, y, w, h = box.x, box.y, box.w, box.h
        rects = [(x + 0.3 * w, y + 0.08 * h, 0.4 * w, 0.15 * h),
                 (x + 0.15 * w, y + 0.5 * h, 0.2 * w, 0.2 * h),
                 (x + 0.65 * w, y + 0.5 * h, 0.2 * w, 0.2 * h)]
    return [(int(round(rx)), int(round(ry)), max(int(round(rw)), 1), max(int(round(rh)), 1))
            for rx, ry, rw, rh in rects]


def skin_mean_rgb(image: np.ndarray, box: FaceBox) -> np.ndarray | None:
    """Mean R, G, B of skin pixels in the forehead and cheek patches; None when none is visible."""
    h, w = image.shape[:2]
    total = np.zeros(3, np.float64)
    count = 0
    for rx, ry, rw, rh in skin_rects(box):
        patch = image[max(ry, 0):min(ry + rh, h), max(rx, 0):min(rx + rw, w)]
        if patch.size == 0:
            continue
        mask = cv2.inRange(cv2.cvtColor(patch, cv2.COLOR_BGR2YCrCb), _SKIN_LO, _SKIN_HI)
        n = cv2.countNonZero(mask)
        if n < _MIN_SKIN_SHARE * mask.size:  # odd light or skin tone: trust the patch, not the mask
            mask, n = None, patch.shape[0] * patch.shape[1]
        b, g, r, _ = cv2.mean(patch, mask=mask)
        total += np.array([r, g, b]) * n
        count += n
    return total / count if count else None


def box_mean_rgb(image: np.ndarray, box: FaceBox) -> np.ndarray | None:
    """Mean R, G, B over the central part of the box: the plain baseline without skin regions."""
    h, w = image.shape[:2]
    x0, y0 = int(box.x + 0.1 * box.w), int(box.y + 0.1 * box.h)
    x1, y1 = int(box.x + 0.9 * box.w), int(box.y + 0.9 * box.h)
    patch = image[max(y0, 0):min(y1, h), max(x0, 0):min(x1, w)]
    if patch.size == 0:
        return None
    b, g, r, _ = cv2.mean(patch)
    return np.array([r, g, b])

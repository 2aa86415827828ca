"""Regions cut from a tracked face: the network crop and the skin patches for classical methods.

Skin patches (forehead above the brows, both cheeks below the eyes and any
glasses rim) are placed from the BlazeFace eye keypoints when present, else from
fixed fractions of the box. With keypoints, the crop and the patches turn with
the eye line, so a tilted or upside-down face is cropped upright and its patches
stay on the skin. Inside them soft skin-colour weights drop hair,
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


def face_angle(box: FaceBox) -> float:
    """Roll of the face in degrees (0 upright, 90 turned clockwise in the image), from the eye line;
    0 without keypoints."""
    if box.keypoints is None:
        return 0.0
    (rex, rey), (lex, ley) = box.keypoints[:2]
    if rex == lex and rey == ley:
        return 0.0
    return float(np.degrees(np.arctan2(ley - rey, lex - rex)))


#: The crop is turned upright only for faces tilted at least this much. Below it the plain crop is
#: kept: switching between the two resamplings from frame to frame (an eye line wobbling around a
#: small threshold) changes the crop's texture and shows up as a flickering frame difference.
ROTATE_CROP_DEG = 10.0


def crop_face(image: np.ndarray, box: FaceBox, size: int = CROP_SIZE) -> np.ndarray:
    """Square crop around the face, turned upright by the eye line, area-resampled to ``size``;
    out-of-image parts are edge-padded."""
    cx, cy = box.center
    side = max(box.w, box.h) * CROP_SCALE
    angle = face_angle(box)
    if abs(angle) >= ROTATE_CROP_DEG:
        n = max(int(round(side)), 1)
        turn = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)  # rotates the face upright about its centre
        turn[:, 2] += (n / 2.0 - cx, n / 2.0 - cy)
        patch = cv2.warpAffine(image, turn, (n, n), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
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


class SkinRect(tuple):
    """(x, y, w, h) of a patch as if the face were upright, turned by ``angle`` degrees about its
    centre. Unpacks like a plain rectangle; ``corners`` gives the turned outline."""

    angle: float

    def __new__(cls, x: int, y: int, w: int, h: int, angle: float = 0.0) -> SkinRect:
        rect = super().__new__(cls, (x, y, w, h))
        rect.angle = angle
        return rect

    def corners(self) -> np.ndarray:
        return rect_corners(self)


def rect_corners(rect: tuple) -> np.ndarray:
    """(4, 2) outline of a rectangle (x, y, w, h) turned by its ``angle`` (0 for a plain tuple)."""
    x, y, w, h = rect[:4]
    a = np.radians(getattr(rect, "angle", 0.0))
    c = np.array([x + w / 2.0, y + h / 2.0])
    local = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2.0
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return c + local @ rot.T


def skin_rects(box: FaceBox) -> list[SkinRect]:
    """Forehead, right cheek, left cheek, from the eye keypoints when present (turned with the eye
    line), else from fixed fractions of the box."""
    if box.keypoints is None:
        x, y, w, h = box.x, box.y, box.w, box.h
        rects = [(x + 0.3 * w, y + 0.08 * h, 0.4 * w, 0.15 * h),
                 (x + 0.15 * w, y + 0.5 * h, 0.2 * w, 0.2 * h),
                 (x + 0.65 * w, y + 0.5 * h, 0.2 * w, 0.2 * h)]
        return [SkinRect(int(round(rx)), int(round(ry)), max(int(round(rw)), 1), max(int(round(rh)), 1))
                for rx, ry, rw, rh in rects]
    (rex, rey), (lex, ley) = box.keypoints[:2]
    eye_dist = max(float(np.hypot(lex - rex, ley - rey)), 1.0)
    angle = face_angle(box)
    across = np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle))])  # along the eye line
    down = np.array([-across[1], across[0]])  # from the eyes towards the mouth
    mid = np.array([(rex + lex) / 2.0, (rey + ley) / 2.0])
    cheek = 0.42 * eye_dist
    # centre (along the eye line, down the face) and size, in eye distances / pixels
    layout = [((0.0, -0.775), eye_dist, 0.45 * eye_dist), ((-0.54, 0.51), cheek, cheek), ((0.54, 0.51), cheek, cheek)]
    out = []
    for (u, v), rw, rh in layout:
        cx, cy = mid + eye_dist * (u * across + v * down)
        rw, rh = max(int(round(rw)), 1), max(int(round(rh)), 1)
        out.append(SkinRect(int(round(cx - rw / 2.0)), int(round(cy - rh / 2.0)), rw, rh, angle))
    return out


def _patch(image: np.ndarray, rect: tuple) -> tuple[np.ndarray, np.ndarray | None]:
    """The pixels around ``rect`` and, for a turned rectangle, a 0/1 mask of the ones inside it."""
    h, w = image.shape[:2]
    if abs(getattr(rect, "angle", 0.0)) <= 0.5:
        rx, ry, rw, rh = rect[:4]
        return image[max(ry, 0):min(ry + rh, h), max(rx, 0):min(rx + rw, w)], None
    corners = rect_corners(rect)
    x0, y0 = np.floor(corners.min(axis=0)).astype(int)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return image[0:0, 0:0], None
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillConvexPoly(mask, np.round(corners - (x0, y0)).astype(np.int32), 1)
    return image[y0:y1, x0:x1], mask.astype(np.float32)


def skin_weights(patch: np.ndarray, reference: np.ndarray | None = None,
                 with_median: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Soft skin weights (0..1) per pixel, and the patch's median YCrCb (None when
    ``with_median`` is off and a ``reference`` is given).

    A pixel counts fully when its colour is close to ``reference`` (the skin colour, by
    default this patch's median) and fades out smoothly beyond: hair, brows, glasses rims
    and background drop out without a fixed colour range, so every skin tone and light
    colour works, and no pixel flickers in and out of the mean at a threshold.
    """
    ycc = cv2.cvtColor(patch, cv2.COLOR_BGR2YCrCb).astype(np.float32)
    median = np.median(ycc.reshape(-1, 3), axis=0) if with_median or reference is None else None
    ref = median if reference is None else reference
    chroma2 = (ycc[..., 1] - ref[1]) ** 2 + (ycc[..., 2] - ref[2]) ** 2
    luma2 = (ycc[..., 0] - ref[0]) ** 2
    return np.exp(-0.5 * (chroma2 / _CHROMA_SIGMA**2 + luma2 / _LUMA_SIGMA**2)), median


#: The skin references follow each patch's median slowly, so the median (a large share of the
#: per-frame cost) is taken every this many frames, with the gain that moves the reference as far.
_REFRESH_EVERY = 4


class SkinSampler:
    """Weighted mean R, G, B of the skin in the forehead and cheek patches, once per frame.

    Each patch's reference skin colour is a slow running average of its median, so the
    weights stay steady from frame to frame (a per-frame reference adds its own noise).
    Patches where too little looks like that skin are averaged whole.
    """

    def __init__(self, smoothing: float = 0.05) -> None:
        self.smoothing = smoothing
        self._gain = 1.0 - (1.0 - smoothing) ** _REFRESH_EVERY
        self.reset()

    def reset(self) -> None:
        self._refs: list[np.ndarray | None] = [None, None, None]
        self._frames = 0
        #: Each patch's own weighted mean R, G, B from the last call (3, 3): lets the quality check
        #: whether the forehead and the cheeks pulse together.
        self.last_regions: np.ndarray | None = None

    def __call__(self, image: np.ndarray, box: FaceBox) -> np.ndarray | None:
        total, weight = np.zeros(3), 0.0
        regions = np.full((3, 3), np.nan)
        refresh = self._frames % _REFRESH_EVERY == 0
        self._frames += 1
        for i, rect in enumerate(skin_rects(box)):
            patch, inside = _patch(image, rect)
            if patch.size == 0 or (inside is not None and inside.sum() == 0):
                continue
            ref = self._refs[i]
            w, median = skin_weights(patch, ref, with_median=refresh)
            if ref is None:
                self._refs[i] = median
            elif median is not None:
                self._refs[i] = ref + self._gain * (median - ref)
            if w.mean() < _MIN_SKIN_SHARE:
                w = np.ones(patch.shape[:2], np.float32)
            if inside is not None:
                w = w * inside
            sums = np.tensordot(w, patch.astype(np.float32), axes=([0, 1], [0, 1]))[::-1]  # BGR -> RGB
            total += sums
            weight += float(w.sum())
            regions[i] = sums / max(float(w.sum()), 1e-9)
        if weight <= 0:
            self.last_regions = None
            return None
        mean = total / weight
        self.last_regions = np.where(np.isfinite(regions), regions, mean)
        return mean


def box_mean_rgb(image: np.ndarray, box: FaceBox) -> np.ndarray | None:
    """Mean R, G, B over the central part of the box: the plain baseline without skin regions."""
    x0, y0 = int(box.x + 0.1 * box.w), int(box.y + 0.1 * box.h)
    patch, _ = _patch(image, (x0, y0, int(0.8 * box.w), int(0.8 * box.h)))
    if patch.size == 0:
        return None
    b, g, r, _ = cv2.mean(patch)
    return np.array([r, g, b])

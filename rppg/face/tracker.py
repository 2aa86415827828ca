"""Face tracking: detection per frame, identity kept across frames, boxes smoothed.

Smoothing is a one-euro-style adaptive filter: still faces get heavy smoothing
(no jitter in the crop, which would swamp a 0.5 % pulse), fast moves are
followed at once. A missed detection holds the last box for ``hold_s`` seconds
so a single dropped detection does not blank the signal.
"""

from __future__ import annotations

import numpy as np

from rppg.containers import FaceBox, Frame
from rppg.face.detectors import make_detector


def iou(a: FaceBox, b: FaceBox) -> float:
    x0, y0 = max(a.x, b.x), max(a.y, b.y)
    x1, y1 = min(a.x + a.w, b.x + b.w), min(a.y + a.h, b.y + b.h)
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def _as_vector(box: FaceBox) -> np.ndarray:
    kp = box.keypoints.reshape(-1) if box.keypoints is not None else np.zeros(0, np.float32)
    return np.concatenate([[box.x, box.y, box.w, box.h], kp]).astype(np.float64)


def _from_vector(v: np.ndarray, score: float, has_keypoints: bool) -> FaceBox:
    kp = v[4:].reshape(-1, 2).astype(np.float32) if has_keypoints else None
    return FaceBox(float(v[0]), float(v[1]), float(v[2]), float(v[3]), kp, score)


class FaceTracker:
    """Follows one face: the one it was tracking, else the largest; ``None`` when there is none."""

    def __init__(self, detector: str = "mediapipe", hold_s: float = 0.5,
                 min_cutoff_hz: float = 0.4, beta: float = 0.02, acquire_score: float = 0.7) -> None:
        self._detector = make_detector(detector)
        self.acquire_score = acquire_score
        self.detector_name = self._detector.name
        self.hold_s = hold_s
        self.min_cutoff_hz = min_cutoff_hz
        self.beta = beta
        self.reset()

    def reset(self) -> None:
        self._state: np.ndarray | None = None
        self._box: FaceBox | None = None
        self._last_seen = -np.inf
        self._last_t: float | None = None

    def _pick(self, faces: list[FaceBox]) -> FaceBox | None:
        if not faces:
            return None
        if self._box is not None:
            best = max(faces, key=lambda f: iou(f, self._box))
            if iou(best, self._box) > 0.2:
                return best
        # A new track needs a confident detection: weak ones on clouds or posters stay out.
        confident = [f for f in faces if f.score >= self.acquire_score]
        return max(confident, key=lambda f: f.area) if confident else None

    def _smooth(self, raw: np.ndarray, dt: float) -> np.ndarray:
        if self._state is None or len(self._state) != len(raw):
            return raw
        speed = np.abs(raw - self._state) / max(dt, 1e-3)  # pixels per second
        cutoff = self.min_cutoff_hz + self.beta * speed
        alpha = 1.0 / (1.0 + 1.0 / (2 * np.pi * cutoff * max(dt, 1e-3)))
        return self._state + alpha * (raw - self._state)

    def update(self, frame: Frame) -> FaceBox | None:
        dt = frame.t - self._last_t if self._last_t is not None else 1 / 30
        self._last_t = frame.t
        face = self._pick(self._detector.detect(frame.image))
        if face is None:
            if frame.t - self._last_seen > self.hold_s:
                self._box, self._state = None, None
            return self._box
        if self._box is not None and iou(face, self._box) < 0.2:
            self._state = None  # a different face or a jump: start over, do not glide across
        raw = _as_vector(face)
        self._state = self._smooth(raw, dt)
        self._box = _from_vector(self._state, face.score, face.keypoints is not None)
        self._last_seen = frame.t
        return self._box

    def close(self) -> None:
        self._detector.close()

"""Face tracking: the detector runs only when needed, optical flow follows the face in between.

BlazeFace costs a few milliseconds per frame, many times the rest of the per-frame
work. So the detector runs every ``redetect_s`` seconds (by timestamps, not frame
counts), and whenever the flow loses confidence; between detections a few corner
points inside the face are followed with pyramidal Lucas-Kanade flow on a small
grayscale copy, and the box and keypoints move with the similarity transform
(shift, scale, rotation) those points agree on. A detection corrects the flow's slow
drift gently (``DETECTION_GAIN``) instead of replacing the box.

The box is then smoothed by a one-euro-style adaptive filter: still faces get heavy
smoothing (no jitter in the crop, which would swamp a 0.5 % pulse), fast moves are
followed at once. A missed detection holds the last box for ``hold_s`` seconds so a
single dropped detection does not blank the signal.
"""

from __future__ import annotations

import cv2
import numpy as np

from rppg.containers import FaceBox, Frame
from rppg.face.detectors import make_detector

#: How the box moves between detections (see FaceTracker).
FOLLOW_MODES = ("flow", "hold")
#: Holding the box is for still faces: above this speed of the smoothed box's centre (face widths
#: per second) the detector runs on every frame. A still face's smoothed box drifts at a few
#: hundredths of a width per second; a head turning or leaning moves several tenths.
HOLD_MAX_SPEED = 0.15
#: Flow runs on a grayscale copy whose longer side is at most this many pixels.
FLOW_SIDE = 320
#: Points to follow inside the face, and the fewest that still count as tracking.
_MAX_POINTS = 24
_MIN_POINTS = 8
#: A detection pulls the flow-tracked box this far towards itself. The flow is exact from frame
#: to frame but drifts slowly; the detector does not drift but its boxes jitter by a few pixels.
#: A small share of each correction removes drift over some seconds without putting a step into
#: the box (and the skin patches) at every detection, which would add a ripple at the detection
#: rate (2 Hz, inside the heart-rate band) to the signal: on the real clip a gain of 0.25 cost
#: 1 dB of SNR at the reference heart rate, 0.05 about 0.4 dB, against detecting on every frame.
DETECTION_GAIN = 0.05
#: When flow and detection disagree by more than this share of the box width, the flow has
#: slipped: take the detection whole.
_SNAP_APART = 0.15
_LK = {"winSize": (11, 11), "maxLevel": 2,
       "criteria": (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 10, 0.03)}


def iou(a: FaceBox, b: FaceBox) -> float:
    x0, y0 = max(a.x, b.x), max(a.y, b.y)
    x1, y1 = min(a.x + a.w, b.x + b.w), min(a.y + a.h, b.y + b.h)
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def _apart(a: FaceBox, b: FaceBox) -> float:
    """Distance between two boxes' centres, as a share of the first box's width."""
    return float(np.hypot(a.center[0] - b.center[0], a.center[1] - b.center[1]) / max(a.w, 1.0))


def _as_vector(box: FaceBox) -> np.ndarray:
    kp = box.keypoints.reshape(-1) if box.keypoints is not None else np.zeros(0, np.float32)
    return np.concatenate([[box.x, box.y, box.w, box.h], kp]).astype(np.float64)


def _from_vector(v: np.ndarray, score: float, has_keypoints: bool) -> FaceBox:
    kp = v[4:].reshape(-1, 2).astype(np.float32) if has_keypoints else None
    return FaceBox(float(v[0]), float(v[1]), float(v[2]), float(v[3]), kp, score)


def _moved(v: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The box vector moved by the 2x3 similarity ``m`` (full-image pixels): the box keeps its
    axes (centre moved, sides scaled), the keypoints take the whole transform."""
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    cx, cy = v[0] + v[2] / 2, v[1] + v[3] / 2
    ncx, ncy = m @ np.array([cx, cy, 1.0])
    w, h = v[2] * scale, v[3] * scale
    out = v.copy()
    out[:4] = ncx - w / 2, ncy - h / 2, w, h
    if len(v) > 4:
        kp = v[4:].reshape(-1, 2)
        out[4:] = (kp @ m[:, :2].T + m[:, 2]).reshape(-1)
    return out


class FlowTracker:
    """Corner points inside the face, followed frame to frame by Lucas-Kanade flow; reports the
    similarity transform most of them agree on (RANSAC), or None when too few agree."""

    def __init__(self, side: int = FLOW_SIDE) -> None:
        self.side = side
        self.reset()

    def reset(self) -> None:
        self._gray: np.ndarray | None = None
        self._points: np.ndarray | None = None
        self._scale = 1.0

    def _small_gray(self, image: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        self._scale = min(1.0, self.side / max(gray.shape))
        if self._scale < 1.0:
            gray = cv2.resize(gray, None, fx=self._scale, fy=self._scale, interpolation=cv2.INTER_AREA)
        return gray

    def seed(self, image: np.ndarray, box: FaceBox, gray: np.ndarray | None = None) -> None:
        """Pick corners in the middle of ``box`` (the face, not the background round it)."""
        self._gray = self._small_gray(image) if gray is None else gray
        s = self._scale
        h, w = self._gray.shape
        x0, y0 = int(max(0, (box.x + 0.15 * box.w) * s)), int(max(0, (box.y + 0.1 * box.h) * s))
        x1, y1 = int(min(w, (box.x + 0.85 * box.w) * s)), int(min(h, (box.y + 0.95 * box.h) * s))
        self._points = None
        if x1 - x0 < 4 or y1 - y0 < 4:
            return
        points = cv2.goodFeaturesToTrack(self._gray[y0:y1, x0:x1], _MAX_POINTS, 0.01, 3)
        if points is not None and len(points) >= _MIN_POINTS:
            self._points = (points + np.array([x0, y0], np.float32)).astype(np.float32)

    def step(self, image: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """Move to ``image``; returns (2x3 transform in full-image pixels or None when lost,
        the small grayscale image, for a re-seed without converting again)."""
        gray = self._small_gray(image)
        prev, points, self._gray = self._gray, self._points, gray
        if prev is None or points is None or prev.shape != gray.shape:
            self._points = None
            return None, gray
        nxt, ok, _ = cv2.calcOpticalFlowPyrLK(prev, gray, points, None, **_LK)
        good = ok[:, 0] == 1  # outliers (background, occlusion) are left to RANSAC
        if good.sum() < _MIN_POINTS:
            self._points = None
            return None, gray
        m, inliers = cv2.estimateAffinePartial2D(points[good], nxt[good], method=cv2.RANSAC,
                                                 ransacReprojThreshold=1.0)
        if m is None or inliers.sum() < _MIN_POINTS:
            self._points = None
            return None, gray
        self._points = nxt[good][inliers[:, 0] == 1]
        if len(self._points) < _MIN_POINTS:
            self._points = None
        m = m.astype(np.float64)
        m[:, 2] /= self._scale  # small-image pixels -> full-image pixels
        return m, gray

    @property
    def tracking(self) -> bool:
        return self._points is not None and len(self._points) >= 2 * _MIN_POINTS


class FaceTracker:
    """Follows one face: the one it was tracking, else the largest; ``None`` when there is none.

    ``redetect_s`` is the longest the face goes without a detection; 0 runs the detector on
    every frame. In between, ``follow`` says how the box moves: "flow" follows the image with
    optical flow; "hold" keeps the last detection and lets the smoother glide to it, which
    gives the detector's own (smoothed) box at a fraction of its cost. A held box lags a moving
    head, so holding is for still faces only: while the smoothed box moves faster than
    ``HOLD_MAX_SPEED`` the detector runs on every frame. At 0.1 s a still face's box stays
    within 2 % of the face width of per-frame detection, and the steps at the detection
    rate (10 Hz) fall above the heart-rate band.
    """

    def __init__(self, detector: str = "mediapipe", hold_s: float = 0.5,
                 min_cutoff_hz: float = 0.4, beta: float = 0.02, acquire_score: float = 0.7,
                 redetect_s: float = 0.5, follow: str = "flow") -> None:
        if follow not in FOLLOW_MODES:
            raise ValueError(f"follow must be one of {', '.join(FOLLOW_MODES)}, got {follow!r}")
        self._detector = make_detector(detector)
        self.acquire_score = acquire_score
        self.detector_name = self._detector.name
        self.hold_s = hold_s
        self.min_cutoff_hz = min_cutoff_hz
        self.beta = beta
        self.redetect_s = redetect_s
        self._flows = follow == "flow"
        self._flow = FlowTracker()
        self.frames = self.detections = 0  # frames seen and detector runs since creation (benchmarks)
        self.reset()

    def reset(self) -> None:
        self._state: np.ndarray | None = None
        self._raw: np.ndarray | None = None  # the last detection, moved by the flow since
        self._box: FaceBox | None = None
        self._last_seen = -np.inf
        self._last_detect = -np.inf
        self._last_t: float | None = None
        self._score = 1.0
        self._speed = 0.0
        self._flow.reset()

    @property
    def detector(self) -> object:
        """The per-image detector (exposed so benchmarks can time it)."""
        return self._detector

    def _pick(self, faces: list[FaceBox], reference: FaceBox | None) -> FaceBox | None:
        if not faces:
            return None
        if reference is not None:
            best = max(faces, key=lambda f: iou(f, reference))
            if iou(best, reference) > 0.2:
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

    def _follow(self, frame: Frame) -> tuple[bool, np.ndarray | None]:
        """Move the raw box with the flow; returns (still tracking, the small gray image)."""
        if self.redetect_s <= 0 or self._raw is None:
            return False, None
        if not self._flows:  # hold: the box stays where the last detection put it
            return True, None
        m, gray = self._flow.step(frame.image)
        if m is None:
            return False, gray
        self._raw = _moved(self._raw, m)
        return True, gray

    def update(self, frame: Frame) -> FaceBox | None:
        dt = frame.t - self._last_t if self._last_t is not None else 1 / 30
        self._last_t = frame.t
        self.frames += 1
        followed, gray = self._follow(frame)
        moving = not self._flows and self._speed > HOLD_MAX_SPEED
        due = not followed or moving or frame.t - self._last_detect >= self.redetect_s - 1e-9
        if not due:
            if self._flows and not self._flow.tracking:  # points thinning out: pick fresh ones, no detector needed
                self._flow.seed(frame.image, _from_vector(self._raw, 1.0, False), gray)
            return self._emit(dt)
        self.detections += 1
        reference = _from_vector(self._raw, 1.0, False) if self._raw is not None else self._box
        face = self._pick(self._detector.detect(frame.image), reference)
        if face is None:
            if frame.t - self._last_seen > self.hold_s:
                self._raw, self._box, self._state = None, None, None
                self._flow.reset()
                return None
            return self._emit(dt) if followed else self._box
        detected = _as_vector(face)
        if reference is not None and iou(face, reference) < 0.2:
            self._state = None  # a different face or a jump: start over, do not glide across
        if self._flows and followed and len(self._raw) == len(detected) and _apart(face, reference) < _SNAP_APART:
            self._raw = self._raw + DETECTION_GAIN * (detected - self._raw)
        else:
            self._raw = detected
        self._last_seen = self._last_detect = frame.t  # after a miss, the detector runs again next frame
        if self._flows and self.redetect_s > 0:
            self._flow.seed(frame.image, face, gray)
        self._score = face.score
        return self._emit(dt)

    def _emit(self, dt: float) -> FaceBox:
        before = self._state
        self._state = self._smooth(self._raw, dt)
        if not self._flows and before is not None and len(before) == len(self._state):  # hold mode only:
            # the centre's speed, in face widths per second, decides whether the box may be held
            shift = (self._state[:2] + self._state[2:4] / 2) - (before[:2] + before[2:4] / 2)
            self._speed = float(np.hypot(*shift) / max(self._state[2], 1.0) / max(dt, 1e-3))
        self._box = _from_vector(self._state, self._score, len(self._raw) > 4)
        return self._box

    def close(self) -> None:
        self._detector.close()

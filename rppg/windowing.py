"""From tracked frames to network windows: the one path used live, offline and in training.

Per frame the face is tracked and cropped (``FaceCropper``); per window the crops are
resampled by their timestamps onto the MODEL_FPS grid and rounded to uint8
(``crops_on_grid``). The pipeline, the evaluation and the training data all call these
two, so a network is trained on exactly the arrays it is later given.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from rppg.constants import CROP_SIZE, MODEL_FPS, NETWORK_FOLLOW, NETWORK_REDETECT_S
from rppg.containers import FaceBox, Frame
from rppg.face.regions import crop_face
from rppg.signal.filters import resample_uniform


def grid_times(t0: float, t1: float, fs: float = MODEL_FPS) -> np.ndarray:
    """The uniform sample times from ``t0`` to ``t1`` (inclusive where it lands on a sample)."""
    return t0 + np.arange(int(np.floor((t1 - t0) * fs + 1e-9)) + 1) / fs


def crops_on_grid(times: np.ndarray, crops: np.ndarray, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (N, S, S, 3) crops at irregular ``times`` -> (grid, uint8 (n, S, S, 3) crops at MODEL_FPS)."""
    grid = grid_times(t0, t1)
    _, out = resample_uniform(np.asarray(times, np.float64), crops, MODEL_FPS, t0, t1, as_uint8=True)
    out = out[: len(grid)]
    return grid[: len(out)], out


class FaceCropper:
    """Tracks the face and crops it, one frame at a time (the per-frame part of the network path)."""

    def __init__(self, detector: str = "mediapipe", redetect_s: float = NETWORK_REDETECT_S,
                 follow: str = NETWORK_FOLLOW) -> None:
        from rppg.face.tracker import FaceTracker

        # by default tracked as the pipeline's network path
        self.tracker = FaceTracker(detector, redetect_s=redetect_s, follow=follow)

    def __call__(self, frame: Frame) -> tuple[FaceBox | None, np.ndarray | None]:
        box = self.tracker.update(frame)
        return box, (None if box is None else crop_face(frame.image, box, CROP_SIZE))

    def close(self) -> None:
        self.tracker.close()


def track_and_crop(frames: Iterable[Frame], detector: str = "mediapipe",
                   redetect_s: float = NETWORK_REDETECT_S,
                   follow: str = NETWORK_FOLLOW) -> tuple[np.ndarray, np.ndarray]:
    """Times and uint8 crops of the frames where a face was tracked (training and offline tools);
    ``redetect_s`` and ``follow`` as FaceTracker's (training data may be made with any tracking)."""
    cropper = FaceCropper(detector, redetect_s, follow)
    times, crops = [], []
    try:
        for frame in frames:
            _, crop = cropper(frame)
            if crop is not None:
                times.append(frame.t)
                crops.append(crop)
    finally:
        cropper.close()
    empty = np.zeros((0, CROP_SIZE, CROP_SIZE, 3), np.uint8)
    return np.asarray(times, np.float64), (np.stack(crops) if crops else empty)

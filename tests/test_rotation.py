"""Faces at any angle: the crop and the skin regions turn with the eye line."""

import cv2
import numpy as np
import pytest

from rppg.containers import FaceBox
from rppg.face.detectors import make_detector
from rppg.face.regions import SkinSampler, crop_face, face_angle, rect_corners, skin_rects
from rppg.sources import open_source
from tests.conftest import REAL_VIDEO


@pytest.fixture(scope="module")
def upright():
    """A real frame and BlazeFace's box and keypoints on it."""
    with open_source(str(REAL_VIDEO)) as source:
        image = next(iter(source)).image
    detector = make_detector("mediapipe")
    try:
        faces = detector.detect(image)
    finally:
        detector.close()
    assert faces and faces[0].keypoints is not None
    return image, faces[0]


def _turn(image: np.ndarray, box: FaceBox, quarter_turns: int) -> tuple[np.ndarray, FaceBox]:
    """The image turned clockwise by 90 degrees ``quarter_turns`` times, and the box with it."""
    for _ in range(quarter_turns):
        h = image.shape[0]
        image = cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
        kp = np.stack([h - 1 - box.keypoints[:, 1], box.keypoints[:, 0]], axis=1)
        box = FaceBox(h - 1 - (box.y + box.h - 1), box.x, box.h, box.w, kp.astype(np.float32), box.score)
    return image, box


def test_the_eye_line_gives_the_roll(upright):
    image, box = upright
    assert abs(face_angle(box)) < 15
    for turns, expected in ((1, 90), (2, 180), (3, -90)):
        _, turned = _turn(image, box, turns)
        diff = (face_angle(turned) - face_angle(box) - expected + 180) % 360 - 180
        assert abs(diff) < 1e-3


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_the_crop_of_a_turned_face_is_upright(upright, turns):
    image, box = upright
    reference = crop_face(image, box).astype(float)
    turned_image, turned_box = _turn(image, box, turns)
    crop = crop_face(turned_image, turned_box).astype(float)
    unturned = np.abs(crop - reference).mean()
    wrong_way = np.abs(np.rot90(crop, turns).astype(float) - reference).mean()
    assert unturned < 6 and unturned < wrong_way / 3


@pytest.mark.parametrize("turns", [1, 2])
def test_skin_regions_turn_with_the_face_and_sample_the_same_skin(upright, turns):
    image, box = upright
    turned_image, turned_box = _turn(image, box, turns)
    for rect, turned in zip(skin_rects(box), skin_rects(turned_box), strict=True):
        x, y = rect_corners(rect).mean(axis=0)
        height, width = image.shape[:2]
        for _ in range(turns):  # a clockwise quarter turn maps (x, y) to (height - 1 - y, x)
            (x, y), (height, width) = (height - 1 - y, x), (width, height)
        assert np.abs(rect_corners(turned).mean(axis=0) - (x, y)).max() < 2.0
    upright_rgb = SkinSampler()(image, box)
    turned_rgb = SkinSampler()(turned_image, turned_box)
    assert np.abs(turned_rgb - upright_rgb).max() < 3.0

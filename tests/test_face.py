"""Face tracking on real clips: steady boxes, no false tracks, re-acquisition, crops and skin regions."""

import cv2
import numpy as np
import pytest

from rppg.containers import FaceBox, Frame
from rppg.face.regions import SkinSampler, crop_face, skin_rects, skin_weights
from rppg.face.tracker import FaceTracker, iou
from rppg.sources import open_source
from tests.conftest import PYFEAT, REAL_VIDEO


@pytest.fixture(scope="module")
def tracker():
    t = FaceTracker()
    yield t
    t.close()


def _track(tracker, path, limit=None):
    tracker.reset()
    boxes = []
    with open_source(str(path)) as source:
        for i, frame in enumerate(source):
            if limit is not None and i >= limit:
                break
            boxes.append(tracker.update(frame))
    return boxes


def test_real_face_is_tracked_every_frame_without_jitter(tracker):
    boxes = _track(tracker, REAL_VIDEO, limit=150)
    assert all(b is not None for b in boxes)
    centers = np.array([b.center for b in boxes[10:]])
    steps = np.abs(np.diff(centers, axis=0))
    assert np.median(steps) < 0.5  # pixels per frame on a still subject
    assert all(b.keypoints is not None and b.keypoints.shape == (6, 2) for b in boxes)


def test_no_face_gives_no_box(tracker):
    boxes = _track(tracker, PYFEAT / "no_face.mp4")
    assert sum(b is not None for b in boxes) == 0


def test_face_leaving_the_frame_ends_the_track(tracker):
    boxes = _track(tracker, PYFEAT / "face_noface.mov")
    present = np.array([b is not None for b in boxes])
    assert present[:60].all()
    assert not present[-30:].any()


def test_missed_detection_holds_the_last_box(tracker):
    tracker.reset()
    with open_source(str(REAL_VIDEO)) as source:
        frames = [f for _, f in zip(range(10), source, strict=False)]
    for f in frames[:5]:
        last = tracker.update(f)
    blank = Frame(np.zeros_like(frames[0].image), frames[4].t + 0.1)
    assert tracker.update(blank) == last
    gone = Frame(np.zeros_like(frames[0].image), frames[4].t + 1.5)
    assert tracker.update(gone) is None


def test_follows_the_tracked_face_then_the_largest(tracker):
    with open_source(str(PYFEAT / "single_face.mp4")) as source:
        face = next(iter(source)).image  # 640x360, face right of centre
    small = face[::2, ::2]
    canvas = np.full((360, 1280, 3), 30, np.uint8)
    canvas[:, :640] = face
    canvas[90:270, 900:1220] = small
    tracker.reset()
    first = tracker.update(Frame(canvas, 0.0))
    assert first is not None and first.center[0] < 640  # the larger face
    swapped = canvas.copy()  # now the tracked face shrinks and the other grows: keep following it
    swapped[:, :640] = 30
    swapped[90:270, 160:480] = small
    swapped_box = None
    for i in range(1, 4):
        swapped_box = tracker.update(Frame(swapped, i / 30))
    assert swapped_box is not None and swapped_box.center[0] < 640


def test_crop_is_square_and_padded_at_borders():
    image = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    crop = crop_face(image, FaceBox(-20, -10, 60, 60), 36)
    assert crop.shape == (36, 36, 3) and crop.dtype == np.uint8
    inside = crop_face(image, FaceBox(40, 30, 50, 50), 36)
    assert not np.array_equal(inside, crop)


def test_skin_regions_sit_inside_the_face(tracker):
    tracker.reset()
    with open_source(str(REAL_VIDEO)) as source:
        frame = next(iter(source))
    box = tracker.update(frame)
    for rx, ry, rw, rh in skin_rects(box):
        assert box.x - 0.1 * box.w <= rx and rx + rw <= box.x + 1.1 * box.w
        assert box.y - 0.3 * box.h <= ry and ry + rh <= box.y + box.h
    rgb = SkinSampler()(frame.image, box)
    assert rgb is not None and rgb[0] > rgb[2]  # skin: more red than blue
    assert iou(box, box) == pytest.approx(1.0)


def test_skin_mask_drops_hair_and_keeps_skin():
    patch = np.zeros((40, 40, 3), np.uint8)
    patch[:] = (90, 120, 180)  # BGR skin
    patch[:12] = (20, 25, 30)  # dark hair across the top
    weights, median = skin_weights(patch)
    assert weights[25:, :].min() > 0.95 and weights[:8, :].max() < 0.05
    sampler = SkinSampler()
    box = FaceBox(0, 0, 40, 40)  # no keypoints: patches from box fractions, inside the skin area
    image = np.zeros((60, 60, 3), np.uint8)
    image[:] = (90, 120, 180)
    assert np.allclose(sampler(image, box), [180, 120, 90], atol=1)


def test_detector_runs_only_every_half_second_and_flow_follows_a_moving_face():
    with open_source(str(REAL_VIDEO)) as source:
        image = next(iter(source)).image
    tracker = FaceTracker()
    try:
        first = tracker.update(Frame(image, 0.0))
        runs = tracker.detections
        shift = 0.0
        for i in range(1, 31):  # one second, the face slides 3 px right and 1 px down per frame
            shift = 3.0 * i
            moved = cv2.warpAffine(image, np.float32([[1, 0, shift], [0, 1, shift / 3]]), image.shape[1::-1],
                                   borderMode=cv2.BORDER_REPLICATE)
            box = tracker.update(Frame(moved, i / 30))
        assert tracker.detections - runs <= 3  # at 0.5 s and 1.0 s, not on 30 frames
        # the smoothed box trails a steady slide a little; the flow itself must not drift
        raw = tracker._raw
        assert abs(raw[0] + raw[2] / 2 - first.center[0] - shift) < 3
        assert box.center[0] > first.center[0] + 0.8 * shift
    finally:
        tracker.close()


def test_zero_redetect_interval_runs_the_detector_on_every_frame(tracker):
    tracker.redetect_s = 0.0
    try:
        before = tracker.detections
        boxes = _track(tracker, REAL_VIDEO, limit=20)
        assert tracker.detections - before == 20 and all(b is not None for b in boxes)
    finally:
        tracker.redetect_s = 0.5


def test_holding_the_box_between_detections_keeps_the_detectors_box_with_half_the_runs():
    every, held = FaceTracker(redetect_s=0.0), FaceTracker(redetect_s=0.1, follow="hold")
    try:
        a, b = _track(every, REAL_VIDEO, limit=90), _track(held, REAL_VIDEO, limit=90)
        assert held.detections <= 90 / 2 and every.detections == 90
        width = np.median([box.w for box in a])
        apart = [np.hypot(*np.subtract(p.center, q.center)) / width for p, q in zip(a, b, strict=True)]
        assert np.percentile(apart, 95) < 0.02  # within 2 % of the face width of per-frame detection
    finally:
        every.close()
        held.close()


def test_an_unknown_follow_mode_is_refused():
    with pytest.raises(ValueError, match="follow"):
        FaceTracker(follow="guess")

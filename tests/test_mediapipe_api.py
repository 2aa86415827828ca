"""The face detector's slim mediapipe import: the real detector, without the rest of mediapipe."""

from __future__ import annotations

import subprocess
import sys


def run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_detector_runs_on_the_real_clip_without_importing_matplotlib_or_audio(real_video):
    out = run(f"""
import sys, cv2
from rppg.face.detectors import BlazeFaceDetector
ok, image = cv2.VideoCapture({str(real_video)!r}).read()
faces = BlazeFaceDetector().detect(image)
print(len(faces), int(faces[0].w) if faces else 0, "matplotlib" in sys.modules, "sounddevice" in sys.modules)
""")
    n, width, matplotlib, audio = out.split()[-4:]
    assert n == "1" and 100 < int(width) < 250
    assert matplotlib == "False" and audio == "False"


def test_a_later_import_of_mediapipe_gets_the_whole_package():
    out = run("""
from rppg.face.mediapipe_api import load_face_detector_api
api = load_face_detector_api()
import numpy as np, mediapipe
image = mediapipe.Image(image_format=mediapipe.ImageFormat.SRGB, data=np.zeros((8, 8, 3), np.uint8))
print(image.width, hasattr(mediapipe.tasks, "audio"), api.Image.__name__)
""")
    assert out.split()[-3:] == ["8", "True", "Image"]


def test_native_calls_run_on_the_caller_thread_with_the_same_boxes(real_video):
    import threading

    import cv2

    from rppg.face.detectors import BlazeFaceDetector
    from rppg.face.mediapipe_api import CallerThreadExecutor
    from rppg.paths import FACE_DETECTOR_MODEL

    capture = cv2.VideoCapture(str(real_video))
    images = [capture.read()[1] for _ in range(5)]
    threads = threading.active_count()
    detector = BlazeFaceDetector()
    assert threading.active_count() == threads  # no worker thread of its own is left running
    assert isinstance(detector._detector._lib._executor, CallerThreadExecutor)

    api = detector._mp  # a second detector as mediapipe builds it, native calls on its worker thread
    options = api.FaceDetectorOptions(base_options=api.BaseOptions(model_asset_path=str(FACE_DETECTOR_MODEL)),
                                      running_mode=api.RunningMode.IMAGE, min_detection_confidence=0.5)
    reference = api.FaceDetector.create_from_options(options)
    try:
        for image in images:
            (face,) = detector.detect(image)
            rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            (expected,) = reference.detect(api.Image(image_format=api.ImageFormat.SRGB, data=rgb)).detections
            box = expected.bounding_box
            assert (face.x, face.y, face.w, face.h) == (box.origin_x, box.origin_y, box.width, box.height)
    finally:
        reference.close()
        detector.close()

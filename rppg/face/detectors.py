"""Per-image face detectors: mediapipe BlazeFace (default) and OpenCV's Haar cascade (fallback).

Both return every face in the image as :class:`FaceBox`; tracking and smoothing
live in :mod:`rppg.face.tracker`, so the detectors stay stateless.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from rppg.containers import FaceBox
from rppg.errors import ConfigError
from rppg.paths import FACE_DETECTOR_MODEL

log = logging.getLogger(__name__)
_warned_no_mediapipe = False


#: What mediapipe's native runtime (LiteRT, XNNPACK, absl) writes to fd 2 when a detector is
#: created, first run and closed. Environment variables (GLOG_minloglevel, TF_CPP_MIN_LOG_LEVEL)
#: do not reach these loggers, so the lines are filtered out of fd 2 around those calls instead.
_NATIVE_LINE = re.compile(r"^(INFO: |WARNING: Logging before InitGoogle"  # LiteRT, XNNPACK
                          r"|[IWEF]\d{4} [\d:.]+ +\d+ \S+:\d+\])")  # absl: W0000 00:00:17.5  886 x.cc:14]
_STDERR_LOCK = threading.Lock()
#: The runtime's once-per-process warning that start-up runs until it has been seen, and how many runs at most.
_MISALIGNED = b"Input tensor memory is not aligned"
_WARM_UP_RUNS = 48


def _read_from(fd: int, start: int) -> bytes:
    """A file's bytes from ``start`` on, whatever its (shared) offset."""
    return os.pread(fd, max(os.fstat(fd).st_size - start, 0), start)


def _drop_native_lines(data: bytes) -> bytes:
    return b"".join(line for line in data.splitlines(keepends=True)
                    if not _NATIVE_LINE.match(line.decode("utf-8", "replace")))


@contextlib.contextmanager
def _native_stderr_filtered() -> Iterator[Callable[[], bytes]]:
    """Hide the native runtime's log lines written during the block, and only those.

    File descriptor 2 is shared by every thread, so it cannot be muted for one: instead it
    points at a temporary file for the block's duration; afterwards every line that is not a
    native log line is written back to the real stderr, in order. Residual effect: another
    thread's stderr output during the block (a fraction of a second) appears when it ends,
    and one of its lines shaped exactly like a native log line would be dropped.
    Python's own stderr buffer is deliberately not flushed here: a flush from this thread could
    split another thread's half-written line across the two destinations.
    Yields a function that returns what fd 2 has received so far in the block.
    """
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield lambda: b""
        return
    with _STDERR_LOCK, tempfile.TemporaryFile() as captured:
        saved = os.dup(fd)
        os.dup2(captured.fileno(), fd)
        try:
            yield lambda: _read_from(captured.fileno(), 0)
        finally:
            # Written back before fd 2 is restored, so that no newer line overtakes them; then
            # whatever arrived in the instant before the switch back.
            head = _read_from(captured.fileno(), 0)
            os.write(saved, _drop_native_lines(head))
            os.dup2(saved, fd)
            os.close(saved)
            tail = _drop_native_lines(_read_from(captured.fileno(), len(head)))
            if tail:
                os.write(fd, tail)


def _close_quietly(detector: object) -> None:
    with _native_stderr_filtered():
        try:
            detector.close()
        except Exception:  # its worker pool is already gone at interpreter exit
            detector._handle = None  # so mediapipe's own __del__ does not try again


class BlazeFaceDetector:
    """mediapipe Tasks FaceDetector with the BlazeFace short-range model shipped in ``models/``."""

    name = "mediapipe"
    _misalignment_warned = False  # per process, like the runtime's own warning

    def __init__(self, model_path: Path = FACE_DETECTOR_MODEL, min_confidence: float = 0.5) -> None:
        if not Path(model_path).is_file():
            raise ConfigError(f"face detector model missing: {model_path}")
        from rppg.face.mediapipe_api import call_on_caller_thread, load_face_detector_api

        self._mp = mp = load_face_detector_api()
        options = mp.FaceDetectorOptions(
            base_options=mp.BaseOptions(model_asset_path=str(model_path)),
            running_mode=mp.RunningMode.IMAGE,
            min_detection_confidence=min_confidence,
        )
        with _native_stderr_filtered() as received:
            self._detector = mp.FaceDetector.create_from_options(options)
            call_on_caller_thread(self._detector, mp)
            self._warm_up(received)
        # Closed at the latest when the interpreter exits, before mediapipe's worker threads stop.
        self._finalizer = weakref.finalize(self, _close_quietly, self._detector)
        register = getattr(threading, "_register_atexit", None)
        if register is not None:
            register(self._finalizer)

    def _warm_up(self, received: Callable[[], bytes]) -> None:
        """Run the detector until the runtime has printed its one misaligned-input warning.

        The runtime warns once per process, on the first input tensor that happens to be
        misaligned; which run that is varies (usually the first, sometimes the fifth), so a
        fixed number of warm-up runs could leave the warning to reach the user's terminal.
        """
        if BlazeFaceDetector._misalignment_warned:
            return
        rng = np.random.default_rng(0)
        for _ in range(_WARM_UP_RUNS):
            noise = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
            self._detector.detect(self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=noise))
            if _MISALIGNED in received():
                BlazeFaceDetector._misalignment_warned = True
                return

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        height, width = image.shape[:2]
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        result = self._detector.detect(self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb))
        faces = []
        for det in result.detections:
            bb = det.bounding_box
            keypoints = np.array([[k.x * width, k.y * height] for k in det.keypoints], dtype=np.float32)
            score = det.categories[0].score if det.categories else 1.0
            faces.append(FaceBox(float(bb.origin_x), float(bb.origin_y), float(bb.width), float(bb.height),
                                 keypoints if len(keypoints) == 6 else None, float(score)))
        return faces

    def close(self) -> None:
        self._finalizer()


class HaarDetector:
    """OpenCV frontal-face Haar cascade: no keypoints, looser boxes; the fallback and the baseline."""

    name = "haar"

    def __init__(self) -> None:
        if not hasattr(cv2, "CascadeClassifier"):
            raise ConfigError("this OpenCV build has no CascadeClassifier; install opencv-contrib-python")
        path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise ConfigError(f"cannot load Haar cascade: {path}")

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        scale = 320.0 / max(gray.shape)  # detect on a small image: faster, same boxes
        small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
        scale = min(scale, 1.0)
        found = self._cascade.detectMultiScale(small, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
        return [FaceBox(x / scale, y / scale, w / scale, h / scale) for (x, y, w, h) in found]

    def close(self) -> None:
        pass


def make_detector(kind: str = "mediapipe") -> BlazeFaceDetector | HaarDetector:
    """``mediapipe`` (BlazeFace) or ``haar``. Without mediapipe installed, ``mediapipe`` switches
    to Haar and says so once (a warning): the program still runs, with a weaker tracker."""
    if kind == "haar":
        return HaarDetector()
    if kind != "mediapipe":
        raise ConfigError(f"unknown face detector {kind!r} (use mediapipe or haar)")
    try:
        return BlazeFaceDetector()
    except ImportError as exc:
        global _warned_no_mediapipe
        if not _warned_no_mediapipe:
            _warned_no_mediapipe = True
            log.warning("mediapipe cannot be imported (%s): tracking faces with OpenCV's Haar cascade instead, "
                        "with looser boxes and no keypoints; install mediapipe for the default tracker", exc)
        return HaarDetector()

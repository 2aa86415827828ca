"""The parts of mediapipe that the face detector uses, imported without the rest of mediapipe.

``import mediapipe`` runs the package's ``__init__`` files, which import every task: audio
(with sounddevice), text, the drawing utilities (with matplotlib and PIL): memory and start-up
time on a headless board for code that never runs.
The detector needs four modules, which import only mediapipe's core; so their parent packages
are entered in ``sys.modules`` as plain package objects for the duration of the import (their
``__init__`` files skipped) and the native library is loaded then. Afterwards every mediapipe
module is taken out of ``sys.modules`` again (the detector keeps its own references), so that a
later ``import mediapipe`` anywhere in the process runs as usual and gets the complete package.
"""

from __future__ import annotations

import concurrent.futures
import importlib.machinery
import importlib.util
import logging
import sys
import threading
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_PARENTS = ("mediapipe", "mediapipe.tasks", "mediapipe.tasks.python", "mediapipe.tasks.python.vision")


class FaceDetectorApi(types.SimpleNamespace):
    """FaceDetector, FaceDetectorOptions, BaseOptions, RunningMode, Image, ImageFormat, and the
    detector's native function signatures (``signatures``, for :func:`call_on_caller_thread`)."""


def _import_modules() -> FaceDetectorApi:
    from mediapipe.tasks.python.core import mediapipe_c_bindings
    from mediapipe.tasks.python.core.base_options import BaseOptions
    from mediapipe.tasks.python.vision import face_detector
    from mediapipe.tasks.python.vision.core.image import Image, ImageFormat
    from mediapipe.tasks.python.vision.core.vision_task_running_mode import VisionTaskRunningMode

    mediapipe_c_bindings.load_raw_library()  # loaded once per process, found through mediapipe.tasks.c
    return FaceDetectorApi(FaceDetector=face_detector.FaceDetector,
                           FaceDetectorOptions=face_detector.FaceDetectorOptions, BaseOptions=BaseOptions,
                           RunningMode=VisionTaskRunningMode, Image=Image, ImageFormat=ImageFormat,
                           signatures=getattr(face_detector, "_CTYPES_SIGNATURES", None))


def load_face_detector_api() -> FaceDetectorApi:
    """The detector's classes; raises ImportError when mediapipe is not installed."""
    if "mediapipe" in sys.modules:  # already imported whole (or marked missing): use it as it is
        return _import_modules()
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or spec.origin is None:
        raise ImportError("No module named 'mediapipe'")
    root = Path(spec.origin).parent
    try:
        for name in _PARENTS:
            path = str(root.joinpath(*name.split(".")[1:]))
            package = types.ModuleType(name)
            package.__path__ = [path]
            package.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
            package.__spec__.submodule_search_locations = [path]
            sys.modules[name] = package
        return _import_modules()
    finally:
        for name in [n for n in sys.modules if n == "mediapipe" or n.startswith("mediapipe.")]:
            del sys.modules[name]


class CallerThreadExecutor(concurrent.futures.Executor):
    """Runs each submitted call at once, on the thread that submits it, one call at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        with self._lock:
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to the caller through the future, as a pool would
                future.set_exception(exc)
        return future


def call_on_caller_thread(detector: Any, api: FaceDetectorApi) -> bool:
    """Make ``detector`` run its native calls on the thread that calls it; True when done.

    mediapipe's task API sends every native call to a private worker thread and waits for the
    result: per frame, two hand-offs between threads for work the caller waits on anyway, which
    on a 2-core board queue behind the decoding and processing threads. The calls stay serialised
    (the executor holds a lock), which is what the worker thread was for. Where this mediapipe
    version is built differently, the detector is left as it is.
    """
    lib = getattr(detector, "_lib", None)
    if api.signatures is None or not all(hasattr(lib, a) for a in ("_executor", "_register_signature")):
        log.debug("mediapipe's dispatcher has changed; native calls stay on its worker thread")
        return False
    worker, lib._executor = lib._executor, CallerThreadExecutor()
    for signature in api.signatures:
        lib._register_signature(signature)
    worker.shutdown(wait=True)
    return True

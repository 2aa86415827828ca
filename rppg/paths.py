"""Where shipped files live; one place so installs and checkouts agree.

The weights, model cards and the BlazeFace detector stay in the repository's
``models/`` folder and are packaged as the ``rppg.model_files`` package data
(pyproject maps that package to ``models/``), so :mod:`importlib.resources`
finds them in a wheel installed anywhere as well as in an editable checkout.
``RPPG_MODELS_DIR`` overrides the folder (e.g. weights kept on another disk).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

MODEL_FILES_PACKAGE = "rppg.model_files"
FACE_DETECTOR_FILE = "face_detection_short_range.tflite"


def models_dir() -> Path:
    """Folder of shipped weights and the face-detector model."""
    override = os.environ.get("RPPG_MODELS_DIR")
    if override:
        return Path(override)
    try:
        return Path(str(resources.files(MODEL_FILES_PACKAGE)))
    except ModuleNotFoundError:  # a bare checkout on sys.path without installing the project
        return Path(__file__).resolve().parents[1] / "models"


#: Resolved once at import; code that must honour a later ``RPPG_MODELS_DIR`` calls :func:`models_dir`.
MODELS_DIR: Path = models_dir()

FACE_DETECTOR_MODEL: Path = MODELS_DIR / FACE_DETECTOR_FILE

"""Where shipped files live; one place so installs and checkouts agree."""

import os
from pathlib import Path

#: Folder of shipped weights and the face-detector model. ``RPPG_MODELS_DIR`` overrides it.
MODELS_DIR: Path = Path(os.environ.get("RPPG_MODELS_DIR", Path(__file__).resolve().parents[1] / "models"))

FACE_DETECTOR_MODEL: Path = MODELS_DIR / "face_detection_short_range.tflite"

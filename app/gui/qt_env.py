"""Undo what importing OpenCV does to Qt's environment, before any QApplication exists.

``opencv-contrib-python`` (pulled in by mediapipe) ships its own Qt and, on
import, points ``QT_QPA_PLATFORM_PLUGIN_PATH`` (and ``QT_QPA_FONTDIR``) at it.
PyQt6 then loads OpenCV's xcb plugin, built against another Qt, and cannot open
a window. So: import cv2 first (it is needed anyway), then drop exactly those
variables when they point into OpenCV's package; a user's own settings stay.
"""

from __future__ import annotations

import os
from pathlib import Path

_QT_VARIABLES = ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_PLUGIN_PATH", "QT_QPA_FONTDIR")


def _inside(path: str, folder: Path) -> bool:
    try:
        return Path(path).resolve().is_relative_to(folder)
    except (OSError, ValueError):
        return False


def clean_qt_environment() -> list[str]:
    """Import cv2, then remove the Qt variables it set; returns the names removed."""
    import cv2

    cv2_dir = Path(cv2.__file__).resolve().parent
    removed = []
    for name in _QT_VARIABLES:
        value = os.environ.get(name)
        if value and all(_inside(part, cv2_dir) for part in value.split(os.pathsep) if part):
            del os.environ[name]
            removed.append(name)
    return removed

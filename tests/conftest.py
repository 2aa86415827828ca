"""Shared fixtures: paths to the real test clips."""

import os
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
REAL_CLIP_DIR = DATA / "physrecorder_v01"
REAL_VIDEO = REAL_CLIP_DIR / "video_ZIP_H264.avi"
REAL_HR_BPM = 70.6
PYFEAT = DATA / "pyfeat_faces"


@pytest.fixture(scope="session")
def real_video() -> Path:
    return REAL_VIDEO


@pytest.fixture(scope="module")
def qt_app():
    """A Qt application on the offscreen platform (tests that need a real window use Xvfb instead)."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from rppg_app.gui.application import make_application

    app = make_application()
    yield app
    os.environ.pop("QT_QPA_PLATFORM", None)


def push_all(pipeline, path: Path = REAL_VIDEO) -> list:
    """Every reading ``pipeline.push`` gives over the frames of a video file, as a live stream would."""
    from rppg.sources import open_source

    readings = []
    with open_source(str(path)) as source:
        for frame in source:
            r = pipeline.push(frame)
            if r is not None:
                readings.append(r)
    return readings

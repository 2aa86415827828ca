"""Shared fixtures: paths to the real test clips."""

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

"""Whether camera N can exist at all, told from the system's device nodes without opening it.

Kept apart from :mod:`rppg.sources` (which imports OpenCV) so the command line can
report "camera not found" before anything heavy loads. A camera that never existed
is a configuration error; one that was there and stopped delivering is "lost" and
retried by the live engine (:mod:`rppg.sources.webcam`).
"""

from __future__ import annotations

import sys
from pathlib import Path


def camera_device(index: int) -> Path | None:
    """The device node of camera ``index`` where the system has them (Linux), else None."""
    return Path(f"/dev/video{index}") if sys.platform.startswith("linux") else None


def missing_camera_message(index: int) -> str | None:
    """Why camera ``index`` cannot exist, or None when it may (its device node is there, or no way to tell)."""
    device = camera_device(index)
    if device is None or device.exists():
        return None
    present = sorted(p.name for p in Path("/dev").glob("video[0-9]*"))
    found = f"cameras present: {', '.join(present)}" if present else "no camera is connected"
    return f"camera {index} not found: no {device} ({found})"

"""Frame sources: webcam, video file, image folder, synthetic demo.

Every source yields :class:`rppg.containers.Frame` with timestamps in seconds from
its first frame, so everything downstream works on time, not frame counts.
"""

from rppg.sources.base import FrameSource
from rppg.sources.factory import open_source

__all__ = ["FrameSource", "open_source"]

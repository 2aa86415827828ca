"""rppg: contactless heart-rate monitoring from face video.

The core library. It never imports Qt, nor anything from ``app`` or ``training``.
"""

__version__ = "0.1.0"

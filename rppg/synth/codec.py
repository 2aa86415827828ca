"""H.264 at webcam bitrates: what most recordings and video calls do to the pulse.

Frames are encoded with libx264 (through PyAV, the ``train`` extra) at a constant bitrate
with zero-latency settings, so each frame comes back decoded as soon as it is encoded,
with the blocking, smoothing and quantisation of small colour changes that erode the pulse.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction

import numpy as np

from rppg.errors import ConfigError
from rppg.synth.spec import SynthSpec

#: Bitrates in SynthSpec.h264_kbps are for 640x480; other sizes are scaled by pixel count.
_REFERENCE_PIXELS = 640 * 480


def h264_round_trip(frames: Iterable[np.ndarray], spec: SynthSpec) -> Iterator[np.ndarray]:
    """Encode and decode ``frames`` (uint8 BGR, in order) at ``spec.h264_kbps``; yields one frame per input."""
    try:
        import av
    except ImportError:
        raise ConfigError("h264_kbps needs PyAV: pip install av (part of the train extra)") from None
    width, height = spec.width - spec.width % 2, spec.height - spec.height % 2
    kbps = spec.h264_kbps * width * height / _REFERENCE_PIXELS
    enc = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = width, height, "yuv420p"
    enc.time_base = Fraction(1, int(round(spec.fps)))
    enc.bit_rate = int(kbps * 1000)
    enc.options = {"preset": "veryfast", "tune": "zerolatency", "g": str(int(2 * spec.fps))}
    dec = av.CodecContext.create("h264", "r")
    for k, frame in enumerate(frames):
        src = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[:height, :width]), format="bgr24")
        src.pts = k
        out = None
        for packet in enc.encode(src):
            for decoded in dec.decode(packet):
                out = decoded.to_ndarray(format="bgr24")
        if out is None:  # no packet yet (should not happen with zerolatency): pass the frame through
            out = frame[:height, :width]
        if out.shape[:2] != frame.shape[:2]:
            out = np.pad(out, ((0, frame.shape[0] - height), (0, frame.shape[1] - width), (0, 0)), mode="edge")
        yield out

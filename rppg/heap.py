"""Where glibc puts large blocks: decoded frames stay in the heap, a reading's network input does not.

glibc maps blocks above its mmap threshold afresh (mmap) and returns them when freed; smaller
blocks come from the heap and are reused. By default the threshold rises to the largest block
freed so far, so after the first readings everything stays resident, the 4.7 MB network input of
a 10 s window included. A threshold fixed low (256 KB) returned that memory but mapped every
decoded frame afresh too, which slowed decoding and detection. So the threshold sits just above one
decoded frame and at least at 2 MB: frames and a reading's small scratch blocks are reused from
the heap, and at webcam resolutions up to 720p the network input is mapped and given back.
"""

from __future__ import annotations

import ctypes
import functools

#: mallopt's parameter number for the mmap threshold (glibc's malloc.h).
_M_MMAP_THRESHOLD = -3
#: The lowest threshold set: above the scratch blocks of a reading and a 640x480 frame (0.9 MB).
MIN_THRESHOLD_BYTES = 2 * 1024 * 1024
#: glibc's limit for the threshold on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX).
_MAX_THRESHOLD_BYTES = 32 * 1024 * 1024
_threshold = 0


@functools.cache
def _mallopt():
    try:
        return ctypes.CDLL(None).mallopt  # the process's own symbols: libc's, where glibc runs it
    except (OSError, AttributeError, TypeError):  # no mallopt (macOS, musl) or no such handle (Windows)
        return None


def fit_mmap_threshold(frame_bytes: int = 0) -> bool:
    """Raise the mmap threshold (never lower it) above a block of ``frame_bytes``, and to at least
    MIN_THRESHOLD_BYTES; False where there is no glibc (nothing done). Cheap when nothing changes."""
    global _threshold
    want = min(max(MIN_THRESHOLD_BYTES, frame_bytes + frame_bytes // 4), _MAX_THRESHOLD_BYTES)
    if want <= _threshold:
        return True
    mallopt = _mallopt()
    if mallopt is None or mallopt(_M_MMAP_THRESHOLD, want) != 1:
        return False
    _threshold = want
    return True

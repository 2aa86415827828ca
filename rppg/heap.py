"""Give the per-reading scratch memory back to the system (glibc only).

Every reading allocates and frees tens of megabytes of float arrays (the resampled crops and
their normalised differences). glibc serves blocks this large with mmap at first, but after the
first one is freed it raises its mmap threshold to that size, so later blocks come from the
heap and stay resident after they are freed: a pipeline's resident memory then grows by about
25 MB over its first readings and stays there. A fixed threshold keeps these blocks mmapped, and
freeing one returns it to the system. The cost: decoded frames (0.9 MB at 640x480) are above the
threshold too, so every frame and its copies get fresh pages from the kernel. Decoding and
detection slow down by a share of the large real-time margin (`rppg bench` measures the pipeline
with it, against the decode-only rate of a process without it); small boards need the memory more.
"""

from __future__ import annotations

import ctypes
import functools

#: mallopt's parameter number for the mmap threshold (glibc's malloc.h).
_M_MMAP_THRESHOLD = -3
#: Blocks of at least this many bytes are mmapped: every per-reading array, none of the small ones.
MMAP_THRESHOLD_BYTES = 256 * 1024


@functools.cache
def release_large_buffers() -> bool:
    """Fix glibc's mmap threshold once per process; False where there is no glibc (nothing done)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own symbols: libc's, where glibc runs it
    except (OSError, AttributeError, TypeError):  # no mallopt (macOS, musl) or no such handle (Windows)
        return False
    return mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1

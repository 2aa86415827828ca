"""A reading's scratch memory is bounded and reused: resident memory stays flat from reading to reading
(rppg.heap, rppg.windowing, rppg.models.preprocess)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest

from rppg.models.estimator import padded_frames
from rppg.models.preprocess import preprocess
from rppg.windowing import crops_on_grid

#: Windows of crops resampled and normalised, as readings do, while small results outlive each
#: one; prints resident memory (MB) after the first readings (the allocator's pools have grown to the
#: working set by then) and after many more.
_READINGS = textwrap.dedent("""
    import numpy as np
    from rppg.heap import fit_mmap_threshold
    from rppg.models.estimator import padded_frames
    from rppg.models.preprocess import preprocess
    from rppg.windowing import crops_on_grid

    def rss_mb():
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024
    crops = np.random.default_rng(0).integers(0, 255, (320, 36, 36, 3), dtype=np.uint8)
    times, kept = np.arange(320) / 30.0, []
    frame_sized = fit_mmap_threshold(640 * 480 * 3)  # as a pipeline does on its first frame
    for reading in range(150):
        n = 240 + reading % 10 * 8
        _, window = crops_on_grid(times[:n], crops[:n], 0.0, (n - 1) / 30.0)
        x = preprocess(window, padded_frames(len(window)))
        kept.append(x[0, 0].copy())
        del x, window
        if reading == 29:
            settled = rss_mb()
    print(frame_sized, settled, rss_mb())
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="resident memory is read from /proc")
def test_resident_memory_stays_flat_from_reading_to_reading() -> None:
    out = subprocess.run([sys.executable, "-c", _READINGS], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "True"
    settled, last = map(float, out[1:])
    assert last - settled < 1.0  # 120 more readings, each allocating several MB of scratch


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_the_mmap_threshold_only_rises_and_stays_within_glibcs_limit() -> None:
    from rppg import heap

    assert heap.fit_mmap_threshold()
    low = heap._threshold
    assert low >= heap.MIN_THRESHOLD_BYTES
    assert heap.fit_mmap_threshold(1280 * 720 * 3) and heap._threshold > 1280 * 720 * 3 >= low
    high = heap._threshold
    assert heap.fit_mmap_threshold(0) and heap._threshold == high  # never lowered
    assert heap.fit_mmap_threshold(10**9) and heap._threshold == 32 * 1024 * 1024


def test_a_readings_scratch_is_bounded_by_blocks_not_copies_of_the_window() -> None:
    """Resampling and normalising a 10 s window allocate about its output plus a few blocks
    (each was several float copies of the whole window: 23 MB at the peak of each step)."""
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 255, (310, 36, 36, 3), dtype=np.uint8)
    times = np.sort(np.arange(310) / 30.0 + rng.normal(0, 0.004, 310))
    tracemalloc.start()
    try:
        _, window = crops_on_grid(times, crops, 0.0, 9.9)
        resample_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        x = preprocess(window, padded_frames(len(window)))
        preprocess_peak = tracemalloc.get_traced_memory()[1] - window.nbytes
    finally:
        tracemalloc.stop()
    assert resample_peak < 2 * window.nbytes + 1_000_000
    assert preprocess_peak < x.nbytes + 3_000_000
    assert x.shape[1] == padded_frames(len(window)) and not x[:, len(window) - 1:].any()

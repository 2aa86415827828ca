"""Per-reading scratch arrays go back to the system once freed (rppg.heap)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

#: A few windows of crops resampled and normalised, as readings do, while small results outlive
#: each one; prints how far resident memory grew (MB).
_READINGS = textwrap.dedent("""
    import sys
    import numpy as np
    from rppg.heap import release_large_buffers
    from rppg.models.preprocess import preprocess
    from rppg.windowing import crops_on_grid

    print(release_large_buffers())
    def rss_mb():
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024
    crops = np.random.default_rng(0).integers(0, 255, (320, 36, 36, 3), dtype=np.uint8)
    times, kept = np.arange(320) / 30.0, []
    before = rss_mb()
    for n in range(240, 320, 8):
        _, window = crops_on_grid(times[:n], crops[:n], 0.0, (n - 1) / 30.0)
        x = preprocess(window)
        kept.append(x[0, 0].copy())
        del x, window
    print(rss_mb() - before)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator and /proc are Linux's")
def test_scratch_arrays_of_readings_do_not_stay_resident() -> None:
    out = subprocess.run([sys.executable, "-c", _READINGS], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "True"
    # about 6.5 MB without the fixed threshold (the arrays stay in the heap), under 1 MB with it
    assert float(out[1]) < 3.0


def test_a_readings_scratch_is_bounded_by_blocks_not_copies_of_the_window() -> None:
    """Resampling and normalising a 10 s window allocate about its output plus a few blocks
    (each was several float copies of the whole window: 23 MB at the peak of each step)."""
    import tracemalloc

    import numpy as np

    from rppg.models.estimator import padded_frames
    from rppg.models.preprocess import preprocess
    from rppg.windowing import crops_on_grid

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

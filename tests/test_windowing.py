"""One path from frames to network windows: live readings, evaluation and training get identical arrays."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rppg.constants import CROP_SIZE, MODEL_FPS
from rppg.models.student import StudentNet
from rppg.models.weights_io import save_weights
from rppg.pipeline import Pipeline
from rppg.signal.filters import to_uint8
from rppg.sources import open_source
from rppg.windowing import crops_on_grid, grid_times, track_and_crop
from tests.conftest import REAL_VIDEO, push_all


@pytest.fixture(scope="module")
def student_weights(tmp_path_factory) -> str:
    torch.manual_seed(0)
    return str(save_weights(StudentNet(), tmp_path_factory.mktemp("w") / "student.safetensors"))


def test_live_windows_equal_training_windows_on_the_real_clip(student_weights):
    """The crops a live reading feeds the network are the arrays training makes from the same frames."""
    pipeline = Pipeline("student", weights=student_weights, fallback=None)
    fed: list[np.ndarray] = []
    run = pipeline._run_network
    pipeline._run_network = lambda crops: (fed.append(crops.copy()), run(crops))[1]
    readings = push_all(pipeline)
    pipeline.close()
    assert len(readings) >= 5 and len(fed) == len(readings)

    with open_source(str(REAL_VIDEO)) as source:
        times, crops = track_and_crop(source)
    for reading, live in zip(readings, fed, strict=True):
        t0, t1 = reading.t - pipeline.window_s, reading.t
        keep = times >= t0
        _, train = crops_on_grid(times[keep], crops[keep], t0, t1)
        assert live.dtype == train.dtype == np.uint8
        assert live.shape == train.shape == (len(train), CROP_SIZE, CROP_SIZE, 3)
        assert np.array_equal(live, train)


def test_resampling_rounds_to_nearest_and_follows_timestamps():
    times = np.array([0.0, 0.05, 0.1])  # 20 fps
    crops = np.stack([np.full((2, 2, 3), v, np.uint8) for v in (10, 11, 13)])
    grid, out = crops_on_grid(times, crops, 0.0, 0.1)
    assert np.allclose(grid, grid_times(0.0, 0.1)) and len(grid) == int(0.1 * MODEL_FPS) + 1
    expected = to_uint8(np.interp(grid, times, [10, 11, 13]))
    assert np.array_equal(out[:, 0, 0, 0], expected)
    assert to_uint8(np.array([10.5, 10.49, -3, 300])).tolist() == [10, 10, 0, 255]


def test_evaluation_windows_are_the_live_readings(student_weights):
    """process_clip keeps the readings push would give, one per step, each covering the window."""
    pipeline = Pipeline("pos")
    with open_source(str(REAL_VIDEO)) as source:
        trace = pipeline.process_clip(source)
    pipeline.reset()
    live = push_all(pipeline)
    pipeline.close()
    assert [r.t for r in trace.readings] == [r.t for r in live]
    assert [r.bpm for r in trace.readings] == [r.bpm for r in live]
    assert trace.window_s == pipeline.window_s

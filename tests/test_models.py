"""The networks, their input normalisation, weight files and the estimator contract."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from rppg.constants import MODEL_FPS
from rppg.errors import ConfigError, WeightsError
from rppg.models import count_flops, count_params, load_estimator
from rppg.models.preprocess import integrate, preprocess, preprocess_label
from rppg.models.registry import build
from rppg.models.student import StudentNet
from rppg.models.teacher import TeacherNet
from rppg.models.weights_io import expected_metadata, load_weights, save_weights
from rppg.signal.hr import estimate_hr


@pytest.fixture(scope="module")
def nets() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {"teacher": TeacherNet().eval(), "student": StudentNet().eval()}


def pulsing_crops(t: int, hr: float = 72.0, seed: int = 0) -> np.ndarray:
    """A skin-coloured square whose green channel follows a sinusoidal pulse, with sensor noise."""
    rng = np.random.default_rng(seed)
    pulse = np.sin(2 * np.pi * hr / 60 * np.arange(t) / MODEL_FPS)
    base = np.array([110.0, 140.0, 190.0])  # BGR
    img = base * (1 + 0.01 * pulse[:, None] * np.array([0.3, 1.0, 0.5]))
    crops = img[:, None, None, :] + rng.normal(0, 0.5, (t, 36, 36, 3))
    return np.clip(np.rint(crops), 0, 255).astype(np.uint8)


def test_parameter_counts_match_the_reference_paper(nets):
    assert 779_000 <= count_params(nets["teacher"]) <= 811_000
    assert 23_500 <= count_params(nets["student"]) <= 24_500


def test_student_needs_under_a_tenth_of_the_teacher_compute(nets):
    assert count_flops(nets["student"], 300) * 10 < count_flops(nets["teacher"], 300)


def test_flop_count_is_exact_for_a_single_convolution():
    conv = torch.nn.Sequential(torch.nn.Conv3d(3, 4, (1, 3, 3), padding=(0, 1, 1)))
    # 4 output channels x T x 36 x 36 positions, each 3*3*3 multiply-adds
    assert count_flops(conv, 8) == 2 * 4 * 8 * 36 * 36 * 27


@pytest.mark.parametrize("t", [64, 160, 300])
def test_both_nets_map_t_frames_to_t_outputs(nets, t):
    x = torch.randn(2, 3, t + (-t) % 8, 36, 36)
    with torch.inference_mode():
        for net in nets.values():
            assert net(x).shape == (2, x.shape[2])


def test_preprocess_is_the_normalised_frame_difference():
    crops = pulsing_crops(64)
    x = preprocess(crops)
    assert x.shape == (3, 64, 36, 36) and x.dtype == np.float32
    assert np.all(x[:, -1] == 0)  # the last step has no successor
    assert np.abs(x).max() <= 5.0
    assert x[:, :-1].std() == pytest.approx(1.0, rel=0.05)
    c = crops[..., ::-1].astype(np.float64)
    raw = (c[1] - c[0]) / (c[1] + c[0] + 1e-6)
    ratio = x[:, 0].transpose(1, 2, 0) / np.where(raw == 0, np.nan, raw)
    assert np.nanstd(ratio) < 1e-3 * np.nanmean(np.abs(ratio))  # one global scale, RGB order


def test_preprocess_ignores_brightness_and_a_still_face_gives_zeros():
    crops = pulsing_crops(64) // 2 * 2  # even values, so halving the light is exact in uint8
    np.testing.assert_allclose(preprocess(crops // 2), preprocess(crops), atol=1e-3)
    still = np.full((32, 36, 36, 3), 128, np.uint8)
    assert not preprocess(still).any()


def test_label_is_the_standardised_derivative_and_integrate_restores_the_pulse():
    t = np.arange(300) / MODEL_FPS
    bvp = 40 + 3 * np.sin(2 * np.pi * 1.5 * t)
    d = preprocess_label(bvp)
    assert d[:-1].std() == pytest.approx(1.0, rel=1e-3) and d[-1] == 0
    wave = integrate(d)
    assert abs(np.corrcoef(wave[:-1], bvp[:-1])[0, 1]) > 0.99
    assert estimate_hr(wave, MODEL_FPS).peak_bpm == pytest.approx(90.0, abs=1.0)


def test_weights_round_trip_through_safetensors(nets, tmp_path):
    path = save_weights(nets["student"], tmp_path / "s.safetensors", {"method": "student"})
    fresh = StudentNet().eval()
    meta = load_weights(fresh, path)
    assert meta["arch"] == "student" and meta["method"] == "student"
    x = torch.randn(1, 3, 64, 36, 36)
    with torch.inference_mode():
        assert torch.equal(fresh(x), nets["student"](x))


@pytest.mark.parametrize("t", [64, 160, 300, 301])
def test_estimator_returns_one_pulse_value_per_frame(nets, tmp_path, t):
    path = save_weights(nets["student"], tmp_path / "student.safetensors")
    est = load_estimator("student", str(path))
    out = est(pulsing_crops(t))
    assert out.shape == (t,) and out.dtype == np.float32 and np.isfinite(out).all()
    assert est.name == "student" and est.n_params == count_params(nets["student"])


def _with_metadata(src, dst, **changes):
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(src), framework="pt") as f:
        meta = dict(f.metadata())
    save_file(load_file(str(src)), str(dst), metadata=meta | changes)
    return dst


def bad_weight_files(nets, d):
    good_student = save_weights(nets["student"], d / "student.safetensors")
    teacher = save_weights(nets["teacher"], d / "teacher.safetensors")
    data = good_student.read_bytes()
    (d / "corrupt.safetensors").write_bytes(b"not a weight file at all" * 10)
    (d / "truncated.safetensors").write_bytes(data[: len(data) // 2])
    (d / "empty.safetensors").write_bytes(b"")
    header_len = struct.unpack("<Q", data[:8])[0]
    garbage = bytearray(data)
    garbage[8:8 + header_len] = b" " * header_len  # header replaced: unreadable JSON
    (d / "garbled.safetensors").write_bytes(bytes(garbage))
    tensors = {k: v.clone() for k, v in nets["student"].state_dict().items()}
    first = next(k for k, v in tensors.items() if v.dim() == 5)
    tensors[first] = torch.zeros(tensors[first].shape[0] + 1, *tensors[first].shape[1:])
    save_file(tensors, str(d / "reshaped.safetensors"), metadata=expected_metadata(nets["student"]))
    nan = {k: v.clone() for k, v in nets["student"].state_dict().items()}
    nan[first] = torch.full_like(nan[first], float("nan"))
    save_file(nan, str(d / "nan.safetensors"), metadata=expected_metadata(nets["student"]))
    return {
        "missing": d / "nope.safetensors",
        "corrupt": d / "corrupt.safetensors",
        "truncated": d / "truncated.safetensors",
        "empty": d / "empty.safetensors",
        "garbled header": d / "garbled.safetensors",
        "teacher weights": teacher,
        "other crop size": _with_metadata(good_student, d / "crop.safetensors", crop_size="72"),
        "other window": _with_metadata(good_student, d / "win.safetensors", window="128"),
        "other normalisation": _with_metadata(good_student, d / "norm.safetensors", norm="raw-v0"),
        "no metadata": _with_metadata(good_student, d / "nometa.safetensors", arch="", n_params=""),
        "wrong tensor shape": d / "reshaped.safetensors",
        "non-finite values": d / "nan.safetensors",
    }


def test_every_bad_weight_file_is_a_one_line_weights_error(nets, tmp_path):
    for case, path in bad_weight_files(nets, tmp_path).items():
        with pytest.raises(WeightsError) as info:
            load_estimator("student", str(path))
        msg = str(info.value)
        assert "\n" not in msg and path.name in msg, case


def test_unknown_method_or_backend_is_a_config_error(nets, tmp_path):
    with pytest.raises(ConfigError):
        load_estimator("resnet")
    path = save_weights(nets["student"], tmp_path / "student.safetensors")
    with pytest.raises(ConfigError):
        load_estimator("student", str(path), backend="tensorflow")


def test_student_nokd_uses_the_student_architecture():
    assert isinstance(build("student"), StudentNet)
    assert json.dumps(expected_metadata(build("student"))) == json.dumps(expected_metadata(StudentNet()))


# ---------------------------------------------------------------- the shipped networks
SHIPPED = ("teacher", "student", "student_nokd")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_weights_load_and_match_their_cards(name):
    from rppg.paths import MODELS_DIR

    est = load_estimator(name)
    card = json.loads((MODELS_DIR / f"{name}.json").read_text())
    assert card["n_params"] == est.n_params and card["name"] == name
    assert card["validation"]["val_mae"] < card["validation_baseline"]["noise_mae"]
    assert card["command"] and card["steps"] > 0


def _synthetic_crops(hr: float, seed: int) -> tuple[np.ndarray, float]:
    """A 10 s synthetic face clip, cropped and resampled the way the pipeline does it, and its
    reference heart rate (from the generator's pulse over the same window)."""
    from rppg.containers import FaceBox
    from rppg.face.regions import crop_face
    from rppg.signal.filters import resample_uniform
    from rppg.synth import SynthSpec, render_clip

    clip = render_clip(SynthSpec(duration_s=10.2, width=72, height=72, face_size=0.6, hr_bpm=hr, seed=seed,
                                 pulse_amplitude=0.01, motion=0.3))
    crops = np.stack([crop_face(f, FaceBox(*b)) for f, b in zip(clip.frames, clip.boxes, strict=True)])
    grid, flat = resample_uniform(clip.times, crops.reshape(len(crops), -1), MODEL_FPS, 0.0, 299 / MODEL_FPS)
    ref = estimate_hr(np.interp(grid, clip.times, clip.bvp), MODEL_FPS).peak_bpm
    return np.clip(np.rint(flat), 0, 255).astype(np.uint8).reshape(300, 36, 36, 3), ref


@pytest.mark.parametrize("hr", [62.0, 95.0])
def test_shipped_student_finds_the_pulse_of_a_synthetic_face(hr):
    crops, ref = _synthetic_crops(hr, seed=11)
    assert ref == pytest.approx(hr, abs=6.0)
    got = estimate_hr(load_estimator("student")(crops), MODEL_FPS).peak_bpm
    assert got == pytest.approx(ref, abs=5.0)


def test_networks_run_on_the_configured_number_of_threads():
    from rppg.constants import NETWORK_THREADS

    torch.set_num_threads(2)
    load_estimator("student", backend="torch")
    assert torch.get_num_threads() == NETWORK_THREADS
    onnx = load_estimator("student", backend="onnx")
    options = onnx.session.get_session_options()
    assert options.intra_op_num_threads == NETWORK_THREADS

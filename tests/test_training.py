"""Training: real (tiny) runs on synthetic data, distillation terms, resume, bad data, DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from rppg.errors import ConfigError, DatasetError
from rppg.models import load_estimator
from rppg.models.teacher import TeacherNet
from rppg.models.weights_io import save_weights
from rppg_training.augment import sway
from rppg_training.config import load_config
from rppg_training.data import ClipBank, WindowDataset, load_banks, validation_bank_key
from rppg_training.synth_adapter import render_training_clip
from rppg_training.trainer import CHECKPOINT, LOG, RunOptions, Trainer

ROOT = Path(__file__).resolve().parents[1]
TINY_DATA = {"seed": 3, "train_clips": 3, "val_clips": 1, "clip_seconds": 10.0}
REAL_VIDEO = ROOT / "tests" / "data" / "physrecorder_v01" / "video_ZIP_H264.avi"


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """One rendered bank shared by the tests of this module (rendering happens once)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def teacher_weights(tmp_path_factory) -> str:
    torch.manual_seed(1)
    return str(save_weights(TeacherNet(), tmp_path_factory.mktemp("teacher") / "teacher.safetensors"))


def tiny(target: str, **changes) -> dict:
    cfg = load_config(target)
    cfg.pop("unlabelled", None)
    cfg.update(batch_size=4, val_every=1000, epoch_windows=16, data=TINY_DATA, warmup_steps=2)
    cfg.update(changes)
    return cfg


def opts(target: str, out: Path, cache: Path, **kw) -> RunOptions:
    return RunOptions(target, out, cache_dir=cache, progress=False, threads=1, **kw)


def batch_loss(trainer: Trainer, x, y) -> float:
    with torch.no_grad():
        trainer.trained.eval()
        loss = sum(trainer.losses(x, y).values()).item()
        trainer.trained.train()
        return loss


def test_a_short_real_training_run_lowers_the_loss_and_writes_a_card(tmp_path, cache):
    trainer = Trainer(tiny("student_nokd", lr=0.01), opts("student_nokd", tmp_path, cache, steps=40))
    x, y, _ = trainer.batch(0)
    before = batch_loss(trainer, x, y)
    card = trainer.fit()
    assert batch_loss(trainer, x, y) < 0.8 * before
    assert card["steps"] == 40 and 23_500 <= card["n_params"] <= 24_500
    assert {"val_mae", "val_loss", "val_r"} <= set(card["validation"])
    assert "noise_mae" in card["validation_baseline"]
    weights = tmp_path / "student_nokd.safetensors"
    assert load_estimator("student_nokd", str(weights)).n_params == card["n_params"]
    rows = [json.loads(line) for line in (tmp_path / LOG).read_text().splitlines()]
    assert {"train", "val", "baseline"} <= {r["split"] for r in rows}


def test_distillation_terms_are_nonzero_and_train_only_the_student(tmp_path, cache, teacher_weights):
    trainer = Trainer(tiny("student"), opts("student", tmp_path, cache, steps=1, teacher=teacher_weights))
    x, y, _ = trainer.batch(0)
    terms = trainer.losses(x, y)
    assert terms["kd_hint"].item() > 0 and terms["kd_output"].item() > 0
    sum(terms.values()).backward()
    assert all(p.grad is None for p in trainer.distiller.teacher.parameters())
    student_grads = [p.grad for p in trainer.model.parameters()]
    assert all(g is not None for g in student_grads) and any(g.abs().sum() > 0 for g in student_grads)
    adapters = trainer.trained.adapters.parameters()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in adapters)
    # the hint term alone reaches the student's early layers through the adapters
    trainer.opt.zero_grad(set_to_none=True)
    trainer.losses(x, y)["kd_hint"].backward()
    assert trainer.model.encoder.layers[0][0].weight.grad.abs().sum() > 0


def test_label_free_losses_on_real_video_train_the_network(tmp_path, cache):
    """Window pairs from a real face video (its reference unused) add terms that reach the weights."""
    weights = {"band": 1.0, "sparse": 1.0, "consistency": 1.0, "pos": 1.0}
    cfg = tiny("student_nokd", unlabelled={"videos": [str(REAL_VIDEO)], "weights": weights, "batch_size": 2,
                                           "shift": 30, "pos_snr_db": -100.0})
    trainer = Trainer(cfg, opts("student_nokd", tmp_path, cache, steps=1))
    terms = trainer.losses(*trainer.batch(0))
    assert {"u_band", "u_sparse", "u_consistency", "u_pos"} <= set(terms)
    assert all(0 <= terms[k].item() < 10 for k in ("u_band", "u_sparse", "u_pos"))
    trainer.opt.zero_grad(set_to_none=True)
    terms["u_pos"].backward()
    assert trainer.model.encoder.layers[0][0].weight.grad.abs().sum() > 0
    missing = tiny("student_nokd", unlabelled={"videos": [str(tmp_path / "nope.mp4")], "weights": weights})
    with pytest.raises(ConfigError, match="not found"):
        Trainer(missing, opts("student_nokd", tmp_path / "m", cache, steps=1))


def test_label_free_spectral_losses_reward_one_in_band_line():
    from rppg_training.unsupervised import band_loss, consistency_loss, sparse_loss

    t = torch.arange(240) / 30.0
    pulse = torch.sin(2 * torch.pi * 1.2 * t)[None]
    noise = torch.randn(1, 240, generator=torch.Generator().manual_seed(0))
    assert band_loss(pulse) < 0.05 < band_loss(noise)
    assert sparse_loss(pulse) < 0.2 < sparse_loss(noise)
    other = torch.sin(2 * torch.pi * 2.0 * t)[None]
    assert consistency_loss(pulse, pulse) < 1e-4 < consistency_loss(pulse, other)


def test_cached_teacher_targets_are_the_teacher_on_the_clip(tmp_path, cache, teacher_weights):
    """The teacher cache holds the teacher's own output and hint maps, also for flipped windows."""
    from rppg.models.preprocess import preprocess
    from rppg_training.distill import CACHED_HINT_SIDE

    cfg = tiny("student")
    cfg["distill"]["cache_teacher"] = True
    trainer = Trainer(cfg, opts("student", tmp_path, cache, steps=1, teacher=teacher_weights))
    crops = trainer.train_bank.crops[0]
    n = len(crops)
    out, feats = trainer.teacher_cache.targets(torch.tensor([[0, 0, 1]]), n)
    with torch.inference_mode():
        t_out, t_feats = trainer.distiller.teacher.forward_features(
            torch.from_numpy(preprocess(np.ascontiguousarray(crops[:, :, ::-1])))[None])
    torch.testing.assert_close(out, t_out, atol=1e-4, rtol=1e-4)
    assert feats["hint1"].shape == (1, t_feats["hint1"].shape[1], n, CACHED_HINT_SIDE, CACHED_HINT_SIDE)
    torch.testing.assert_close(feats["hint2"], t_feats["hint2"], atol=2e-2, rtol=2e-2)  # stored as float16
    terms = trainer.losses(*trainer.batch(0))
    assert terms["kd_hint"].item() > 0 and terms["kd_output"].item() > 0


def test_the_nokd_student_has_no_teacher_but_the_same_start(tmp_path, cache, teacher_weights):
    kd = Trainer(tiny("student"), opts("student", tmp_path / "a", cache, steps=1, teacher=teacher_weights))
    nokd = Trainer(tiny("student_nokd"), opts("student_nokd", tmp_path / "b", cache, steps=1))
    for (name, a), b in zip(kd.model.state_dict().items(), nokd.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert nokd.distiller is None and set(nokd.losses(*nokd.batch(0))) == {"pearson", "freq"}
    assert torch.equal(kd.batch(3)[0], nokd.batch(3)[0])


def test_resume_continues_the_step_count_and_matches_an_uninterrupted_run(tmp_path, cache):
    cfg = tiny("student_nokd", val_every=3)
    assert Trainer(cfg, opts("student_nokd", tmp_path / "split", cache, steps=6, stop_after=3)).fit() == {}
    resumed = Trainer(cfg, opts("student_nokd", tmp_path / "split", cache, steps=6, resume=True))
    assert resumed.step == 3
    resumed.fit()
    assert resumed.step == 6
    straight = Trainer(cfg, opts("student_nokd", tmp_path / "straight", cache, steps=6))
    straight.fit()
    straight_state = straight.model.state_dict()
    for name, a in resumed.model.state_dict().items():
        torch.testing.assert_close(a, straight_state[name], msg=name)
    straight_ema = straight.ema.state_dict()
    for name, a in resumed.ema.state_dict().items():
        torch.testing.assert_close(a, straight_ema[name], msg=f"ema {name}")
    steps = [json.loads(r)["step"] for r in (tmp_path / "split" / LOG).read_text().splitlines()]
    assert max(steps) == 6 and (tmp_path / "split" / CHECKPOINT).is_file()


def test_the_shipped_weights_are_the_weight_average_not_the_last_step(tmp_path, cache):
    cfg = tiny("student_nokd", lr=0.01, ema=0.9, val_every=8)
    trainer = Trainer(cfg, opts("student_nokd", tmp_path, cache, steps=8))
    trainer.fit()
    shipped = load_file(tmp_path / "student_nokd.safetensors")
    averaged = trainer.ema.module.state_dict()
    raw = trainer.model.state_dict()
    conv = next(k for k, v in raw.items() if v.dim() == 5)  # a 3-D convolution's weights
    torch.testing.assert_close(shipped[conv], averaged[conv])
    assert not torch.allclose(shipped[conv], raw[conv])


def test_config_overrides_change_nested_values_and_reject_unknown_keys():
    from rppg_training.config import apply_overrides

    cfg = apply_overrides(load_config("student_nokd"), ["data.train_clips=12", "ema=0", "arch=student"])
    assert cfg["data"]["train_clips"] == 12 and cfg["ema"] == 0 and cfg["arch"] == "student"
    for bad in ("data.train_clip=12", "nosuch.key=1", "ema", "=3"):
        with pytest.raises(ConfigError):
            apply_overrides(load_config("student_nokd"), [bad])


def test_a_warm_start_begins_at_the_given_weights_and_its_card_names_them(tmp_path, cache):
    cfg = tiny("student_nokd", val_every=2)
    first = Trainer(cfg, opts("student_nokd", tmp_path / "first", cache, steps=2))
    first.fit()
    weights = tmp_path / "first" / "student_nokd.safetensors"
    warm = Trainer(cfg, opts("student_nokd", tmp_path / "warm", cache, steps=2, init=str(weights)))
    shipped = load_file(weights)
    for name, a in warm.model.state_dict().items():
        torch.testing.assert_close(a, shipped[name], msg=name)
    fresh = Trainer(cfg, opts("student_nokd", tmp_path / "fresh", cache, steps=2))
    assert any(not torch.equal(a, shipped[k]) for k, a in fresh.model.state_dict().items())
    assert warm.fit()["initialised_from"] == str(weights)


def test_a_warm_start_with_resume_or_without_weights_is_a_clear_error(tmp_path, cache):
    with pytest.raises(ConfigError, match="one of them"):
        Trainer(tiny("student_nokd"), opts("student_nokd", tmp_path, cache, steps=2, resume=True,
                                           init=str(tmp_path / "w.safetensors")))
    with pytest.raises(ConfigError, match="no weights file"):
        Trainer(tiny("student_nokd"), opts("student_nokd", tmp_path, cache, steps=2, init=str(tmp_path / "none")))


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path, cache):
    from rppg.errors import WeightsError

    with pytest.raises(WeightsError, match="no checkpoint"):
        Trainer(tiny("student_nokd"), opts("student_nokd", tmp_path, cache, steps=2, resume=True))


@pytest.mark.parametrize("make", ["empty", "junk", "missing"])
def test_an_empty_or_corrupt_dataset_fails_before_training(tmp_path, make):
    root = tmp_path / "ds"
    if make != "missing":
        (root / "subject1").mkdir(parents=True)
    if make == "junk":
        (root / "subject1" / "vid.avi").write_bytes(b"\x00garbage")
        (root / "subject1" / "ground_truth.txt").write_text("not numbers\n")
    with pytest.raises(DatasetError):
        Trainer(tiny("teacher"), RunOptions("teacher", tmp_path / "out", data=f"ubfc:{root}", cache_dir=None,
                                            progress=False))
    assert not (tmp_path / "out").exists()


def test_bad_data_spec_and_config_are_config_errors(tmp_path):
    with pytest.raises(ConfigError):
        Trainer(tiny("teacher"), RunOptions("teacher", tmp_path, data="kinetics:/x", cache_dir=None))
    bad = tmp_path / "bad.json"
    bad.write_text("{ nope")
    with pytest.raises(ConfigError):
        load_config("teacher", bad)


def test_a_distributed_step_keeps_the_ranks_identical(tmp_path, cache):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(ROOT / "tests" / "ddp_worker.py"), str(tmp_path), str(cache)]
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "rank 0 of 2 finished at step 2" in done.stdout and "rank 1 of 2 finished at step 2" in done.stdout
    r0, r1 = load_file(str(tmp_path / "rank0.safetensors")), load_file(str(tmp_path / "rank1.safetensors"))
    init = load_file(str(tmp_path / "init0.safetensors"))
    for name in r0:
        assert torch.equal(r0[name], r1[name]), name
    assert any(not torch.equal(r0[n], init[n]) for n in r0 if r0[n].is_floating_point())


def test_rppg_train_is_wired_and_rejects_an_empty_dataset_before_any_work(tmp_path):
    import subprocess
    import sys

    help_run = subprocess.run([sys.executable, "-m", "rppg_app.cli", "train", "--help"], capture_output=True, text=True)
    assert help_run.returncode == 0 and "student_nokd" in help_run.stdout
    (tmp_path / "empty").mkdir()
    result = subprocess.run([sys.executable, "-m", "rppg_app.cli", "train", "teacher", "--data",
                             f"ubfc:{tmp_path / 'empty'}", "--out", str(tmp_path / "run")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("rppg: error:") and result.stderr.count("\n") == 1
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_pulse_visibility_keeps_clips_whose_crops_carry_their_pulse():
    from rppg_training.synth_adapter import MIN_PULSE_VISIBILITY, pulse_visibility

    rng = np.random.default_rng(0)
    t = np.arange(360) / 30.0
    pulse = np.sin(2 * np.pi * 1.2 * t)
    crops = 120.0 + rng.normal(0, 3, (360, 36, 36, 3))
    crops[..., 1] += 0.8 * pulse[:, None, None]
    crops = np.clip(np.round(crops), 0, 255).astype(np.uint8)
    assert pulse_visibility(crops, pulse.astype(np.float32)) > 0.9
    other = np.sin(2 * np.pi * 1.9 * t + 0.3).astype(np.float32)  # a pulse the crops do not carry
    assert pulse_visibility(crops, other) < MIN_PULSE_VISIBILITY


def test_extra_training_banks_join_the_base_bank_without_re_rendering_it(cache):
    base, val = load_banks("synth", TINY_DATA, cache)
    extra = {"train_clips": 1, "seed": 4, "identities": "grid", "redetect_s": 0.5}  # flow-tracked crops
    joined, val_again = load_banks("synth", TINY_DATA | {"extra_train": [extra]}, cache)
    assert len(joined.crops) == len(base.crops) + 1
    for a, b in zip(base.crops, joined.crops, strict=False):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(joined.crops[-1], base.crops[0][: len(joined.crops[-1])])
    assert len(list((cache / "clips").glob("train_4_0_*_optics_grid_flow0.5_v*.npz"))) == 1
    np.testing.assert_array_equal(np.concatenate(val.crops), np.concatenate(val_again.crops))
    # the same clip with detection on every frame: the same pulse, other crops
    per_frame = render_training_clip(4, 0, len(joined.bvp[-1]), "train", "optics", "grid", redetect_s=0.0)
    np.testing.assert_array_equal(per_frame[1], joined.bvp[-1])
    assert per_frame[0].shape == joined.crops[-1].shape and not np.array_equal(per_frame[0], joined.crops[-1])


def test_sway_moves_the_face_inside_the_crop_along_a_smooth_path_and_keeps_the_target():
    n, side = 300, 36
    crops = np.zeros((n, side, side, 3), np.uint8)
    crops[:, 16:20, 16:20] = 255  # a bright square in the middle
    moved = sway(crops, np.random.default_rng(5), max_px=4.0)
    ys, xs = np.mgrid[:side, :side]
    weight = moved[..., 0].astype(float)
    cx = (weight * xs).sum((1, 2)) / weight.sum((1, 2))
    assert 0.5 < np.ptp(cx) <= 8.5  # it moves, by no more than the path allows (+-4 px plus scaling)
    assert np.abs(np.diff(cx)).max() < 1.0  # smoothly, never jumping between frames
    bank = ClipBank([crops], [np.sin(np.arange(n) / 5).astype(np.float32)])
    plain, swaying = WindowDataset(bank, 128, 8, seed=1), WindowDataset(bank, 128, 8, seed=1, sway_px=4.0)
    inputs_differ = 0
    for i in range(8):
        (x0, y0, w0), (x1, y1, w1) = plain[i], swaying[i]
        torch.testing.assert_close(y0, y1)  # the pulse target is untouched
        assert torch.equal(w0, w1)
        inputs_differ += not torch.equal(x0, x1)
    assert 0 < inputs_differ < 8  # about half the windows sway


def test_a_validation_entry_renders_its_own_bank_with_training_settings(cache):
    cfg = TINY_DATA | {"validation": {"split": "use", "val_clips": 1, "identities": "all"}}
    key = validation_bank_key(cfg)
    assert key["split"] == "use" and key["identities"] == "all"
    assert key["seed"] != validation_bank_key(TINY_DATA)["seed"]
    _, val = load_banks("synth", cfg, cache)
    _, old_val = load_banks("synth", TINY_DATA, cache)
    assert len(val.crops) == 1 and len(list((cache / "clips").glob("use_*_all_v*.npz"))) == 1
    assert not np.array_equal(val.bvp[0][:100], old_val.bvp[0][:100])

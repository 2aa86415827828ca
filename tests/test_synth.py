"""The synthetic face-video generator: pulse truth, pulse in the pixels, detectability, files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from rppg.errors import ConfigError
from rppg.signal.filters import bandpass
from rppg.signal.hr import estimate_hr
from rppg.synth import SynthSpec, iter_frames, render_clip, write_ubfc
from rppg.synth.pulse import beat_templates

#: Everything that moves the face-region mean besides the pulse, switched off.
STILL = dict(motion=0.0, light_drift=0.0, specular=0.0, fast_moves_per_min=0.0, light_gradient=0.0)


def box_mean(clip, inner: float = 0.5) -> np.ndarray:
    """Mean BGR of the central part of each frame's face box: (N, 3)."""
    out = []
    for frame, (x, y, w, h) in zip(clip.frames, clip.boxes, strict=True):
        x0, y0 = int(x + w * (1 - inner) / 2), int(y + h * (1 - inner) / 2)
        out.append(frame[y0:y0 + int(h * inner), x0:x0 + int(w * inner)].reshape(-1, 3).mean(0))
    return np.array(out)


def band_power_ratio(x: np.ndarray, fs: float, hr_bpm: float) -> float:
    """Power within 3 bpm of ``hr_bpm`` over the median power per bin in 40-200 bpm."""
    x = (x - x.mean()) * np.hanning(len(x))
    spec = np.abs(np.fft.rfft(x, 8 * len(x))) ** 2
    bpm = np.fft.rfftfreq(8 * len(x), 1 / fs) * 60
    band = (bpm > 40) & (bpm < 200)
    near = np.abs(bpm - hr_bpm) < 3
    return float(spec[near].mean() / np.median(spec[band]))


@pytest.mark.parametrize("hr", [45.0, 72.0, 150.0])
def test_reference_bvp_peak_is_the_heart_rate(hr):
    spec = SynthSpec(duration_s=20, width=32, height=32, hr_bpm=hr, hr_wander_bpm=0.0, seed=1)
    clip = render_clip(spec)
    est = estimate_hr(clip.bvp - clip.bvp.mean(), spec.fps)
    assert est.peak_bpm == pytest.approx(hr, abs=1.0)
    assert np.mean(clip.hr) == pytest.approx(hr, abs=1.0)
    # heart-rate variability is there, and the beat shape is a real pulse (not a sinusoid)
    assert 0.005 < np.std(60 / clip.hr) / np.mean(60 / clip.hr) < 0.1


def test_beat_templates_are_real_pulse_shapes():
    templates, rr = beat_templates()
    assert templates.shape[0] >= 10 and templates.shape[1] == 64
    peaks = templates.argmax(axis=1)
    assert np.all(peaks < 24)  # fast systolic upstroke, slow decay
    assert np.allclose(templates.max(axis=1), 1.0) and np.all(np.abs(templates[:, [0, -1]]) < 0.05)
    assert len(rr) >= 10 and all(abs(r.mean()) < 0.05 for r in rr)


def test_pulse_is_in_the_green_skin_pixels_with_the_documented_sign():
    spec = SynthSpec(duration_s=20, width=96, height=96, face_size=0.6, face_y=0.5, hr_bpm=84.0,
                     hr_wander_bpm=0.0, pulse_amplitude=0.01, seed=3, **STILL)
    clip = render_clip(spec)
    bgr = box_mean(clip)
    green = bgr[:, 1]
    est = estimate_hr(green - green.mean(), spec.fps)
    assert est.peak_bpm == pytest.approx(84.0, abs=1.5)
    # BVP up (more blood) = darker skin, strongest in green
    assert np.corrcoef(green, clip.bvp)[0, 1] < -0.5
    ac = bgr.std(axis=0)
    assert ac[1] > ac[0] and ac[1] > ac[2]


def test_no_pulse_leaves_no_peak_at_the_heart_rate():
    kw = dict(duration_s=20, width=96, height=96, face_size=0.6, face_y=0.5, hr_bpm=96.0, seed=5, **STILL)
    with_pulse = render_clip(SynthSpec(pulse_amplitude=0.008, **kw))
    without = render_clip(SynthSpec(pulse_amplitude=0.0, **kw))
    assert band_power_ratio(box_mean(with_pulse)[:, 1], 30.0, 96.0) > 10
    assert band_power_ratio(box_mean(without)[:, 1], 30.0, 96.0) < 5
    assert not without.bvp.any() and not without.hr.any()


def _face_specs(kind: str) -> list[SynthSpec]:
    if kind == "grid texture":  # each photograph the "all" identity set adds to the original six
        from rppg.synth.face import n_textures

        first, last = n_textures("pyfeat"), n_textures("all")
        assert last > first
        return [SynthSpec(duration_s=1.0, width=320, height=240, face_kind="texture", identities="all",
                          face_index=i, seed=20 + i, skin_tone=1.5 + i % 4) for i in range(first, last)]
    return [SynthSpec(duration_s=1.0, width=320, height=240, face_kind=kind, seed=s, skin_tone=tone)
            for s, tone in ((11, 1.5), (12, 3.5), (13, 5.5))]


def test_identity_sets_keep_the_original_photographs_first():
    from rppg.synth.face import textures_of

    original, everyone = textures_of("pyfeat"), textures_of("all")
    assert len(everyone) > len(original) == 6
    for a, b in zip(original, everyone, strict=False):  # clips drawn before the set grew stay the same
        assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    with pytest.raises(ConfigError, match="identities"):
        SynthSpec(identities="nobody")


@pytest.mark.parametrize("kind", ["procedural", "texture", "grid texture"])
def test_blazeface_detects_the_faces_and_boxes_match(kind):
    from rppg.face.detectors import make_detector

    detector = make_detector("mediapipe")
    assert detector.name == "mediapipe"
    hits, ious = 0, []
    specs = _face_specs(kind)
    n = 0
    try:
        for spec in specs:
            clip = render_clip(spec)
            for frame, box in zip(clip.frames[::3], clip.boxes[::3], strict=True):
                n += 1
                faces = detector.detect(frame)
                if not faces:
                    continue
                hits += 1
                f = max(faces, key=lambda b: b.area)
                x0, y0 = max(f.x, box[0]), max(f.y, box[1])
                x1, y1 = min(f.x + f.w, box[0] + box[2]), min(f.y + f.h, box[1] + box[3])
                inter = max(0, x1 - x0) * max(0, y1 - y0)
                ious.append(inter / (f.w * f.h + box[2] * box[3] - inter))
    finally:
        detector.close()
    assert hits / n >= 0.9
    assert np.median(ious) > 0.7


def test_write_ubfc_files_read_back(tmp_path):
    folders = write_ubfc(tmp_path, 2, seed=4, duration_s=1.5, width=64, height=48, fps=20.0, drop_rate=0.0)
    assert [f.name for f in folders] == ["subject1", "subject2"]
    for folder in folders:
        lines = (folder / "ground_truth.txt").read_text().strip().splitlines()
        assert len(lines) == 3
        bvp, hr, t = (np.array(line.split(), float) for line in lines)
        cap = cv2.VideoCapture(str(folder / "vid.avi"))
        n = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            assert frame.shape == (48, 64, 3)
            n += 1
        cap.release()
        assert n == len(bvp) == len(hr) == len(t) == 30
        assert np.all(np.diff(t) > 0) and np.all((hr > 30) & (hr < 240))


def test_same_seed_same_clip_and_streaming_matches():
    spec = SynthSpec.random(np.random.default_rng(9), duration_s=1.0, width=48, height=40)
    a, b = render_clip(spec), render_clip(spec)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.bvp, b.bvp)
    streamed = list(iter_frames(spec))
    assert len(streamed) == len(a.frames)
    assert all(np.array_equal(f, g) for (f, _), g in zip(streamed, a.frames, strict=True))
    assert np.allclose([t for _, t in streamed], a.times)
    assert SynthSpec.random(np.random.default_rng(9)) == SynthSpec.random(np.random.default_rng(9))
    other = render_clip(spec.replace(seed=spec.seed + 1))
    assert not np.array_equal(other.frames, a.frames)


def test_random_specs_vary_every_factor():
    rng = np.random.default_rng(0)
    specs = [SynthSpec.random(rng) for _ in range(40)]
    fixed = {"duration_s", "width", "height", "template", "face_index", "texture_video", "mirror", "identities"}
    for field in dataclasses.fields(SynthSpec):
        if field.name in fixed:
            continue
        values = {repr(getattr(s, field.name)) for s in specs}
        assert len(values) > 1, field.name
    hr = np.array([s.hr_bpm for s in specs])
    assert hr.min() >= 40 and hr.max() <= 200
    assert SynthSpec.random(rng, pulse_amplitude=0.0, width=100).pulse_amplitude == 0.0
    with pytest.raises(ConfigError):
        SynthSpec.random(rng, no_such_field=1)


def test_timestamps_jitter_and_drops():
    spec = SynthSpec(duration_s=4, fps=50.0, width=32, height=32, time_jitter_ms=3.0, drop_rate=0.1, seed=2)
    clip = render_clip(spec)
    assert 100 < len(clip.times) < 200
    assert np.all(np.diff(clip.times) > 0)
    gaps = np.diff(clip.times)
    assert gaps.max() > 1.5 / 50  # some frames dropped
    assert np.std(gaps[gaps < 1.5 / 50]) > 0.001  # jitter


def test_nuisances_switch_on_and_change_the_frames():
    base = SynthSpec(duration_s=0.5, width=64, height=64, seed=8, **STILL)
    clean = render_clip(base.replace(shot_noise=0.0, read_noise=0.0))
    for change in (dict(jpeg_quality=30), dict(flicker=0.05), dict(blur=1.5), dict(talking=1.0),
                   dict(light_rgb=(1.1, 1.0, 0.8)), dict(gamma=1.2), dict(auto_gain=1.0, light_steps_per_min=30)):
        other = render_clip(base.replace(shot_noise=0.0, read_noise=0.0, **change))
        assert not np.array_equal(other.frames, clean.frames), change


def test_cli_refuses_a_non_empty_folder_and_writes(tmp_path, capsys):
    from rppg_app.cli import main

    out = tmp_path / "set"
    assert main(["synth", str(out), "--subjects", "1", "--duration", "1", "--width", "48", "--height", "36"]) == 0
    assert (out / "subject1" / "vid.avi").is_file()
    assert main(["synth", str(out), "--subjects", "1"]) == 2
    assert "not an empty folder" in capsys.readouterr().err


FOOTAGE = Path(__file__).parent / "data" / "pyfeat_faces" / "single_face.mp4"


@pytest.mark.skipif(not FOOTAGE.is_file(), reason="test clip missing")
def test_real_footage_gets_the_injected_pulse_and_loses_its_own():
    from rppg.synth.footage import _skin_mask, load_footage

    kw = dict(duration_s=12, width=320, height=180, hr_bpm=110.0, hr_wander_bpm=0.0, texture_video=str(FOOTAGE),
              seed=3, shot_noise=0.0, read_noise=0.0, light_drift=0.0, light_gradient=0.0)
    clip = render_clip(SynthSpec(pulse_amplitude=0.02, **kw))
    assert not np.isnan(clip.boxes).any()  # the real tracker found the face in every frame
    green = box_mean(clip)[:, 1]
    assert estimate_hr(green - green.mean(), 30.0).peak_bpm == pytest.approx(110.0, abs=3.0)
    # the 2.4 s video loops back and forth, so its motion repeats; near the heart rate the pixels follow the pulse
    near = (90.0, 130.0)
    assert np.corrcoef(bandpass(green, 30.0, near), bandpass(clip.bvp, 30.0, near))[0, 1] < -0.8

    # without injection, the skin's own in-band colour variation is reduced
    footage = load_footage(str(FOOTAGE.resolve()), FOOTAGE.stat().st_mtime)
    n, h, w = footage.frames.shape[:3]
    plain = render_clip(SynthSpec(**(kw | dict(duration_s=n / footage.fps, fps=footage.fps, width=w, height=h,
                                               pulse_amplitude=0.0))))

    def inband_std(frames):
        m = np.array([cv2.mean(f, mask=_skin_mask(f, b))[:3] for f, b in zip(frames, footage.boxes, strict=True)])
        return float(bandpass(m[:, 1] / m[:, 1].mean(), footage.fps, (42, 210)).std())

    assert inband_std(plain.frames) < 0.8 * inband_std(footage.frames)

"""What a synthetic clip looks like: every knob of the generator in one dataclass.

Fine detail (the face's features, the exact motion path, the noise) comes from ``seed``;
the fields say how much of each effect there is. Every nuisance switches off at 0.
:meth:`SynthSpec.random` draws a varied spec for domain randomisation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from rppg.errors import ConfigError

FACE_KINDS = ("procedural", "texture")
#: Identity sets of the shipped face photographs (rppg.synth.face): "pyfeat" is the original six
#: frames of two people, "all" adds four GRID corpus speakers.
IDENTITY_SETS: dict[str, tuple[str, ...]] = {"pyfeat": ("pyfeat",), "grid": ("grid",), "all": ("pyfeat", "grid")}
BACKGROUNDS = ("solid", "gradient", "noise", "shapes")


@dataclass(frozen=True)
class SynthSpec:
    """One synthetic clip. Lengths in seconds, sizes in pixels, amplitudes relative (0.01 = 1 %)."""

    # clip
    duration_s: float = 10.0
    fps: float = 30.0
    width: int = 640
    height: int = 480
    seed: int = 0
    # pulse (rppg.synth.pulse)
    hr_bpm: float = 72.0
    hr_trend_bpm: float = 0.0  # linear change of the heart rate over the clip
    hr_wander_bpm: float = 2.0  # slow random heart-rate wander (std)
    hrv: float = 0.03  # beat-to-beat RR std relative to the mean RR
    resp_hz: float = 0.25  # breathing rate: respiratory sinus arrhythmia, wander and amplitude modulation
    beat_amp_jitter: float = 0.05  # beat-to-beat amplitude std (relative)
    baseline_wander: float = 0.15  # respiratory baseline drift of the pulse, relative to a beat
    resp_amp_mod: float = 0.1  # respiratory modulation of beat amplitude
    template: int = -1  # beat shape (index into the shipped templates); -1 = drawn from seed
    # pulse in the pixels (rppg.synth.render)
    pulse_amplitude: float = 0.006  # green peak-to-peak AC/DC on skin; 0 = no pulse
    pulse_rgb: tuple[float, float, float] = (0.43, 1.0, 0.69)  # relative amplitude in R, G, B
    pulse_delay_ms: float = 40.0  # largest phase delay between skin regions
    pulse_patchiness: float = 0.4  # spatial variation of the pulse amplitude across the skin
    specular: float = 0.03  # strength of the non-pulsatile specular highlight (0..1 of 255)
    bcg: float = 0.0  # ballistocardiographic head bob at the heart rate, relative to the face box (0.002 = 0.2 %)
    # face (rppg.synth.face)
    face_kind: str = "procedural"  # procedural | texture
    face_index: int = -1  # texture index; -1 = drawn from seed
    identities: str = "pyfeat"  # photographs a texture face is drawn from: pyfeat | grid | all (rppg.synth.face)
    skin_tone: float = 3.0  # Fitzpatrick-like 1 (lightest) .. 6 (darkest)
    face_size: float = 0.4  # face box height / frame height
    face_x: float = 0.5  # face centre, fractions of the frame
    face_y: float = 0.45
    mirror: bool = False
    # motion (rppg.synth.motion)
    motion: float = 0.5  # random-walk head motion scale (0 = still)
    rotation_deg: float = 3.0  # in-plane rotation range (std)
    scale_var: float = 0.03  # relative scale variation (std): moving toward/away from the camera
    fast_moves_per_min: float = 1.0  # sudden head turns/nods
    talking: float = 0.0  # jaw motion amplitude (0..1)
    # light (rppg.synth.lighting)
    light_drift: float = 0.01  # slow intensity drift (std, relative)
    light_steps_per_min: float = 0.0  # sudden brightness changes (lamp switched, cloud)
    flicker: float = 0.0  # mains flicker depth (relative)
    flicker_hz: float = 100.0  # 100 or 120 (twice the mains frequency); aliased by the frame rate
    light_rgb: tuple[float, float, float] = (1.0, 1.0, 1.0)  # light colour gains R, G, B
    light_gradient: float = 0.15  # directional light: brightness difference across the frame
    brightness: float = 1.0  # overall exposure
    wb_steps_per_min: float = 0.0  # camera white-balance re-adjustments (per-channel gain steps)
    exposure_steps_per_min: float = 0.0  # camera exposure/gain steps (all channels)
    # camera (rppg.synth.camera)
    shot_noise: float = 0.3  # photon noise: std = sqrt(shot_noise * value)
    read_noise: float = 1.0  # sensor read noise std (of 255)
    auto_gain: float = 0.0  # automatic exposure control strength (0 = fixed exposure)
    gamma: float = 1.0  # tone-curve exponent applied by the camera
    blur: float = 0.0  # optical blur sigma, pixels
    jpeg_quality: int = 0  # per-frame JPEG round trip quality 1..100; 0 = none
    h264_kbps: float = 0.0  # H.264 round trip of the whole clip at this bitrate (for 640x480; scaled by area); 0 = none
    # background (rppg.synth.background)
    background: str = "gradient"  # solid | gradient | noise | shapes
    # timing
    time_jitter_ms: float = 0.0  # std of timestamp jitter
    drop_rate: float = 0.0  # fraction of frames dropped
    # real footage (rppg.synth.footage)
    texture_video: str | None = None  # a real face video used as the moving face

    def __post_init__(self) -> None:
        if self.duration_s <= 0 or self.fps <= 0:
            raise ConfigError("duration and frame rate must be positive")
        if self.width < 16 or self.height < 16:
            raise ConfigError(f"frame size {self.width}x{self.height} is too small (16x16 at least)")
        if not 20.0 <= self.hr_bpm <= 250.0:
            raise ConfigError(f"heart rate {self.hr_bpm} bpm is outside 20-250")
        if self.pulse_amplitude < 0:
            raise ConfigError("pulse amplitude must be >= 0")
        if self.face_kind not in FACE_KINDS:
            raise ConfigError(f"face_kind must be one of {', '.join(FACE_KINDS)}, got {self.face_kind!r}")
        if self.identities not in IDENTITY_SETS:
            raise ConfigError(f"identities must be one of {', '.join(IDENTITY_SETS)}, got {self.identities!r}")
        if self.background not in BACKGROUNDS:
            raise ConfigError(f"background must be one of {', '.join(BACKGROUNDS)}, got {self.background!r}")
        if not 0 <= self.jpeg_quality <= 100:
            raise ConfigError("jpeg_quality must be 0 (off) or 1-100")
        if not 0 <= self.drop_rate < 0.9:
            raise ConfigError("drop_rate must be in [0, 0.9)")
        if self.h264_kbps < 0 or self.bcg < 0:
            raise ConfigError("h264_kbps and bcg must be >= 0")

    @property
    def n_nominal(self) -> int:
        """Frames the clip would have without drops."""
        return max(1, int(round(self.duration_s * self.fps)))

    def replace(self, **changes) -> SynthSpec:
        return dataclasses.replace(self, **changes)

    @classmethod
    def typical(cls, rng: np.random.Generator, **overrides) -> SynthSpec:
        """A varied person (heart rate, face, skin tone, size, background) filmed in typical conditions:
        every nuisance at its moderate default. For demos and easy evaluation sets."""
        _check_fields(cls, overrides)
        u = rng.uniform
        d = dict(
            seed=int(rng.integers(0, 2**31 - 1)),
            hr_bpm=u(50, 120) if rng.random() < 0.65 else u(40, 200),
            resp_hz=u(0.15, 0.4),
            face_kind="texture" if rng.random() < 0.4 else "procedural",
            skin_tone=u(1, 6),
            face_size=u(0.3, 0.5),
            face_x=u(0.4, 0.6),
            face_y=u(0.4, 0.5),
            mirror=bool(rng.random() < 0.5),
            background=str(rng.choice(BACKGROUNDS)),
        )
        d.update(overrides)
        return cls(**d)

    @classmethod
    def random(cls, rng: np.random.Generator, **overrides) -> SynthSpec:
        """A varied spec: each factor drawn over its documented range (rppg/synth/README.md).

        ``overrides`` fix fields (e.g. ``duration_s``, ``width``, ``pulse_amplitude``); they are
        applied after drawing, so the draws of the other fields do not depend on them."""
        _check_fields(cls, overrides)
        u = rng.uniform
        hr = u(50, 120) if rng.random() < 0.65 else u(40, 200)
        on = lambda p: rng.random() < p  # noqa: E731
        d = dict(
            seed=int(rng.integers(0, 2**31 - 1)),
            fps=float(rng.choice([24.0, 25.0, 30.0, 30.0, 30.0, 50.0, 60.0])) if on(0.5) else 30.0,
            hr_bpm=hr,
            hr_trend_bpm=u(-10, 10) if on(0.5) else 0.0,
            hr_wander_bpm=u(0, 4),
            hrv=float(np.exp(u(np.log(0.01), np.log(0.08)))),
            resp_hz=u(0.15, 0.4),
            beat_amp_jitter=u(0, 0.12),
            baseline_wander=u(0, 0.4),
            resp_amp_mod=u(0, 0.25),
            pulse_amplitude=float(np.exp(u(np.log(0.001), np.log(0.02)))),
            pulse_rgb=(0.43 * u(0.75, 1.25), 1.0, 0.69 * u(0.75, 1.25)),  # replaced below by skin optics
            pulse_delay_ms=u(0, 80),
            pulse_patchiness=u(0.1, 0.8),
            specular=u(0, 0.15),
            face_kind="texture" if on(0.4) else "procedural",
            skin_tone=u(1, 6),
            face_size=u(0.15, 0.6) if on(0.5) else u(0.3, 0.5),
            face_x=u(0.3, 0.7),
            face_y=u(0.35, 0.6),
            mirror=bool(on(0.5)),
            motion=float(np.exp(u(np.log(0.1), np.log(3.0)))) if on(0.9) else 0.0,
            rotation_deg=u(0, 8),
            scale_var=u(0, 0.06),
            fast_moves_per_min=u(0, 4),
            talking=u(0, 1) if on(0.3) else 0.0,
            light_drift=u(0, 0.05),
            light_steps_per_min=u(0, 2) if on(0.2) else 0.0,
            flicker=u(0, 0.04) if on(0.2) else 0.0,
            flicker_hz=float(rng.choice([50.0, 60.0, 100.0, 100.0, 120.0, 120.0])),
            light_rgb=tuple(float(v) for v in u(0.85, 1.1, 3)) if on(0.5) else (1.0, 1.0, 1.0),
            light_gradient=u(0, 0.5),
            brightness=u(0.5, 1.2),
            shot_noise=u(0, 1.0),
            read_noise=u(0, 3.0),
            auto_gain=u(0, 1) if on(0.4) else 0.0,
            gamma=u(0.8, 1.25),
            blur=u(0, 1.5) if on(0.5) else 0.0,
            jpeg_quality=int(rng.integers(40, 96)) if on(0.4) else 0,
            background=str(rng.choice(BACKGROUNDS)),
            time_jitter_ms=u(0, 4) if on(0.4) else 0.0,
            drop_rate=u(0, 0.05) if on(0.2) else 0.0,
        )
        # drawn after the original factors, so the draws above are unchanged by these newer ones
        from rppg.synth.skin_optics import random_pulse_colour

        d.update(
            pulse_rgb=random_pulse_colour(rng, d["skin_tone"]),
            bcg=u(0.0005, 0.004) if on(0.7) else 0.0,
            wb_steps_per_min=u(0, 2) if on(0.3) else 0.0,
            exposure_steps_per_min=u(0, 2) if on(0.3) else 0.0,
            h264_kbps=float(np.exp(u(np.log(300), np.log(3000)))) if on(0.5) else 0.0,
        )
        d.update(overrides)
        return cls(**d)


def _check_fields(cls: type, overrides: dict) -> None:
    unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise ConfigError(f"unknown synth option(s): {', '.join(sorted(unknown))}")

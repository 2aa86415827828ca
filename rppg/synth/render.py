"""Putting a clip together: frame times, the pulse, a face layer, the light and the camera.

The face layer is a drawn scene (:mod:`rppg.synth.sprite_layer`) or real footage with its
own pulse cancelled (:mod:`rppg.synth.footage`, when ``spec.texture_video`` is set). Both
take the per-region pulse for each frame; lighting and the camera model are shared.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from rppg.synth.camera import Camera
from rppg.synth.lighting import make_lighting
from rppg.synth.pulse import make_pulse
from rppg.synth.spec import SynthSpec
from rppg.synth.sprite_layer import SpriteLayer

#: Independent random streams, so switching one effect off leaves the others unchanged.
_STREAMS = ("times", "pulse", "face", "maps", "motion", "light", "camera", "background")


@dataclass(frozen=True)
class SynthClip:
    """A rendered clip and its ground truth, one row per frame."""

    frames: np.ndarray  # uint8 (N, H, W, 3) BGR
    times: np.ndarray  # (N,) seconds
    bvp: np.ndarray  # (N,) reference blood-volume pulse at the frame times (zeros without pulse)
    hr: np.ndarray  # (N,) instantaneous heart rate, bpm (zeros without pulse)
    boxes: np.ndarray  # (N, 4) face box x, y, w, h in pixels (BlazeFace convention)


def frame_times(spec: SynthSpec, rng: np.random.Generator) -> np.ndarray:
    """Capture times: nominal rate, Gaussian jitter, random and bursty dropped frames."""
    n = spec.n_nominal
    t = np.arange(n) / spec.fps
    if spec.time_jitter_ms > 0:
        jitter = rng.normal(0, spec.time_jitter_ms / 1000.0, n)
        t = t + np.clip(jitter, -0.4 / spec.fps, 0.4 / spec.fps)
        t -= min(0.0, float(t[0]))
    if spec.drop_rate > 0:
        keep = rng.random(n) >= spec.drop_rate * 0.7
        for start in np.flatnonzero(rng.random(n) < spec.drop_rate * 0.3 / 3):  # bursts of 2-5 frames
            keep[start:start + int(rng.integers(2, 6))] = False
        keep[0] = True
        t = t[keep]
    return t


class Scene:
    """One clip, prepared: ground truth for every frame, and ``render(i)`` (frames in order)."""

    def __init__(self, spec: SynthSpec) -> None:
        self.spec = spec
        seeds = np.random.SeedSequence(spec.seed).spawn(len(_STREAMS))
        rngs = {name: np.random.default_rng(s) for name, s in zip(_STREAMS, seeds, strict=True)}
        self.times = frame_times(spec, rngs["times"])
        delays = np.array([0.0, *rngs["pulse"].uniform(0, spec.pulse_delay_ms / 1000.0, 2)])
        pulse = make_pulse(spec, rngs["pulse"], float(self.times[0]) - 1.0, float(self.times[-1]) + 1.0)
        self.has_pulse = spec.pulse_amplitude > 0
        self.bvp = pulse.bvp(self.times) if self.has_pulse else np.zeros(len(self.times))
        self.hr = pulse.hr(self.times) if self.has_pulse else np.zeros(len(self.times))
        # pulse of the rest / forehead / cheek skin at the frame times, zero-mean over the clip
        drive = np.stack([pulse.bvp(self.times - d) for d in delays], axis=1)
        self.drive = (drive - drive.mean()).astype(np.float32)
        self.light = make_lighting(spec, rngs["light"], self.times)
        if spec.texture_video:
            from rppg.synth.footage import FootageLayer

            self.layer = FootageLayer(spec, rngs, self.times, self.light.field)
        else:
            self.layer = SpriteLayer(spec, rngs, self.times, self.light.field)
        self.boxes = self.layer.boxes
        if self.has_pulse and spec.bcg > 0:
            self._add_bcg(pulse)
        self.camera = Camera(spec, rngs["camera"])

    def _add_bcg(self, pulse) -> None:
        """Ballistocardiographic bob: the head moves up and down by ``spec.bcg`` of the face box with
        each ejection (the pulse's rate of change, about 0.1 s before the skin's blood volume peaks)."""
        bvp = pulse.bvp(self.times + 0.1)
        rate = np.gradient(bvp, self.times)
        rate = rate / (np.abs(rate).max() + 1e-9)
        self.layer.boxes[:, 1] += (self.spec.bcg * self.layer.boxes[:, 3] * rate).astype(np.float32)

    def __len__(self) -> int:
        return len(self.times)

    def render(self, i: int) -> np.ndarray:
        """Frame ``i`` as uint8 BGR. Frames must be rendered in order (the camera has state)."""
        frame = self.layer.radiance(i, self.drive[i] if self.has_pulse else None)
        cv2.multiply(frame, tuple(float(g) for g in self.light.gains[i]) + (0.0,), dst=frame)
        rows = self.light.rows(float(self.times[i]), self.spec.height)
        if rows is not None:
            frame *= rows
        return self.camera.capture(frame)


def scene_frames(scene: Scene) -> Iterator[tuple[np.ndarray, float]]:
    """A prepared scene's frames in order as (uint8 BGR image, time in seconds), through the codec if set."""
    frames = (scene.render(i) for i in range(len(scene)))
    if scene.spec.h264_kbps > 0:
        from rppg.synth.codec import h264_round_trip

        frames = h264_round_trip(frames, scene.spec)
    for i, frame in enumerate(frames):
        yield frame, float(scene.times[i])


def iter_frames(spec: SynthSpec) -> Iterator[tuple[np.ndarray, float]]:
    """Frames one at a time as (uint8 BGR image, time in seconds): memory stays flat for long clips."""
    return scene_frames(Scene(spec))


def render_clip(spec: SynthSpec) -> SynthClip:
    """The whole clip in memory, with its ground truth."""
    scene = Scene(spec)
    frames = np.empty((len(scene), spec.height, spec.width, 3), np.uint8)
    for i, (frame, _) in enumerate(scene_frames(scene)):
        frames[i] = frame
    return SynthClip(frames, scene.times.copy(), scene.bvp.astype(np.float32), scene.hr.astype(np.float32),
                     scene.boxes.copy())

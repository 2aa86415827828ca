"""The pipeline every front end shares: frames -> face -> per-frame sample -> BVP -> heart rate.

Per frame it only tracks the face and extracts one small sample (a skin RGB
mean or a 36x36 crop); everything heavier (resampling by timestamps, the
estimator, the spectrum) runs once per reading, i.e. once per ``step_s``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from rppg.constants import (
    CROP_SIZE,
    HR_MAX_BPM,
    HR_MIN_BPM,
    MIN_FACE_PX,
    MODEL_FPS,
    NETWORK_FOLLOW,
    NETWORK_REDETECT_S,
    QUALITY_GATE_DB,
    STEP_SECONDS,
    WINDOW_SECONDS,
)
from rppg.containers import FaceBox, Frame, HeartRate, Reading
from rppg.errors import ConfigError
from rppg.estimators import Estimator, make_estimator
from rppg.face.regions import SkinSampler, box_mean_rgb, crop_face
from rppg.face.tracker import FaceTracker
from rppg.heap import fit_mmap_threshold
from rppg.signal.filters import resample_uniform
from rppg.signal.quality import Judge, Verdict
from rppg.sources.base import FrameSource
from rppg.windowing import crops_on_grid, grid_times

#: A window needs a face in at least this share of its frames to give a reading.
MIN_FACE_SHARE = 0.6
#: Offline, networks run on chunks of this many samples (10 s at MODEL_FPS), overlapped by half.
_CHUNK = 300
#: Anything up to this many samples (a live window: 10 s is 301 grid samples) runs in one pass.
_ONE_PASS = 2 * _CHUNK


@dataclass
class ClipTrace:
    """A whole clip's BVP on a uniform MODEL_FPS grid (seconds from the first frame).

    ``bvp`` is the chosen method's waveform; ``fallback_bvp`` the fallback method's, when one is set.
    ``readings`` are the live readings over the clip, each covering ``window_s`` up to its time.
    """

    times: np.ndarray
    bvp: np.ndarray
    face: np.ndarray  # bool per grid sample: was a face tracked there
    face_fraction: float
    n_frames: int
    duration_s: float
    fs: float = MODEL_FPS
    fallback_bvp: np.ndarray | None = None
    gate_db: float = QUALITY_GATE_DB  # the SNR gate offline windows are withheld by
    judge: Judge | None = None  # the pipeline's quality judge, for the reported confidence
    names: tuple[str, ...] = ("bvp", "fallback")
    readings: list[Reading] = field(default_factory=list)  # the live path's readings over the clip
    window_s: float = WINDOW_SECONDS  # the span each reading covers, ending at its time

    def heart_rate(self, start: float | None = None, end: float | None = None,
                   band: tuple[float, float] = (HR_MIN_BPM, HR_MAX_BPM),
                   gate_db: float | None = None) -> HeartRate:
        """Heart rate over [start, end) seconds, withheld when the face was mostly missing or the
        SNR is under ``gate_db`` (default: the pipeline's gate). The trace keeps only waveforms,
        not the colour trace the calibrated confidence needs, so the confidence is reported (each
        window judged alone, colour features missing) but the withholding stays the SNR gate."""
        gate_db = self.gate_db if gate_db is None else gate_db
        sel = np.ones(len(self.times), bool)
        if start is not None:
            sel &= self.times >= start - 1e-9
        if end is not None:
            sel &= self.times < end - 1e-9
        if not sel.any() or self.face[sel].mean() < MIN_FACE_SHARE:
            return HeartRate(bpm=None, quality=-np.inf, peak_bpm=float("nan"), reason="no_face")
        waves = [self.bvp] if self.fallback_bvp is None else [self.bvp, self.fallback_bvp]
        base = self.judge if self.judge is not None else Judge(band, self.fs, track=False)
        judge = Judge(band, self.fs, base.model, 0.0, track=False)
        verdict = judge(float(self.times[sel][-1]), {n: w[sel] for n, w in zip(self.names, waves, strict=False)})
        bpm = verdict.candidate_bpm if verdict.quality >= gate_db else None
        return HeartRate(bpm, verdict.quality, verdict.candidate_bpm or float("nan"), verdict.confidence,
                         verdict.estimator, None if bpm is not None else "low_quality")


def _uniform(times: np.ndarray, samples: list[dict[str, np.ndarray] | None], key: str,
             grid: np.ndarray) -> np.ndarray | None:
    """One per-frame sample kind (e.g. the skin RGB) on the window's grid, or None when absent."""
    have = [i for i, s in enumerate(samples) if s is not None and key in s]
    if len(have) < 2:
        return None
    values = np.stack([samples[i][key] for i in have]).astype(np.float64)
    flat = values.reshape(len(have), -1)
    out = np.stack([np.interp(grid, times[have], flat[:, j]) for j in range(flat.shape[1])], axis=1)
    return out.reshape((len(grid),) + values.shape[1:])


def make_peer(method: str) -> Estimator:
    """The independent classical method a lone estimator's bpm is checked against."""
    return make_estimator("chrom" if method == "pos" else "pos")


def _pad_to_multiple(x: np.ndarray, multiple: int = 8) -> np.ndarray:
    extra = (-len(x)) % multiple
    return np.concatenate([x, np.repeat(x[-1:], extra, axis=0)]) if extra else x


def _standardise(x: np.ndarray) -> np.ndarray:
    std = x.std()
    return (x - x.mean()) / std if std > 0 else x - x.mean()


class Pipeline:
    """Streaming (``push``) and offline (``process_clip``) heart-rate estimation for one face."""

    def __init__(self, method: str = "student", weights: str | None = None, backend: str = "torch",
                 band: tuple[float, float] = (HR_MIN_BPM, HR_MAX_BPM), window_s: float = WINDOW_SECONDS,
                 step_s: float = STEP_SECONDS, gate_db: float = QUALITY_GATE_DB,
                 detector: str = "mediapipe", roi: str = "skin", fallback: str | None = None,
                 confidence_threshold: float | None = None, track: bool = True,
                 min_face_px: float = MIN_FACE_PX, network_redetect_s: float = NETWORK_REDETECT_S,
                 network_follow: str = NETWORK_FOLLOW) -> None:
        if not 0 < band[0] < band[1]:
            raise ConfigError(f"heart-rate band must be 0 < low < high, got {band[0]}-{band[1]} bpm")
        if band[1] / 60.0 >= MODEL_FPS / 2:
            raise ConfigError(f"band upper edge {band[1]} bpm is above the Nyquist rate of {MODEL_FPS} Hz sampling")
        if window_s < 4 or step_s <= 0:
            raise ConfigError("window must be at least 4 s and step positive")
        if roi not in ("skin", "box"):
            raise ConfigError(f"unknown roi {roi!r} (use skin or box)")
        fit_mmap_threshold()  # a reading's network input goes back to the system when freed (rppg/heap.py)
        self._frame_bytes = 0
        self.method = method
        self.estimator: Estimator = make_estimator(method, weights, backend)
        self.fallback: Estimator | None = None
        if fallback not in (None, "none") and self.estimator.kind == "crop":  # classical methods run alone
            self.fallback = make_estimator(fallback)
            if self.fallback.kind != "rgb":
                raise ConfigError(f"fallback must be a classical method (pos, chrom, green), not {fallback!r}")
        # the skin colour trace is always kept: the quality judges a network's bpm by it too
        self._kinds = tuple(dict.fromkeys([e.kind for e in (self.estimator, self.fallback) if e is not None] + ["rgb"]))
        self.band, self.window_s, self.step_s, self.gate_db = band, window_s, step_s, gate_db
        if not np.isfinite(gate_db):  # the old "no gate" switch: answer every window
            confidence_threshold = 0.0
        self.judge = Judge(band, MODEL_FPS, threshold=confidence_threshold, track=track)
        self.min_face_px = min_face_px
        self.last_verdict: Verdict | None = None
        redetect = {"redetect_s": network_redetect_s, "follow": network_follow} if "crop" in self._kinds else {}
        self.tracker = FaceTracker(detector, **redetect)
        self._skin = SkinSampler() if roi == "skin" else None
        self._mean_rgb = self._skin if self._skin is not None else box_mean_rgb
        self.reset()

    def reset(self) -> None:
        """Forget the buffered window and the tracked face (a new source, a loop)."""
        self.tracker.reset()
        if self._skin is not None:
            self._skin.reset()
        keep = int((self.window_s + 2.0) * 120)  # enough for 120 fps cameras
        self._times: deque[float] = deque(maxlen=keep)
        self._samples: deque[dict[str, np.ndarray] | None] = deque(maxlen=keep)
        self._next_emit: float | None = None
        self.judge.reset()
        self.last_box: FaceBox | None = None
        self.frames_seen = 0

    # --- per frame -------------------------------------------------------------------------
    def _sample(self, frame: Frame, box: FaceBox | None) -> dict[str, np.ndarray] | None:
        """What the estimators need from this frame: a crop, a skin mean, or both."""
        if box is None:
            return None
        sample = {}
        if "crop" in self._kinds:
            sample["crop"] = crop_face(frame.image, box, CROP_SIZE)
        if "rgb" in self._kinds:
            rgb = self._mean_rgb(frame.image, box)
            if rgb is None:
                return None
            sample["rgb"] = rgb
            if self._skin is not None and self._skin.last_regions is not None:
                sample["regions"] = self._skin.last_regions
        return sample

    def _observe(self, frame: Frame) -> dict[str, np.ndarray] | None:
        box = self.tracker.update(frame)
        self.last_box = box
        return self._sample(frame, box)

    def observe(self, frame: Frame) -> tuple[float, dict[str, np.ndarray] | None, FaceBox | None]:
        """Track and sample one frame without buffering it: (time, sample, box), for ``push_sample``."""
        nbytes = getattr(frame.image, "nbytes", 0)
        if nbytes > self._frame_bytes:  # larger frames than so far: keep them in the heap too
            self._frame_bytes = nbytes
            fit_mmap_threshold(nbytes)
        sample = self._observe(frame)
        return frame.t, sample, self.last_box

    # --- per reading -----------------------------------------------------------------------
    def _estimate(self, times: np.ndarray, samples: list[dict[str, np.ndarray] | None], t0: float,
                  t1: float) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
        """Resample the face samples onto the MODEL_FPS grid and run the estimator (and fallback).

        Returns (grid times, [bvp, fallback bvp], face mask); frames without a face are
        bridged by interpolation and flagged in the mask.
        """
        have = np.array([s is not None for s in samples])
        grid = grid_times(t0, t1)
        estimators = [e for e in (self.estimator, self.fallback) if e is not None]
        if have.sum() < 2:
            return grid, [np.zeros(len(grid)) for _ in estimators], np.zeros(len(grid), bool)
        face = np.interp(grid, times, have.astype(float)) >= 0.5
        present = [s for s in samples if s is not None]
        uniform: dict[str, np.ndarray] = {}
        if "crop" in self._kinds:  # the same resampling and rounding as the training windows
            uniform["crop"] = crops_on_grid(times[have], np.stack([s["crop"] for s in present]), t0, t1)[1]
        if "rgb" in self._kinds:
            rgb = np.stack([s["rgb"] for s in present]).astype(np.float32)
            uniform["rgb"] = resample_uniform(times[have], rgb, MODEL_FPS, t0, t1)[1][: len(grid)]
        waves = [self._run_network(uniform["crop"]) if e.kind == "crop" else e(uniform["rgb"])
                 for e in estimators]
        n = min(len(w) for w in waves)
        return grid[:n], [w[:n] for w in waves], face[:n]

    def _run_network(self, crops: np.ndarray) -> np.ndarray:
        """A window runs in one pass; clips longer than ``_ONE_PASS`` samples overlap-add
        half-overlapping ``_CHUNK``-sample chunks with a triangular weight, so memory stays flat for
        any clip length."""
        n = len(crops)
        if n <= _ONE_PASS:
            return _standardise(self._network_window(crops))
        out, weight = np.zeros(n), np.zeros(n)
        taper = np.bartlett(_CHUNK + 2)[1:-1]
        starts = list(range(0, n - _CHUNK + 1, _CHUNK // 2))
        if starts[-1] != n - _CHUNK:
            starts.append(n - _CHUNK)
        for s in starts:
            out[s:s + _CHUNK] += taper * _standardise(self._network_window(crops[s:s + _CHUNK]))
            weight[s:s + _CHUNK] += taper
        return out / np.maximum(weight, 1e-9)

    def _network_window(self, crops: np.ndarray) -> np.ndarray:
        """Networks take lengths divisible by 8: pad by repeating the last crop, then trim."""
        return self.estimator(_pad_to_multiple(crops))[: len(crops)]

    # --- streaming -------------------------------------------------------------------------
    def push(self, frame: Frame) -> Reading | None:
        """Add one frame; returns a Reading once per ``step_s`` once ``window_s`` of input is buffered."""
        return self.push_sample(*self.observe(frame))

    def push_sample(self, t: float, sample: dict[str, np.ndarray] | None, box: FaceBox | None) -> Reading | None:
        """``push`` after tracking: buffer one observation (from ``observe``) and read when due. Replaying
        recorded observations gives exactly the readings ``push`` gave, so several estimators can be
        scored on one tracking pass."""
        self.last_box = box
        self.frames_seen += 1
        self._times.append(t)
        self._samples.append(sample)
        if self._next_emit is None:
            self._next_emit = t + self.window_s
        if t + 1e-9 < self._next_emit:
            return None
        self._next_emit = max(self._next_emit + self.step_s, t + 1e-9)
        return self._reading(t)

    def _reading(self, t_now: float) -> Reading:
        """Judge the last ``window_s``: a tracked, confidence-gated bpm, or None with the reason."""
        times = np.fromiter(self._times, float)
        keep = times >= t_now - self.window_s
        samples = [s for s, k in zip(self._samples, keep, strict=True) if k]
        times = times[keep]
        box = self.last_box
        silent = {"t": t_now, "bpm": None, "quality": float("-inf"), "face": box is not None, "box": box}
        if box is not None and max(box.w, box.h) < self.min_face_px:
            self.last_verdict = None
            return Reading(**silent, reason="face_too_small")
        grid, waves, face = self._estimate(times, samples, t_now - self.window_s, t_now)
        if len(face) == 0 or face.mean() < MIN_FACE_SHARE:
            self.last_verdict = None
            return Reading(**silent, reason="warming_up" if box is not None else "no_face")
        names = [e.name for e in (self.estimator, self.fallback) if e is not None]
        extra = {key: _uniform(times, samples, key, grid) for key in ("rgb", "regions")}
        peer = None
        if len(waves) == 1 and extra["rgb"] is not None:  # a lone method is checked against POS/CHROM
            peer = make_peer(self.estimator.name)(extra["rgb"])
        verdict = self.judge(t_now, dict(zip(names, waves, strict=True)), extra["rgb"], extra["regions"], peer)
        self.last_verdict = verdict
        return Reading(t_now, verdict.bpm, verdict.quality, box is not None,
                       _standardise(waves[verdict.wave]).astype(np.float32), box,
                       confidence=verdict.confidence, estimator=verdict.estimator)

    # --- offline ---------------------------------------------------------------------------
    def process_clip(self, source: FrameSource) -> ClipTrace:
        """Run a whole source through the live path (``push``), keeping every reading, and also
        estimate the BVP of the whole clip at once (for whole-clip heart rate and plots).

        The readings are exactly what ``monitor`` would print for this source, so window
        metrics computed from them are live numbers."""
        return self.process_observations(self.observe(frame) for frame in source)

    def process_observations(self, observations: Iterable[tuple[float, dict[str, np.ndarray] | None,
                                                                  FaceBox | None]]) -> ClipTrace:
        """``process_clip`` on observations from ``observe`` (recorded once, replayed per estimator)."""
        self.reset()
        times: list[float] = []
        samples: list[dict[str, np.ndarray] | None] = []
        readings: list[Reading] = []
        for t, sample, box in observations:
            reading = self.push_sample(t, sample, box)
            times.append(t)
            samples.append(sample)
            if reading is not None:
                readings.append(reading)
        t = np.asarray(times, float)
        if len(t) < 2:
            return ClipTrace(t, np.zeros(len(t)), np.zeros(len(t), bool), 0.0, len(t), 0.0, gate_db=self.gate_db,
                             judge=self.judge, readings=readings, window_s=self.window_s)
        grid, waves, face = self._estimate(t, samples, float(t[0]), float(t[-1]))
        n_face = sum(s is not None for s in samples)
        return ClipTrace(grid, waves[0], face, n_face / len(samples), len(samples), float(t[-1] - t[0]),
                         fallback_bvp=waves[1] if len(waves) > 1 else None, gate_db=self.gate_db, judge=self.judge,
                         names=tuple(e.name for e in (self.estimator, self.fallback) if e is not None),
                         readings=readings, window_s=self.window_s)

    def close(self) -> None:
        self.tracker.close()

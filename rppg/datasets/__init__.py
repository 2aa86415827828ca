"""Dataset loaders: a folder in a known layout -> clips with a reference pulse.

``FORMATS`` is the registry (name -> format); add a layout by adding an entry.
"""

from __future__ import annotations

from pathlib import Path

from rppg.datasets import pure, recording, ubfc
from rppg.datasets.base import Clip, DatasetFormat, require_folder
from rppg.errors import DatasetError

FORMATS: dict[str, DatasetFormat] = {fmt.name: fmt for fmt in (ubfc.FORMAT, pure.FORMAT, recording.FORMAT)}


def load_dataset(path: str | Path, fmt: str) -> list[Clip]:
    """All clips under ``path`` in format ``fmt``; DatasetError with a one-line reason otherwise."""
    if fmt not in FORMATS:
        raise DatasetError(f"unknown dataset format {fmt!r} (choose from {', '.join(FORMATS)})")
    root = require_folder(path)
    clips = FORMATS[fmt].load(root)
    if not clips:
        raise DatasetError(f"no {fmt} clip in {root} (expected {FORMATS[fmt].layout})")
    return clips


__all__ = ["Clip", "DatasetFormat", "FORMATS", "load_dataset"]

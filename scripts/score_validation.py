"""Every network variant on one validation bank: the data that choose between recipes and seeds.

Each run picks its best step on its own validation, but variants trained on other banks (the
earlier networks) were validated on other windows. This scores them all on the validation bank
of the current configs (synthetic, other draws than training; never a test set), renders that
bank first when it is missing, and stores the result in models/evaluation.json under
"validation". ``scripts/ship_runs.py`` chooses the shipped seeds with the same scores.

    python scripts/score_validation.py [--bank data_cache/bank_use_<hash>.npz]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from rppg.constants import MODEL_FPS  # noqa: E402
from rppg.models.preprocess import integrate  # noqa: E402
from rppg.models.registry import build  # noqa: E402
from rppg.models.weights_io import load_weights  # noqa: E402
from rppg.signal.hr import estimate_hr  # noqa: E402
from rppg_training.config import load_config  # noqa: E402
from rppg_training.data import ClipBank, bank_path, cached_synth_bank, val_windows, validation_bank_key  # noqa: E402

Window = tuple[np.ndarray, np.ndarray, float]


def config_val_windows(bank: Path | None = None) -> tuple[str, list[Window]]:
    """(bank file name, windows) of ``bank``, or of the student config's validation bank (rendered when
    missing, with the config's workers)."""
    cfg = load_config("student")
    if bank is not None:
        if not bank.is_file():
            raise SystemExit(f"no validation bank at {bank}")
        loaded, name = ClipBank.load(bank), bank.name
    else:
        key = validation_bank_key(cfg["data"])
        loaded = cached_synth_bank(key, ROOT / "data_cache", int(cfg["data"].get("workers", 1)))
        name = bank_path(ROOT / "data_cache", key).name
    return name, val_windows(loaded, int(cfg["val_window"]))


def score_network(arch: str, weights: Path, windows: list[Window]) -> dict[str, float]:
    """Window heart-rate MAE and share within 5 bpm of one network's weights."""
    net = build("teacher" if arch == "teacher" else "student")
    load_weights(net, weights)
    net.eval()
    with torch.inference_mode():
        waves = [integrate(net(torch.from_numpy(x)[None])[0].numpy()) for x, _, _ in windows]
    refs = np.array([hr for _, _, hr in windows])
    err = np.abs(np.array([estimate_hr(w, MODEL_FPS).peak_bpm for w in waves]) - refs)
    return {"val_mae": round(float(err.mean()), 3), "val_within5": round(float((err <= 5).mean()), 3)}


def main() -> None:
    from evaluate_networks import VARIANTS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bank", type=Path, default=None, help="a validation bank (.npz); the configs' by default")
    parser.add_argument("--json", type=Path, default=ROOT / "models" / "evaluation.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    bank_name, windows = config_val_windows(args.bank)
    scores = {}
    for name, (arch, weights) in VARIANTS.items():
        path = ROOT / weights if weights else ROOT / "models" / f"{arch}.safetensors"
        if arch in ("pos", "chrom") or not path.is_file():
            continue
        scores[name] = score_network(arch, path, windows)
        score = scores[name]
        print(f"{name}: validation MAE {score['val_mae']:.2f} bpm, within 5 bpm {score['val_within5']:.0%}")
    doc = json.loads(args.json.read_text()) if args.json.is_file() else {}
    doc["validation"] = {"bank": bank_name, "windows": len(windows), "scores": scores,
                         "command": "python scripts/score_validation.py"}
    args.json.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()

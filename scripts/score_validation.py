"""Every network variant on one validation bank: the data that choose between recipes and seeds.

Seeds are chosen on their own run's validation, but variants trained on other banks (the earlier
networks) were validated on other windows. This scores them all on the validation bank of the
current configs (synthetic, another seed than training; never a test set), and stores the
result in models/evaluation.json under "validation":

    python scripts/score_validation.py [--bank data_cache/bank_val_<hash>.npz]

Without --bank it takes the bank the student config builds (``rppg train`` renders it first).
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

from evaluate_networks import VARIANTS  # noqa: E402

from rppg.constants import MODEL_FPS  # noqa: E402
from rppg.models.preprocess import integrate  # noqa: E402
from rppg.models.registry import build  # noqa: E402
from rppg.models.weights_io import load_weights  # noqa: E402
from rppg.signal.hr import estimate_hr  # noqa: E402
from rppg_training.config import load_config  # noqa: E402
from rppg_training.data import ClipBank, bank_path, synth_bank_key, val_windows  # noqa: E402


def config_val_bank() -> Path:
    return bank_path(ROOT / "data_cache", synth_bank_key(load_config("student")["data"], "val"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bank", type=Path, default=None, help="a validation bank (.npz); the configs' by default")
    parser.add_argument("--json", type=Path, default=ROOT / "models" / "evaluation.json")
    args = parser.parse_args()
    bank_path = args.bank or config_val_bank()
    if not bank_path.is_file():
        raise SystemExit(f"no validation bank at {bank_path}: run `rppg train student` once to render it")
    torch.set_num_threads(1)
    windows = val_windows(ClipBank.load(bank_path), int(load_config("student")["val_window"]))
    scores = {}
    for name, (arch, weights) in VARIANTS.items():
        path = ROOT / weights if weights else ROOT / "models" / f"{arch}.safetensors"
        if arch in ("pos", "chrom") or not path.is_file():
            continue
        net = build("teacher" if arch == "teacher" else "student")
        load_weights(net, path)
        net.eval()
        with torch.inference_mode():
            waves = [integrate(net(torch.from_numpy(x)[None])[0].numpy()) for x, _, _ in windows]
        refs = np.array([hr for _, _, hr in windows])
        err = np.abs(np.array([estimate_hr(w, MODEL_FPS).peak_bpm for w in waves]) - refs)
        scores[name] = {"val_mae": round(float(err.mean()), 3), "val_within5": round(float((err <= 5).mean()), 3)}
        print(f"{name}: validation MAE {err.mean():.2f} bpm, within 5 bpm {(err <= 5).mean():.0%}")
    doc = json.loads(args.json.read_text()) if args.json.is_file() else {}
    doc["validation"] = {"bank": bank_path.name, "windows": len(windows), "scores": scores,
                         "command": "python scripts/score_validation.py"}
    args.json.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()

"""How much of their reference pulse the training banks carry: the check behind the clip screen.

For each bank (a ``data_cache/bank_*.npz`` written by ``rppg train``), every non-overlapping 10 s
window is scored by POS on the mean of the crop centre (is the heart rate within 5 bpm of the
reference?) and every clip by ``pulse_visibility``. Writes models/training_data.json under the
label given (scripts/render_tables.py renders it):

    python scripts/bank_report.py --bank train=data_cache/bank_train_<hash>.npz \\
        --bank val=data_cache/bank_val_<hash>.npz [--note "..."] [--bank-version N]

The bank of a config is the newest ``bank_<split>_*.npz`` after its run has started training.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rppg.constants import MODEL_FPS  # noqa: E402
from rppg.methods.classical import pos  # noqa: E402
from rppg.signal.hr import estimate_hr  # noqa: E402
from rppg_training.data import BANK_VERSION, ClipBank  # noqa: E402
from rppg_training.synth_adapter import pulse_visibility  # noqa: E402

OUT = ROOT / "models" / "training_data.json"
WINDOW = int(10 * MODEL_FPS)
RIGHT_BPM = 5.0


def pos_error(crops: np.ndarray, bvp: np.ndarray) -> float:
    """|POS bpm - reference bpm| on one window, POS on the BGR mean of the crop's central half."""
    h, w = crops.shape[1:3]
    bgr = crops[:, h // 4:h - h // 4, w // 4:w - w // 4].reshape(len(crops), -1, 3).mean(axis=1)
    wave = pos(bgr[:, ::-1].astype(np.float64), MODEL_FPS)
    return abs(estimate_hr(wave, MODEL_FPS).peak_bpm - estimate_hr(bvp, MODEL_FPS).peak_bpm)


def report(bank: ClipBank) -> dict:
    errors = [pos_error(c[s:s + WINDOW], b[s:s + WINDOW]) for c, b in zip(bank.crops, bank.bvp, strict=True)
              for s in range(0, len(c) - WINDOW + 1, WINDOW)]
    visibility = [pulse_visibility(c, b) for c, b in zip(bank.crops, bank.bvp, strict=True)]
    return {"clips": len(bank.crops), "windows": len(errors),
            "pos_right_share": round(float(np.mean(np.array(errors) <= RIGHT_BPM)), 3),
            "pos_window_mae": round(float(np.mean(errors)), 2),
            "visibility_median": round(float(np.median(visibility)), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bank", action="append", required=True, metavar="LABEL=PATH")
    parser.add_argument("--note", default="", help="what the banks are (stored with them)")
    parser.add_argument("--bank-version", type=int, default=BANK_VERSION,
                        help="BANK_VERSION of the code that built them (default: the current one)")
    args = parser.parse_args()
    doc = json.loads(OUT.read_text()) if OUT.is_file() else {}
    for item in args.bank:
        label, _, path = item.partition("=")
        entry = report(ClipBank.load(Path(path))) | {"bank": Path(path).name, "note": args.note,
                                                     "bank_version": args.bank_version}
        doc[label] = entry
        print(label, entry)
    OUT.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()

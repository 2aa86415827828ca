"""Copy finished training runs into models/: every seed's (and ablation run's) weights, card and log,
and as the shipped network of each kind the seed with the lowest MAE on the configs' validation
bank (``scripts/score_validation.py``; validation data, never a test set).

    python scripts/ship_runs.py            # after scripts/train_all.sh
    rppg export --method student --onnx models/student.onnx   # then refresh the ONNX file
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS, MODELS = ROOT / "runs", ROOT / "models"
sys.path.insert(0, str(ROOT / "scripts"))

from score_validation import config_val_windows, score_network  # noqa: E402


def copy_run(run: Path, target: str, name: str, dest: Path) -> dict | None:
    """Copy weights, card and log of a finished run as dest/NAME.*; returns the card."""
    weights, card = run / f"{target}.safetensors", run / f"{target}.json"
    if not weights.is_file() or not card.is_file():
        print(f"not finished: {run.relative_to(ROOT)}")
        return None
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(weights, dest / f"{name}.safetensors")
    data = json.loads(card.read_text())
    data["weights"] = f"{name}.safetensors"
    (dest / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    (MODELS / "logs").mkdir(exist_ok=True)
    shutil.copyfile(run / "metrics.jsonl", MODELS / "logs" / f"{name}.jsonl")
    return data


def main() -> None:
    copy_run(RUNS / "teacher", "teacher", "teacher", MODELS)
    for run in sorted(p for p in RUNS.glob("ablation_*") if p.is_dir()):  # scored beside the seeds, never shipped
        copy_run(run, "student" if (run / "student.json").is_file() else "student_nokd", run.name, MODELS / "seeds")
    bank, windows = config_val_windows()
    for target in ("student", "student_nokd"):
        seeds = {}
        for run in sorted(p for p in RUNS.glob(f"{target}_seed*") if p.is_dir()):
            if copy_run(run, target, run.name, MODELS / "seeds"):
                weights = MODELS / "seeds" / f"{run.name}.safetensors"
                seeds[run.name] = score_network(target, weights, windows)["val_mae"]
        if not seeds:
            continue
        best = min(seeds, key=seeds.get)
        card = json.loads((MODELS / "seeds" / f"{best}.json").read_text())
        card |= {"name": target, "weights": f"{target}.safetensors", "selected_seed_run": best,
                 "selection": f"lowest window MAE among seeds on the validation bank {bank} ({len(windows)} windows)",
                 "seed_val_mae": seeds}
        shutil.copyfile(MODELS / "seeds" / f"{best}.safetensors", MODELS / f"{target}.safetensors")
        (MODELS / f"{target}.json").write_text(json.dumps(card, indent=2) + "\n")
        shutil.copyfile(MODELS / "logs" / f"{best}.jsonl", MODELS / "logs" / f"{target}.jsonl")
        print(f"{target}: shipped {best} (validation MAE {seeds[best]:.2f}; all {seeds})")


if __name__ == "__main__":
    main()

"""Copy finished training runs into models/: every seed's (and ablation run's) weights, card and log,
and as the shipped network of each kind the seed with the best validation MAE (validation data,
never a test set).

    python scripts/ship_runs.py            # after scripts/train_all.sh
    rppg export --method student --onnx models/student.onnx   # then refresh the ONNX file
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS, MODELS = ROOT / "runs", ROOT / "models"


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
    for run in sorted(RUNS.glob("ablation_*")):  # scored beside the seeds, never shipped
        copy_run(run, "student_nokd", run.name, MODELS / "seeds")
    for target in ("student", "student_nokd"):
        seeds = {}
        for run in sorted(RUNS.glob(f"{target}_seed*")):
            card = copy_run(run, target, run.name, MODELS / "seeds")
            if card:
                seeds[run.name] = card["validation"]["val_mae"]
        if not seeds:
            continue
        best = min(seeds, key=seeds.get)
        card = json.loads((MODELS / "seeds" / f"{best}.json").read_text())
        card |= {"name": target, "weights": f"{target}.safetensors", "selected_seed_run": best,
                 "selection": "lowest validation MAE among seeds", "seed_val_mae": seeds}
        shutil.copyfile(MODELS / "seeds" / f"{best}.safetensors", MODELS / f"{target}.safetensors")
        (MODELS / f"{target}.json").write_text(json.dumps(card, indent=2) + "\n")
        shutil.copyfile(MODELS / "logs" / f"{best}.jsonl", MODELS / "logs" / f"{target}.jsonl")
        print(f"{target}: shipped {best} (validation MAE {seeds[best]:.2f}; all {seeds})")


if __name__ == "__main__":
    main()

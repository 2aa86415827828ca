"""Learning curves (train loss and validation MAE against steps) for every shipped network.

Reads models/logs/<name>.jsonl (the trainer's metrics.jsonl, copied next to the weights)
and writes models/curves/<name>.png:

    python scripts/plot_learning_curves.py
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def plot(log: Path, out: Path) -> None:
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    train = [r for r in rows if r.get("split") == "train"]
    val = [r for r in rows if r.get("split") == "val"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    a.plot([r["step"] for r in train], [r["loss"] for r in train], lw=0.8, label="train loss (all terms)")
    a.plot([r["step"] for r in val], [r["val_loss"] for r in val], "o-", ms=3,
           label="validation loss (reference terms)")
    a.set_xlabel("step")
    a.set_ylabel("loss")
    a.legend()
    b.plot([r["step"] for r in val], [r["val_mae"] for r in val], "o-", ms=3, color="C3")
    base = [r for r in rows if r.get("split") == "baseline"]
    if base:
        b.axhline(base[0]["noise_mae"], ls="--", color="grey", label="spectral peak of white noise")
        b.legend()
    b.set_xlabel("step")
    b.set_ylabel("validation HR MAE (bpm)")
    fig.suptitle(log.stem)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)


def main() -> None:
    for log in sorted((ROOT / "models" / "logs").glob("*.jsonl")):
        plot(log, ROOT / "models" / "curves" / f"{log.stem}.png")
        print(f"wrote models/curves/{log.stem}.png")


if __name__ == "__main__":
    main()

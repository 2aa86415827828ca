"""Markdown table of evaluation reports: scripts/results_table.py DIR (reads DIR/<set>_<method>.json)."""

import json
import sys
from pathlib import Path


def cell(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


def main(folder: str) -> None:
    reports = sorted(Path(folder).glob("*_*.json"))
    print("| set | method | clip MAE | clip coverage | window MAE | window RMSE | window r | window within 5 | "
          "window coverage | SNR dB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for path in reports:
        name, method = path.stem.split("_", 1)
        s = json.loads(path.read_text())["summary"]
        print(f"| {name} | {method} | {cell(s['mae'])} | {cell(s['coverage'])} | {cell(s['window_mae'])} | "
              f"{cell(s['window_rmse'])} | {cell(s['window_pearson'])} | {cell(s['window_within5'])} | "
              f"{cell(s['window_coverage'])} | {cell(s['snr'])} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out/eval")

#!/usr/bin/env bash
# Accuracy of every method on held-out synthetic sets (seeds and settings the training never saw)
# and on the real clip; writes one JSON per (set, method) to OUT and prints the table for the README.
#   scripts/heldout_eval.sh [OUT=out/eval] [METHODS="student student_nokd teacher pos chrom green"] [EXTRA]
# EXTRA: more options for every evaluation, e.g. "--no-gate" (score every window) or "--fallback pos".
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/eval}
methods=${2:-"student student_nokd teacher pos chrom green"}
extra=${3:-}
mkdir -p "$out"
[ -d "$out/typical" ] || rppg synth "$out/typical" --subjects 6 --seed 9101 --duration 30 --preset typical
[ -d "$out/random" ] || rppg synth "$out/random" --subjects 6 --seed 9303 --duration 30 --preset random
for m in $methods; do
  rppg evaluate "$out/typical" --format ubfc --method "$m" $extra --json "$out/typical_$m.json" --no-progress >/dev/null
  rppg evaluate "$out/random" --format ubfc --method "$m" $extra --json "$out/random_$m.json" --no-progress >/dev/null
  rppg evaluate tests/data/physrecorder_v01 --format recording --method "$m" $extra --json "$out/real_$m.json" \
    --no-progress >/dev/null
  echo "evaluated $m" >&2
done
python scripts/results_table.py "$out"

#!/usr/bin/env bash
# The training behind the shipped networks, in two lanes that can run side by side on a CPU:
#   lane A: the teacher, then the distilled student with seeds 1 and 2;
#   lane B: the student without distillation with seeds 1-3, the ablation run (seed 1 without the
#           extra bank of GRID-speaker clips, as it was run: no sway, the earlier validation bank),
#           then the distilled student with seed 3.
# Start lane B once lane A has built the data banks (data_cache/), or both will render them.
# Every run resumes from its checkpoint when rerun. Afterwards: python scripts/ship_runs.py
#   scripts/train_all.sh [a|b|all]
set -euo pipefail
cd "$(dirname "$0")/.."
lane=${1:-all}
run() {  # run NAME TARGET [options]: train into runs/NAME, resuming when a checkpoint exists
  local name=$1 target=$2; shift 2
  local resume=(); [ -f "runs/$name/checkpoint.pt" ] && resume=(--resume)
  [ -f "runs/$name/$target.safetensors" ] && { echo "runs/$name done" >&2; return; }
  rppg train "$target" --out "runs/$name" --quiet "${resume[@]}" "$@"
}
if [ "$lane" = a ] || [ "$lane" = all ]; then
  run teacher teacher
  for s in 1 2; do run "student_seed$s" student --seed "$s" --teacher runs/teacher/teacher.safetensors; done
fi
if [ "$lane" = b ] || [ "$lane" = all ]; then
  for s in 1 2 3; do run "student_nokd_seed$s" student_nokd --seed "$s"; done
  run ablation_no_grid student_nokd --seed 1 --set 'data.extra_train=[]' --set sway_px=0 --set 'data.validation={}'
  until [ -f runs/teacher/teacher.safetensors ]; do sleep 30; done  # lane A's teacher
  run student_seed3 student --seed 3 --teacher runs/teacher/teacher.safetensors
fi

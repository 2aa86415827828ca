#!/usr/bin/env bash
# Soak test: run the daemon on a looping video for N minutes, sample /health every
# INTERVAL seconds into a CSV (RSS, frames, drops, latency) and keep the last /reading.
# Not part of the test suite. Memory that keeps climbing across samples is a leak.
#
#   scripts/soak.sh [--minutes 30] [--interval 30] [--method student|pos|...] [--backend torch|onnx]
#                   [--source VIDEO] [--port 8777] [--out DIR] [--fast]
#
# --fast reads the video as fast as processing allows (--no-realtime) instead of at 30 fps.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=30 interval=30 port=8777 backend=torch fast=0
source_spec=tests/data/physrecorder_v01/video_ZIP_H264.avi
method=$([ -f models/student.safetensors ] && echo student || echo pos)
out=soak/$(date +%Y%m%d-%H%M%S)
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --method) method=$2; shift 2 ;;
    --backend) backend=$2; shift 2 ;;
    --source) source_spec=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --fast) fast=1; shift ;;
    *) echo "soak.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

[ -f .venv/bin/activate ] && . .venv/bin/activate
mkdir -p "$out"
url=http://127.0.0.1:$port
extra=()
[ "$fast" = 1 ] && extra+=(--no-realtime)

rppg daemon --source "$source_spec" --method "$method" --backend "$backend" --loop --port "$port" \
  --log "$out/readings.jsonl" "${extra[@]}" 2> "$out/daemon.stderr" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT

for _ in $(seq 1 120); do
  curl -sf "$url/health" > /dev/null && break
  kill -0 $pid 2>/dev/null || { echo "soak.sh: daemon exited:" >&2; cat "$out/daemon.stderr" >&2; exit 1; }
  sleep 0.5
done

csv=$out/health.csv
echo "elapsed_s,uptime_s,rss_mb,frames_captured,frames_processed,frames_dropped,fps_processed,latency_ms_median,latency_ms_p95,readings,source_state" > "$csv"
start=$(date +%s)
end=$(awk -v s="$start" -v m="$minutes" 'BEGIN { printf "%d", s + m * 60 }')
while :; do
  now=$(date +%s)
  curl -sf "$url/health" | python3 -c '
import json, sys
h = json.load(sys.stdin)
keys = ["uptime_s", "rss_mb", "frames_captured", "frames_processed", "frames_dropped", "fps_processed",
        "latency_ms_median", "latency_ms_p95", "readings", "source_state"]
print(",".join([sys.argv[1]] + ["" if h.get(k) is None else str(h[k]) for k in keys]))
' "$((now - start))" >> "$csv"
  curl -sf "$url/reading" > "$out/last_reading.json" || true
  [ "$now" -ge "$end" ] && break
  sleep $((interval < end - now ? interval : end - now))
done

kill -TERM $pid
wait $pid && status=0 || status=$?
trap - EXIT
echo "daemon exit status: $status" >> "$out/daemon.stderr"
python3 - "$csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
first, last = rows[0], rows[-1]
print(f"samples {len(rows)}  RSS {first['rss_mb']} -> {last['rss_mb']} MB  "
      f"frames {last['frames_processed']}  dropped {last['frames_dropped']}  "
      f"latency median {last['latency_ms_median']} ms  p95 {last['latency_ms_p95']} ms")
PY
echo "last reading: $(cat "$out/last_reading.json")"
echo "files in $out"
exit "$status"

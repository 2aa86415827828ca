#!/usr/bin/env bash
# Install the rppg daemon on an NVIDIA Jetson (JetPack 5/6) or any Linux board, without PyTorch.
#
#   deploy/jetson_install.sh [--prefix /opt/rppg] [--wheel dist/rppg-*.whl] [--service]
#
# - PYTHON=python3.10 (or newer) picks the interpreter: JetPack 6 has Python 3.10, JetPack 5's
#   system Python is 3.8, too old for rppg (install a newer one, e.g. from the deadsnakes PPA);
# - a venv at PREFIX/venv with the rppg wheel and its base dependencies only (no torch, Qt);
# - ONNX Runtime: a GPU build when one is at hand (ORT_WHEEL=path/to/onnxruntime_gpu-*.whl, or
#   ORT_INDEX=<pip index with JetPack's onnxruntime-gpu, e.g. NVIDIA's Jetson AI Lab index>),
#   else the CPU build from PyPI. The network then runs on TensorRT or CUDA when that build
#   offers them, on the CPU otherwise (rppg picks the providers present);
# - a smoke test: rppg monitor on the generated demo face, and the providers in use;
# - with --service: the systemd unit (deploy/rppg-daemon.service) and /etc/rppg/env.
set -euo pipefail

prefix=/opt/rppg
wheel=""
service=0
here="$(cd "$(dirname "$0")/.." && pwd)"
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --wheel) wheel="$2"; shift 2 ;;
    --service) service=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "jetson_install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

if [ -r /etc/nv_tegra_release ]; then
  echo "JetPack board: $(head -n1 /etc/nv_tegra_release)"
else
  echo "not a Jetson (no /etc/nv_tegra_release): installing the CPU build"
fi
python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "jetson_install.sh: rppg needs Python 3.10 or newer; $python is $("$python" -V 2>&1) (set PYTHON=...)" >&2
  exit 2
fi

# The wheel: given, or built from this checkout.
if [ -z "$wheel" ]; then
  build=$(mktemp -d)
  "$python" -m pip wheel -q --no-deps -w "$build" "$here"
  wheel=$(ls "$build"/rppg-*.whl)
fi

mkdir -p "$prefix"
"$python" -m venv "$prefix/venv"
pip="$prefix/venv/bin/python -m pip"
$pip install -q --upgrade pip

# rppg without its dependencies first, then every base dependency except onnxruntime, which
# comes next as the GPU build when available (two onnxruntime builds must not share one venv).
$pip install -q --no-deps "$wheel"
deps=$("$prefix/venv/bin/python" - <<'PY'
from importlib.metadata import requires
base = [r for r in requires("rppg") or [] if "extra ==" not in r]
print(" ".join(r.split(";")[0].replace(" ", "") for r in base if not r.lower().startswith("onnxruntime")))
PY
)
# shellcheck disable=SC2086
$pip install -q $deps
if [ -n "${ORT_WHEEL:-}" ]; then
  $pip install -q "$ORT_WHEEL"
elif [ -n "${ORT_INDEX:-}" ] && $pip install -q --index-url "$ORT_INDEX" onnxruntime-gpu; then
  :
else
  $pip install -q onnxruntime
fi
echo "installed: $("$prefix/venv/bin/rppg" --version)"
"$prefix/venv/bin/python" -c 'from rppg.models.onnx_backend import available_providers; print("ONNX Runtime providers:", ", ".join(available_providers()))'
"$prefix/venv/bin/rppg" monitor --source demo --duration 12 | tail -n 1

if [ "$service" = 1 ]; then
  install -d -m 0755 /etc/rppg
  [ -e /etc/rppg/env ] || install -m 0600 /dev/null /etc/rppg/env
  install -m 0644 "$here/deploy/rppg-daemon.service" /etc/systemd/system/rppg-daemon.service
  if [ "$prefix" != /opt/rppg ]; then
    sed -i "s#/opt/rppg#$prefix#g" /etc/systemd/system/rppg-daemon.service
  fi
  systemctl daemon-reload
  systemctl enable --now rppg-daemon
  echo "service started: journalctl -u rppg-daemon -f; put RPPG_TOKEN=... in /etc/rppg/env to serve the network"
fi

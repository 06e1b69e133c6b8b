#!/usr/bin/env bash
# Install the studio into ./.venv (Python 3.11).
# Usage: bash tools/install.sh [--dev] [--cpu | --cuda]
#   --dev   also installs the render farm (ray) and the test tools (pytest, pytest-qt, pytest-xdist,
#           hypothesis, scikit-image, pyinstaller, import-linter).
#   --cuda  (the default) torch==2.13.0 from PyPI. On Linux x86_64 that is PyTorch's CUDA build,
#           several GB with the nvidia-* libraries it pulls in; it also runs without a GPU.
#           On macOS and Windows PyPI's torch is the CPU build (Apple GPUs through MPS).
#   --cpu   torch==2.13.0+cpu, the CPU-only build (a 192 MB wheel, 754 MB installed) from
#           PyTorch's own index, https://download.pytorch.org/whl/cpu (needs that site reachable).
# Wheels in pip's configured find-links folders or mirrors are used as pip always does (an
# offline machine with a local torch wheel installs that one).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
CPU_INDEX=https://download.pytorch.org/whl/cpu
extras="xdyna"
torch_build="cuda"
for arg in "$@"; do
  case "$arg" in
    --dev) extras="xdyna,farm,dev" ;;
    --cpu) torch_build="cpu" ;;
    --cuda|--gpu) torch_build="cuda" ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option '$arg' (use --dev, --cpu or --cuda; --help explains)" >&2; exit 2 ;;
  esac
done
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ "$torch_build" = "cpu" ]; then
  .venv/bin/python -m pip install -q --extra-index-url "$CPU_INDEX" "torch==2.13.0+cpu"
else
  .venv/bin/python -m pip install -q "torch==2.13.0"
fi
.venv/bin/python -m pip install -q -e ".[${extras}]"
echo "installed: $(.venv/bin/python -c 'import studio, torch; print("xdyna-studio", studio.__version__, "with torch", torch.__version__, "(CUDA build)" if torch.version.cuda else "(CPU build)")')"

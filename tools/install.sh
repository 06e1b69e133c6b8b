#!/usr/bin/env bash
# Install the studio into ./.venv (Python 3.11). Usage: bash tools/install.sh [--dev]
#   --dev  also installs the test tools (pytest, pytest-qt, hypothesis, scikit-image, pyinstaller).
# torch is installed first from its CPU wheel (a GPU user can install a CUDA build of the same
# version instead); never plain "torch", which would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
extras="xdyna"
[ "${1:-}" = "--dev" ] && extras="xdyna,dev"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[${extras}]"
echo "installed: $(.venv/bin/python -c 'import studio; print("xdyna-studio", studio.__version__)')"

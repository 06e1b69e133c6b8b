#!/usr/bin/env bash
# Build the Linux one-folder bundle of X-Dyna Studio with PyInstaller (see packaging/README.md).
#
#   packaging/build_linux.sh [--flavour draft|full] [--check] [--no-archive] [--clean]
#
#   --flavour   draft (default, no torch: small) or full (with torch: X-Dyna renders);
#               the STUDIO_BUNDLE environment variable sets the default.
#   --check     after building, run tests/test_packaging.py against the new bundle.
#   --no-archive  do not pack dist/<flavour>/studio into a .tar.gz.
#   --clean     drop PyInstaller's cache (build/<flavour>) first.
#
# Output: dist/<flavour>/studio/{studio,studio-cli,_internal/,install-desktop-entry.sh} and
# dist/xdyna-studio-<version>-linux-<arch>-<flavour>.tar.gz. Uses $PYTHON, else .venv/bin/python,
# else python3; PyInstaller 6 must be installed in it (pip install 'xdyna-studio[dev]').
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

flavour="${STUDIO_BUNDLE:-draft}"
check=0
archive=1
clean=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --flavour) flavour="${2:?--flavour needs draft or full}"; shift 2 ;;
        --flavour=*) flavour="${1#*=}"; shift ;;
        --check) check=1; shift ;;
        --no-archive) archive=0; shift ;;
        --clean) clean=(--clean); shift ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build_linux.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
done
case "$flavour" in
    draft|full) ;;
    *) echo "build_linux.sh: flavour '$flavour' is not draft or full" >&2; exit 2 ;;
esac

if [[ -n "${PYTHON:-}" ]]; then py="$PYTHON"
elif [[ -x "$ROOT/.venv/bin/python" ]]; then py="$ROOT/.venv/bin/python"
else py="$(command -v python3)"; fi
if ! "$py" -m PyInstaller --version >/dev/null 2>&1; then
    echo "build_linux.sh: PyInstaller is not installed in $py; run: $py -m pip install 'pyinstaller>=6.5'" >&2
    exit 2
fi
if [[ "$flavour" == full ]] && ! "$py" -c "import torch, diffusers, transformers, safetensors" >/dev/null 2>&1; then
    echo "build_linux.sh: the full bundle needs torch, diffusers, transformers and safetensors in $py" >&2
    echo "  (pip install 'xdyna-studio[xdyna]'), or build the draft bundle." >&2
    exit 2
fi

version="$(PYTHONPATH="$ROOT" "$py" -c 'import studio; print(studio.__version__)')"
arch="$(uname -m)"
dist="$ROOT/dist/$flavour"
bundle="$dist/studio"
echo "== building the $flavour bundle of studio $version with $("$py" -m PyInstaller --version) ($py)"

start=$(date +%s)
STUDIO_BUNDLE="$flavour" "$py" -m PyInstaller --noconfirm "${clean[@]}" \
    --distpath "$dist" --workpath "$ROOT/build/$flavour" "$ROOT/studio.spec"
cp "$ROOT/packaging/linux/install-desktop-entry.sh" "$bundle/"
chmod +x "$bundle/install-desktop-entry.sh"
seconds=$(( $(date +%s) - start ))

size_mb=$(du -sm "$bundle" | cut -f1)
echo "== built $bundle in ${seconds}s: ${size_mb} MB"

if [[ $archive -eq 1 ]]; then
    tarball="$ROOT/dist/xdyna-studio-$version-linux-$arch-$flavour.tar.gz"
    tar -C "$dist" -czf "$tarball" studio
    echo "== archive: $tarball ($(du -sm "$tarball" | cut -f1) MB)"
fi

if [[ $check -eq 1 ]]; then
    echo "== checking the bundle (tests/test_packaging.py)"
    STUDIO_PACKAGED_APP="$bundle" QT_QPA_PLATFORM=offscreen \
        "$py" -m pytest "$ROOT/tests/test_packaging.py" -m slow -q -s -p no:cacheprovider
fi

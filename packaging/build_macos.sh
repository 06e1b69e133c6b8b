#!/usr/bin/env bash
# Build the macOS app of X-Dyna Studio with PyInstaller (see packaging/README.md).
#
#   packaging/build_macos.sh [--flavour draft|full] [--check] [--no-archive] [--clean]
#
#   --flavour   draft (default, no torch: small) or full (with torch: X-Dyna renders on the CPU
#               or Apple GPU); the STUDIO_BUNDLE environment variable sets the default.
#   --check     after building, run tests/test_packaging.py against the new bundle.
#   --no-archive  do not make the .dmg.
#   --clean     drop PyInstaller's cache (build/<flavour>) first.
#
# Output: "dist/<flavour>/X-Dyna Studio.app" (the window; the console command line is
# "X-Dyna Studio.app/Contents/MacOS/studio-cli") and
# dist/xdyna-studio-<version>-macos-<arch>-<flavour>.dmg.
# Environment: CODESIGN_IDENTITY signs the executables (spec), TARGET_ARCH picks x86_64/arm64/
# universal2 (needs a matching Python), MACOSX_DEPLOYMENT_TARGET sets the minimum macOS (11.0).
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
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build_macos.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
done
case "$flavour" in
    draft|full) ;;
    *) echo "build_macos.sh: flavour '$flavour' is not draft or full" >&2; exit 2 ;;
esac

if [[ -n "${PYTHON:-}" ]]; then py="$PYTHON"
elif [[ -x "$ROOT/.venv/bin/python" ]]; then py="$ROOT/.venv/bin/python"
else py="$(command -v python3)"; fi
if ! "$py" -m PyInstaller --version >/dev/null 2>&1; then
    echo "build_macos.sh: PyInstaller is not installed in $py; run: $py -m pip install 'pyinstaller>=6.5'" >&2
    exit 2
fi
if [[ "$flavour" == full ]] && ! "$py" -c "import torch, diffusers, transformers, safetensors" >/dev/null 2>&1; then
    echo "build_macos.sh: the full bundle needs torch, diffusers, transformers and safetensors in $py" >&2
    exit 2
fi

version="$(PYTHONPATH="$ROOT" "$py" -c 'import studio; print(studio.__version__)')"
arch="${TARGET_ARCH:-$(uname -m)}"
dist="$ROOT/dist/$flavour"
app="$dist/X-Dyna Studio.app"
echo "== building the $flavour app of studio $version ($py)"

start=$(date +%s)
STUDIO_BUNDLE="$flavour" "$py" -m PyInstaller --noconfirm "${clean[@]}" \
    --distpath "$dist" --workpath "$ROOT/build/$flavour" "$ROOT/studio.spec"
seconds=$(( $(date +%s) - start ))
echo "== built $app in ${seconds}s: $(du -sm "$app" | cut -f1) MB"

if [[ $archive -eq 1 ]]; then
    dmg="$ROOT/dist/xdyna-studio-$version-macos-$arch-$flavour.dmg"
    rm -f "$dmg"
    hdiutil create -volname "X-Dyna Studio $version" -srcfolder "$app" -ov -format UDZO "$dmg"
    echo "== disk image: $dmg"
fi

if [[ $check -eq 1 ]]; then
    echo "== checking the bundle (tests/test_packaging.py)"
    STUDIO_PACKAGED_APP="$app" QT_QPA_PLATFORM=offscreen \
        "$py" -m pytest "$ROOT/tests/test_packaging.py" -m slow -q -s -p no:cacheprovider
fi

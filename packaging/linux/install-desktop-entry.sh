#!/usr/bin/env sh
# Add X-Dyna Studio to the desktop's application menu (for the current user).
#
#   ./install-desktop-entry.sh            install or update the menu entry
#   ./install-desktop-entry.sh --remove   remove it
#
# Run it from the unpacked bundle folder (it sits next to the `studio` executable). If the
# folder moves, run it again. Nothing outside ~/.local/share is touched.
set -eu

here="$(cd "$(dirname "$0")" && pwd)"
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
entry="$apps/xdyna-studio.desktop"

if [ "${1:-}" = "--remove" ]; then
    rm -f "$entry"
    echo "removed $entry"
    exit 0
fi
if [ ! -x "$here/studio" ]; then
    echo "install-desktop-entry.sh: $here/studio not found; run this script from the bundle folder" >&2
    exit 2
fi
mkdir -p "$apps"
cat > "$entry" <<DESKTOP
[Desktop Entry]
Type=Application
Name=X-Dyna Studio
GenericName=Photo animation studio
Comment=Animate a photo of a person from a driving video
Exec="$here/studio" %f
Icon=$here/_internal/resources/icons/studio-256.png
Terminal=false
Categories=Graphics;AudioVideo;Video;
StartupWMClass=studio
DESKTOP
chmod 644 "$entry"
echo "installed $entry"

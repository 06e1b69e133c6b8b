"""Process set-up shared by the bundle's two entry points (runs after PyInstaller's run-time hooks).

PyInstaller's matplotlib run-time hook gives every start a fresh, empty temporary matplotlib
config folder, so matplotlib (imported by mediapipe) would rescan all system fonts at each
start. The studio points it at a folder in the user cache instead, where the font list is kept
from one start to the next.
"""

from __future__ import annotations

import os
import sys


def matplotlib_cache_dir() -> str:
    """The persistent matplotlib config/cache folder of the bundled app."""
    import platformdirs

    return os.path.join(platformdirs.user_cache_dir("xdyna-studio", appauthor=False), "matplotlib")


def prepare_frozen_process() -> None:
    """Set up the environment of a bundled (frozen) process; does nothing when run from source."""
    if not getattr(sys, "frozen", False):
        return
    folder = matplotlib_cache_dir()
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return  # keep PyInstaller's temporary folder: slower start, same behaviour
    os.environ["MPLCONFIGDIR"] = folder

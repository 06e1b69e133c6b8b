"""PyInstaller run-time hook of the studio bundle: runs before any module of the app is imported.

* Windowed executables (Windows ``studio.exe``, the macOS app) start with ``sys.stdout`` and
  ``sys.stderr`` set to ``None``; writing a log line or a progress bar would then fail. They are
  pointed at ``studio.log`` in the user log folder instead, so an artist can send it with a bug
  report.
* Qt plugin variables inherited from the user's environment (set for some other Qt install)
  would make the bundled Qt load foreign plugins; they are removed. PyInstaller's own PySide6
  hook then points ``QT_PLUGIN_PATH`` at the bundled plugins.
* matplotlib is bundled only because mediapipe's drawing helpers import ``pyplot``; it is told
  to use the non-interactive Agg backend so it never looks for a GUI toolkit.
* ``STUDIO_BUNDLE_FLAVOUR`` is set from the bundle's ``studio_bundle.json`` (``draft`` or
  ``full``) so that the app can say which build it is.
"""


def _pyi_rthook() -> None:
    import json
    import os
    import sys

    if sys.stdout is None or sys.stderr is None:
        import platformdirs

        log_dir = platformdirs.user_log_dir("xdyna-studio", appauthor=False)
        try:
            os.makedirs(log_dir, exist_ok=True)
            log = open(os.path.join(log_dir, "studio.log"), "a", encoding="utf-8", buffering=1)
        except OSError:
            log = open(os.devnull, "w", encoding="utf-8")
        if sys.stdout is None:
            sys.stdout = log
        if sys.stderr is None:
            sys.stderr = log

    bundle_root = getattr(sys, "_MEIPASS", os.path.dirname(os.path.abspath(sys.executable)))
    for name in ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_PLUGIN_PATH", "QML2_IMPORT_PATH"):
        value = os.environ.get(name)
        if value and not os.path.abspath(value).startswith(os.path.abspath(bundle_root)):
            del os.environ[name]

    os.environ.setdefault("MPLBACKEND", "Agg")

    try:
        with open(os.path.join(bundle_root, "studio_bundle.json"), encoding="utf-8") as fh:
            flavour = str(json.load(fh).get("flavour", ""))
    except (OSError, ValueError):
        flavour = ""
    if flavour:
        os.environ["STUDIO_BUNDLE_FLAVOUR"] = flavour


_pyi_rthook()
del _pyi_rthook

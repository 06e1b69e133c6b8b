"""Layer rule: studio.core, studio.media and studio.extract import neither Qt nor torch."""

from __future__ import annotations

import subprocess
import sys
import textwrap

LAYERS = ("studio.core", "studio.media", "studio.extract")


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)


def test_lower_layers_do_not_load_qt_or_torch() -> None:
    proc = _run(f"""
        import importlib, sys
        import studio.core, studio.media
        try:
            importlib.import_module("studio.extract")
        except ImportError as err:
            print("studio.extract not importable:", err)
        import studio.media.exporters, studio.media.image, studio.media.video, studio.media.contact_sheet
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "torch", "diffusers", "superqt"))
        assert not loaded, loaded
        print("ok", [m for m in {LAYERS!r} if m in sys.modules])
    """)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok" in proc.stdout and "studio.media" in proc.stdout


def test_lower_layers_import_with_qt_and_torch_unavailable() -> None:
    # a finder that refuses Qt and torch, as on a machine without them
    proc = _run("""
        import sys
        class Refuse:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("PySide6", "shiboken6", "torch", "diffusers"):
                    raise ImportError(f"{name} is unavailable in this test")
                return None
        sys.meta_path.insert(0, Refuse())
        import studio.core, studio.media, studio.extract
        import studio.media.exporters, studio.media.video, studio.media.image
        print("ok")
    """)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith("ok")

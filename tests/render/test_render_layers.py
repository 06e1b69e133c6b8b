"""The render engine and the X-Dyna backend's front end load without Qt and torch; without
torch the backend says so instead of failing on import."""

import subprocess
import sys
import textwrap


def test_render_modules_load_without_qt_and_torch():
    code = textwrap.dedent("""
        import sys
        class Refuse:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("PySide6", "shiboken6", "torch", "diffusers"):
                    raise ImportError(f"{name} is unavailable in this test")
                return None
        sys.meta_path.insert(0, Refuse())
        import studio.core.render, studio.core.render_store, studio.cli.render
        import studio.backends.xdyna.conditioning, studio.backends.xdyna.lockstep
        from studio.core.registry import create_backend
        be = create_backend("xdyna")
        ok, why = be.available()
        assert not ok and "torch" in why, why
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "torch", "diffusers"))
        assert not loaded, loaded
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith("ok")

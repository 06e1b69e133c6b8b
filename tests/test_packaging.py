"""The PyInstaller bundle (studio.spec + packaging/).

Quick checks of the build configuration run with the normal suite. The tests marked ``slow``
build the draft bundle with PyInstaller (3.5-5 minutes on two busy cores, then about a minute of checks), or take an
existing one from ``$STUDIO_PACKAGED_APP`` (what ``packaging/build_linux.sh --check`` passes),
then run it the way an artist would: from a temporary folder, with a clean environment (no
PYTHONPATH, no virtual environment on PATH, a fresh HOME), so nothing of the source tree or the
venv can be used. Run them with ``python -m pytest tests/test_packaging.py -m slow -s``.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
IS_WINDOWS = sys.platform.startswith("win")
IS_MACOS = sys.platform == "darwin"
EXE_SUFFIX = ".exe" if IS_WINDOWS else ""


def load_module(path: Path) -> ModuleType:
    """Import a file of packaging/ by path (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"_pkg_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cfg = load_module(PACKAGING / "bundle_config.py")


# -- the build configuration (fast) ---------------------------------------------------------------
def test_flavour_from_env() -> None:
    assert cfg.flavour_from_env({}) == "draft"
    assert cfg.flavour_from_env({"STUDIO_BUNDLE": " Full "}) == "full"
    with pytest.raises(ValueError, match="'tiny'.*draft, full"):
        cfg.flavour_from_env({"STUDIO_BUNDLE": "tiny"})
    with pytest.raises(ValueError, match="flavour"):
        cfg.excludes_for("tiny")


def _import_names(requirements: list[str]) -> set[str]:
    """Top-level import names of pyproject requirement strings."""
    renames = {"pyside6-essentials": "PySide6", "pillow": "PIL", "imageio-ffmpeg": "imageio_ffmpeg"}
    names = set()
    for req in requirements:
        dist = req.split(";")[0].split("[")[0]
        for sep in "<>=!~ ":
            dist = dist.split(sep)[0]
        names.add(renames.get(dist.lower(), dist.replace("-", "_")))
    return names


def test_draft_excludes_the_xdyna_extra_and_keeps_the_app() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    xdyna = _import_names(project["optional-dependencies"]["xdyna"])
    needed = _import_names(project["dependencies"]) | {"cv2", "matplotlib", "studio"}
    draft, full = set(cfg.excludes_for("draft")), set(cfg.excludes_for("full"))
    assert xdyna <= draft, f"the draft bundle must leave out the whole xdyna extra: {sorted(xdyna - draft)}"
    assert not xdyna & full, f"the full bundle must keep the xdyna extra: {sorted(xdyna & full)}"
    assert not needed & (draft | full), f"excluded but needed by the app: {sorted(needed & (draft | full))}"
    assert "torch" not in cfg.metadata_for("draft") and "torch" in cfg.metadata_for("full")


def test_dropped_files() -> None:
    assert cfg.dropped("torch/bin/test_api") and cfg.dropped("torch/bin/upgrader_models/x.ptl")
    assert cfg.dropped("torch/test/Dict_test") and cfg.dropped("torch\\bin\\protoc.exe")
    assert not cfg.dropped("torch/bin/torch_shm_manager")
    assert not cfg.dropped("torch/lib/libtorch_cpu.so") and not cfg.dropped("torch/testing/_comparison.py")
    assert not cfg.dropped("mediapipe/modules/pose_landmark/pose_landmark_full.tflite")


def test_windows_version_resource() -> None:
    vi = load_module(PACKAGING / "windows" / "version_info.py")
    assert vi.version_tuple("0.1.0") == (0, 1, 0, 0)
    assert vi.version_tuple("2.10.3rc1.dev4") == (2, 10, 3, 0)
    with pytest.raises(ValueError, match="'dev'"):
        vi.version_tuple("dev")
    text = vi.version_text("1.2.3", "X-Dyna Studio")
    call = ast.parse(text, mode="eval").body
    assert isinstance(call, ast.Call) and call.func.id == "VSVersionInfo"  # type: ignore[attr-defined]
    assert "filevers=(1, 2, 3, 0)" in text and "StringStruct('ProductVersion', '1.2.3')" in text


def test_spec_inputs_exist() -> None:
    spec = (ROOT / "studio.spec").read_text(encoding="utf-8")
    ast.parse(spec)
    for rel in ("entry/studio_gui.py", "entry/studio_cli.py", "entry/bundle_runtime.py",
                "rthooks/pyi_rth_studio.py", "hooks/hook-mediapipe.py", "icons/studio.ico", "icons/studio.icns",
                "linux/install-desktop-entry.sh"):
        assert (PACKAGING / rel).is_file(), rel
        if rel.endswith(".py"):
            ast.parse((PACKAGING / rel).read_text(encoding="utf-8"))
    assert (ROOT / "resources" / "icons" / "studio-256.png").is_file()
    assert (ROOT / "resources" / "sample" / "sample.studio.json").is_file()


def test_bundle_runtime_only_acts_when_frozen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    runtime = load_module(PACKAGING / "entry" / "bundle_runtime.py")
    monkeypatch.delenv("MPLCONFIGDIR", raising=False)
    runtime.prepare_frozen_process()
    assert "MPLCONFIGDIR" not in os.environ
    monkeypatch.setattr(runtime, "matplotlib_cache_dir", lambda: str(tmp_path / "cache" / "matplotlib"))
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    runtime.prepare_frozen_process()
    assert os.environ["MPLCONFIGDIR"] == str(tmp_path / "cache" / "matplotlib")
    assert (tmp_path / "cache" / "matplotlib").is_dir()


def test_runtime_hook(tmp_path: Path) -> None:
    """The run-time hook, run in a fresh interpreter that looks like a windowed frozen app."""
    meipass = tmp_path / "bundle"
    meipass.mkdir()
    (meipass / cfg.BUNDLE_INFO_FILE).write_text(json.dumps(cfg.bundle_info("draft", "9.9")), encoding="utf-8")
    probe = f"""
import os, sys, runpy
sys._MEIPASS = {str(meipass)!r}
sys.stdout = None
sys.stderr = None
runpy.run_path({str(PACKAGING / "rthooks" / "pyi_rth_studio.py")!r})
print("hello from a windowed app")
sys.stdout.flush()
with open({str(tmp_path / "result.json")!r}, "w") as fh:
    fh.write(__import__("json").dumps({{"log": sys.stderr.name, "same": sys.stdout is sys.stderr,
        "flavour": os.environ.get("STUDIO_BUNDLE_FLAVOUR"), "mpl": os.environ.get("MPLBACKEND"),
        "qpa": os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH"), "plugins": os.environ.get("QT_PLUGIN_PATH")}}))
"""
    inside = str(meipass / "PySide6" / "Qt" / "plugins")
    env = {**os.environ, "HOME": str(tmp_path / "home"), "XDG_STATE_HOME": str(tmp_path / "state"),
           "LOCALAPPDATA": str(tmp_path / "appdata"), "QT_QPA_PLATFORM_PLUGIN_PATH": "/opt/otherqt/plugins/platforms",
           "QT_PLUGIN_PATH": inside}
    env.pop("MPLBACKEND", None)
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    log = Path(result["log"])
    assert log.name == "studio.log" and log.is_file() and result["same"]
    assert tmp_path in log.parents, log
    assert "hello from a windowed app" in log.read_text()
    assert result["flavour"] == "draft" and result["mpl"] == "Agg"
    assert result["qpa"] is None, "a Qt plugin path outside the bundle must be dropped"
    assert result["plugins"] == inside, "a Qt plugin path inside the bundle is kept"


# -- the built bundle (slow) ----------------------------------------------------------------------
@dataclass(frozen=True)
class Bundle:
    """A built bundle: where its executables and collected files are."""

    top: Path  # what is shipped: the bundle folder, or the .app
    exe_dir: Path  # folder of the executables
    internal: Path  # folder of the collected libraries and data (sys._MEIPASS)
    flavour: str

    @property
    def gui(self) -> Path:
        return self.exe_dir / f"{cfg.GUI_NAME}{EXE_SUFFIX}"

    @property
    def cli(self) -> Path:
        return self.exe_dir / f"{cfg.CLI_NAME}{EXE_SUFFIX}"


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20


def _open_bundle(top: Path) -> Bundle:
    if top.suffix == ".app":
        exe_dir, internal = top / "Contents" / "MacOS", top / "Contents" / "Frameworks"
    else:
        exe_dir, internal = top, top / "_internal"
    info = json.loads((internal / cfg.BUNDLE_INFO_FILE).read_text(encoding="utf-8"))
    return Bundle(top, exe_dir, internal, info["flavour"])


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    """``$STUDIO_PACKAGED_APP``, else a draft bundle built now into a temporary folder."""
    given = os.environ.get("STUDIO_PACKAGED_APP")
    if given:
        top = Path(given).resolve()
        if not top.exists():
            pytest.fail(f"STUDIO_PACKAGED_APP={given} does not exist; build it with packaging/build_linux.sh")
    else:
        pytest.importorskip("PyInstaller", reason="PyInstaller is not installed (pip install 'xdyna-studio[dev]')")
        work = tmp_path_factory.mktemp("pyinstaller")
        log = work / "build.log"
        start = time.monotonic()
        with log.open("w") as fh:
            done = subprocess.run(
                [sys.executable, "-m", "PyInstaller", "--noconfirm", "--distpath", str(work / "dist"),
                 "--workpath", str(work / "build"), str(ROOT / "studio.spec")],
                cwd=ROOT, env={**os.environ, cfg.FLAVOUR_ENV: "draft"}, stdout=fh, stderr=subprocess.STDOUT,
                timeout=3 * 3600,
            )
        if done.returncode != 0:
            pytest.fail(f"PyInstaller failed ({done.returncode}):\n{log.read_text()[-6000:]}")
        print(f"\n[packaging] built the draft bundle in {time.monotonic() - start:.0f} s")
        name = f"{cfg.DISPLAY_NAME}.app" if IS_MACOS else cfg.BUNDLE_NAME
        top = work / "dist" / name
    found = _open_bundle(top)
    print(f"\n[packaging] {found.flavour} bundle {top}: {_size_mb(top):.0f} MB")
    return found


def clean_env(tmp: Path) -> dict[str, str]:
    """An environment like an artist's: no PYTHONPATH, no venv or source tree on PATH, a fresh HOME."""
    venv_bin = (Path(sys.prefix) / ("Scripts" if IS_WINDOWS else "bin")).resolve()

    def foreign(entry: str) -> bool:
        p = Path(entry).resolve()
        return p == venv_bin or p == ROOT or ROOT in p.parents

    path = [e for e in os.environ.get("PATH", "").split(os.pathsep) if e and not foreign(e)]
    home = tmp / "home"
    for sub in ("", "tmp", "config", "cache", "data", "state"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.pathsep.join(path), "HOME": str(home), "LANG": "C.UTF-8", "TMPDIR": str(home / "tmp"),
        "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "data"), "XDG_STATE_HOME": str(home / "state"),
        "QT_QPA_PLATFORM": "offscreen", "GLOG_minloglevel": "2",
    }
    if IS_WINDOWS:
        for key in ("SYSTEMROOT", "WINDIR", "COMSPEC"):
            if key in os.environ:
                env[key] = os.environ[key]
        env.update(USERPROFILE=str(home), APPDATA=str(home / "config"), LOCALAPPDATA=str(home / "data"),
                   TEMP=str(home / "tmp"), TMP=str(home / "tmp"))
    python = shutil.which("python", path=env["PATH"]) or shutil.which("python3", path=env["PATH"])
    assert python is None or venv_bin not in Path(python).resolve().parents, python
    return env


def run_cli(bundle: Bundle, tmp: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run ``studio-cli ARGS`` from ``tmp`` with :func:`clean_env`."""
    return subprocess.run([str(bundle.cli), *args], cwd=tmp, env=clean_env(tmp), capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.slow
def test_bundle_contents(bundle: Bundle) -> None:
    assert bundle.gui.is_file() and os.access(bundle.gui, os.X_OK)
    assert bundle.cli.is_file() and os.access(bundle.cli, os.X_OK)
    res = bundle.internal / "resources"
    assert (res / "sample" / "sample.studio.json").is_file() and (res / "sample" / "reference.png").is_file()
    assert (res / "icons" / "studio-256.png").is_file()
    mp_modules = bundle.internal / "mediapipe" / "modules"
    for rel in ("pose_landmark/pose_landmark_cpu.binarypb", "pose_landmark/pose_landmark_full.tflite",
                "hand_landmark/hand_landmark_tracking_cpu.binarypb", "face_landmark/face_landmark_front_cpu.binarypb",
                "selfie_segmentation/selfie_segmentation.tflite"):
        assert (mp_modules / rel).is_file(), rel
    ffmpeg = list((bundle.internal / "imageio_ffmpeg" / "binaries").glob("ffmpeg*"))
    assert ffmpeg and os.access(ffmpeg[0], os.X_OK), ffmpeg
    files = [p for p in bundle.top.rglob("*") if p.is_file()]
    weights = [p for p in files if any(fnmatch.fnmatch(p.name, pat) for pat in cfg.WEIGHT_PATTERNS)]
    assert not weights, f"model weights must not be bundled: {weights[:5]}"
    torch_libs = [p for p in files if p.name.startswith(("libtorch", "torch_cpu", "libc10"))]
    if bundle.flavour == "draft":
        assert not (bundle.internal / "torch").exists() and not torch_libs, torch_libs[:5]
    else:
        assert torch_libs


@pytest.mark.slow
def test_doctor_runs_from_the_bundle(bundle: Bundle, tmp_path: Path) -> None:
    done = run_cli(bundle, tmp_path, "doctor")
    out = done.stdout
    assert done.returncode == 0, done.stderr[-3000:]
    lines = {}  # check name -> its report line ("OK      name    detail")
    for line in out.splitlines():
        if line[:8].strip() in ("OK", "MISSING", "ERROR"):
            lines[re.split(r"\s{2,}", line[8:], maxsplit=1)[0]] = line
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    # the interpreter is the bundle's own executable, not a Python installation
    assert str(bundle.exe_dir) in lines["python"], lines["python"]
    for model in ("Pose", "Hands", "FaceMesh", "SelfieSegmentation"):
        assert f"OK      mediapipe {model}" in out, out
    assert lines["ffmpeg"].startswith("OK") and str(bundle.internal) in lines["ffmpeg"], lines["ffmpeg"]
    assert lines["torch"].startswith("MISSING" if bundle.flavour == "draft" else "OK"), lines["torch"]
    # everything else the bundle must answer itself; only what lies outside it may be missing
    # (per renderer since #24: "xdyna: weights"; the draft build leaves the diffusion renderers'
    # torch stack out on purpose, so their "dependencies" may be missing there, and only there)
    outside = {"torch", "cuda", "weights folder", "weights"}

    def lies_outside(name: str) -> bool:
        backend, _, check = name.rpartition(": ")
        return check in outside or (bool(backend) and check == "dependencies" and bundle.flavour == "draft")

    unhappy = [line for name, line in lines.items() if not line.startswith("OK") and not lies_outside(name)]
    assert not unhappy, unhappy
    assert any(name.startswith("xdyna: ") for name in lines), out  # the per-renderer sections are there


def _decode(path: Path) -> tuple[dict, np.ndarray]:
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    w, h = meta["size"]
    frames = np.stack([np.frombuffer(buf, np.uint8).reshape(h, w, 3) for buf in reader])
    return meta, frames


@pytest.mark.slow
def test_render_sample_from_the_bundle(bundle: Bundle, tmp_path: Path) -> None:
    from studio.backends.draft.sample import sample_job

    job = sample_job()
    done = run_cli(bundle, tmp_path, "render", "--sample", "-o", "out.mp4", "--no-progress")
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    out = tmp_path / "out.mp4"
    assert out.is_file() and out.stat().st_size > 10_000
    meta, frames = _decode(out)
    assert meta["codec"] == "h264"
    assert frames.shape == (job.n_frames, job.settings.height, job.settings.width, 3)
    steps = np.abs(np.diff(frames.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
    assert (steps > 0.05).mean() > 0.9, f"the sample's frames barely change: {steps.round(3)}"
    assert np.abs(frames[0].astype(np.int16) - frames[len(frames) // 2]).mean() > 1.0
    assert frames.std() > 10  # a picture, not a flat colour


@pytest.mark.slow
def test_xdyna_backend_reports_itself_unavailable(bundle: Bundle, tmp_path: Path) -> None:
    done = run_cli(bundle, tmp_path, "render", "--sample", "--backend", "xdyna", "-o", "x.mp4", "--no-progress")
    assert done.returncode == 2, (done.stdout + done.stderr)[-3000:]
    assert "Traceback" not in done.stderr and done.stderr.startswith("error:"), done.stderr[-3000:]
    expected = "not included in this build" if bundle.flavour == "draft" else "weights"
    assert expected in done.stderr.lower(), done.stderr
    assert not (tmp_path / "x.mp4").exists()


@pytest.mark.slow
def test_gui_starts_and_stays_up(bundle: Bundle, tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    with (tmp_path / "gui.log").open("w+") as log:
        proc = subprocess.Popen([str(bundle.gui)], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            try:
                code = proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None
            log.flush()
            text = (tmp_path / "gui.log").read_text(errors="replace")
            assert code is None, f"the window exited with {code} within 5 s:\n{text[-3000:]}"
            assert "Traceback" not in text, text[-3000:]
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

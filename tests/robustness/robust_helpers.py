"""Generators of bad inputs and checks of the errors they must produce (robustness corpus).

Everything is generated at test time into a temporary folder: tiny images written with Pillow /
OpenCV, tiny videos made with the bundled ffmpeg, project files, damaged copies of the tiny X-Dyna
release. Nothing large is committed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np

from studio.core.errors import StudioError
from studio.media.ffmpeg import ffmpeg_exe

REPO = Path(__file__).resolve().parents[2]
TINY_CASE = REPO / "tests" / "fixtures" / "xdyna_tiny" / "a_pose_16f"

#: An instruction a person can follow: an imperative verb opening a sentence or clause (after
#: ". ", "; ", ": ", "or "), a capitalised one anywhere, or a phrase such as "try again".
_VERBS = (
    r"Choose|Use|Re-encode|Re-export|Re-download|Load|Copy|Save|Free|Download|Update|Resize|Trim|Check|"
    r"Install|Render|Turn|Give|Set|Point|Try|Fix|Re-run|Export|Select|Open|Convert|Remove|Rename|"
    r"Reinstall|Restore|Look|Pick|Make|Move|Run|Extract|Create|Delete|Close|Add|Edit|Put|Relink|Crop|Record|Start"
)
_ACTION = re.compile(
    rf"\b({_VERBS})\b"
    rf"|(?:^|[.;:!?]\s+|\bor\s+)(?i:{_VERBS})\b"
    r"|\b(try again|render again|choose another|save elsewhere|look for)\b"
)


def has_instruction(text: str) -> bool:
    """Whether ``text`` tells the reader what to do."""
    return bool(_ACTION.search(text))


def assert_clear(err: BaseException, *names: str | Path) -> StudioError:
    """``err`` is a :class:`StudioError` with a title, a description naming each of ``names``
    (file names are matched by their last part) and an instruction."""
    assert isinstance(err, StudioError), f"{type(err).__name__}: {err}"
    assert err.title.strip(), err
    text = err.description
    for name in names:  # the dialog shows the title above the description: either may name it
        part = Path(name).name if isinstance(name, Path) or os.sep in str(name) else str(name)
        assert part in f"{err.title}\n{text}", f"{part!r} not named in {err.title!r} / {text!r}"
    assert has_instruction(text), f"no instruction in {text!r}"
    return err


# -- the command line --------------------------------------------------------------------------------
def run_cli(*args: str | Path, timeout: float = 240, env: dict | None = None,
            preexec_fn=None) -> subprocess.CompletedProcess:
    """``python -m studio ARGS`` in a fresh interpreter, output captured."""
    e = dict(os.environ, PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen")
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "studio", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=e, cwd=REPO, preexec_fn=preexec_fn)


def assert_cli_clear(proc: subprocess.CompletedProcess, *names: str | Path) -> None:
    """The command failed with exit code 2 and a one-paragraph ``error:``, never a traceback."""
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, f"exit {proc.returncode}\n{out[-3000:]}"
    assert "error:" in proc.stderr, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    msg = proc.stderr[proc.stderr.index("error:"):]
    for name in names:
        assert Path(name).name in msg, f"{Path(name).name!r} not named in {msg!r}"
    assert has_instruction(msg), f"no instruction in {msg!r}"


# -- images ------------------------------------------------------------------------------------------
def gradient(h: int = 96, w: int = 80) -> np.ndarray:
    """A smooth RGB test picture."""
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([(xx * 3) % 256, (yy * 2) % 256, ((xx + yy) * 5) % 256], -1).astype(np.uint8)


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A valid PNG signature and IHDR that declare ``width x height`` with one tiny IDAT (a
    20000x20000 "image" in a few bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


# -- videos ------------------------------------------------------------------------------------------
def ffmpeg(*args: str | Path) -> None:
    """Run the bundled ffmpeg quietly; fail the test if it fails."""
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", *map(str, args)], check=True,
                   capture_output=True, timeout=120)


def encode(frames: list[np.ndarray], path: Path, fps: float = 25, extra: tuple[str, ...] = ()) -> Path:
    """Encode RGB frames with libx264 (or the codec in ``extra``)."""
    h, w = frames[0].shape[:2]
    args = extra or ("-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "8")
    cmd = [ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{w}x{h}", "-r", str(fps), "-i", "-", *args, str(path)]
    subprocess.run(cmd, input=b"".join(np.ascontiguousarray(f).tobytes() for f in frames), check=True,
                   capture_output=True, timeout=120)
    return path


def pattern_video(path: Path, n: int = 12, size: str = "64x48", fps: int = 25,
                       extra: tuple[str, ...] = ()) -> Path:
    """A small synthetic clip from ffmpeg's test source."""
    ffmpeg("-f", "lavfi", "-i", f"testsrc=size={size}:rate={fps}", "-frames:v", str(n),
           "-c:v", "libx264", "-pix_fmt", "yuv420p", *extra, path)
    return path


def astronaut() -> np.ndarray:
    """scikit-image's astronaut photo (512x512 RGB): a real person, test-only data."""
    from skimage import data

    return data.astronaut()


def person_frames(kind: str, n: int = 10, size: int = 256) -> list[np.ndarray]:
    """Frames of a real photographed person: ``one`` (standing still), ``two`` (two people side by
    side), ``leaves`` (slides out of the frame half way), ``none`` (a cup of coffee)."""
    import cv2
    from skimage import data

    if kind == "none":
        return [cv2.resize(data.coffee(), (size, size))] * n
    person = cv2.resize(astronaut(), (size, size), interpolation=cv2.INTER_AREA)
    if kind == "one":
        return [person] * n
    if kind == "two":
        half = cv2.resize(person, (size // 2, size // 2), interpolation=cv2.INTER_AREA)
        frame = np.full((size, size, 3), 90, np.uint8)
        frame[size // 4: size // 4 + size // 2, : size // 2] = half
        frame[size // 4: size // 4 + size // 2, size // 2:] = half
        return [frame] * n
    if kind == "leaves":
        out = []
        for i in range(n):
            shift = 0 if i < n // 2 else size  # gone: only the grey backdrop is left
            m = np.float32([[1, 0, shift], [0, 1, 0]])
            out.append(cv2.warpAffine(person, m, (size, size), borderValue=(90, 90, 90)))
        return out
    raise ValueError(kind)


# -- projects ----------------------------------------------------------------------------------------
def sample_project_dict(tmp_path: Path, n: int = 6) -> dict:
    """A valid project (as JSON data) whose files exist under ``tmp_path``."""
    from PIL import Image

    from studio.core.project import Project
    from studio.core.tracks import FaceTrack, PoseTrack

    ref = tmp_path / "media" / "photo.png"
    ref.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(gradient(96, 80)).save(ref)
    video = pattern_video(tmp_path / "media" / "dance.mp4", n=n)
    pose = PoseTrack.empty(n, 64, 48, 25.0)
    pose.body[:] = 0.5
    pose.body_conf[:] = 1.0
    pose.flags[:] = 0
    p = Project(reference_image=ref, driving_video=video, pose=pose, face=FaceTrack.empty(n, 64, 48, 25.0))
    return p.to_dict(base=tmp_path)


def write_json(path: Path, data: object) -> Path:
    """``data`` as JSON at ``path``."""
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# -- weights -----------------------------------------------------------------------------------------
def tiny_release(tmp_path: Path) -> Path:
    """A writable copy of the tiny X-Dyna release tree (its ``weights`` folder)."""
    dst = tmp_path / "weights"
    shutil.copytree(TINY_CASE / "weights", dst)
    return dst


def tiny_kwargs() -> dict:
    """The resampler size the tiny release needs (``from_release`` / ``XDynaBackend``); its motion
    modules load with the official defaults."""
    spec = json.loads((TINY_CASE / "case.json").read_text())
    return {"resampler_kwargs": spec["weights"]["resampler_kwargs"]}


def checkpoint_files(release: Path) -> list[Path]:
    """The release's checkpoint files (``.ckpt``, ``.bin``, ``.pth``, ``.safetensors``)."""
    root = release / "pretrained_weights"
    return sorted(p for p in root.rglob("*") if p.suffix in (".ckpt", ".bin", ".pth", ".safetensors"))

"""Make the sample project in ``resources/sample/``: a drawn reference figure, its exact
skeleton, a 48-frame waving/dancing motion, and a project file that ties them together.

Everything is drawn here with OpenCV/numpy, so the sample is ours to ship. Run from the
repository root::

    python tools/make_sample.py            # writes resources/sample/
    python tools/make_sample.py --out DIR  # somewhere else
    python tools/make_sample.py --real     # the real-media sample: resources/sample_real/

The real-media sample (``studio render --sample real``) is example 2 of the official X-Dyna
repository (github.com/bytedance/X-Dyna, Apache-2.0): its reference photo and the first 20 s of
its driving video, copied from ``--from DIR`` (default ``../shared/fixtures/real_dance``), with
the photo's detected pose stored in the project. The driving video's tracks are not stored: the
first open or render extracts them and the extraction cache keeps them for every later run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studio.core.project import Project  # noqa: E402
from studio.core.settings import RenderSettings  # noqa: E402
from studio.core.tracks import PoseTrack  # noqa: E402

W, H = 512, 896
N_FRAMES = 48
FPS = 16.0

# OpenPose-18 rest pose of the drawn figure, in pixels (subject's right is image left).
REST = np.array([
    (256, 150),  # 0 nose
    (256, 232),  # 1 neck
    (200, 246),  # 2 r_shoulder
    (150, 348),  # 3 r_elbow
    (118, 452),  # 4 r_wrist
    (312, 246),  # 5 l_shoulder
    (362, 348),  # 6 l_elbow
    (394, 452),  # 7 l_wrist
    (228, 470),  # 8 r_hip
    (214, 620),  # 9 r_knee
    (204, 770),  # 10 r_ankle
    (284, 470),  # 11 l_hip
    (298, 620),  # 12 l_knee
    (308, 770),  # 13 l_ankle
    (240, 136),  # 14 r_eye
    (272, 136),  # 15 l_eye
    (222, 146),  # 16 r_ear
    (290, 146),  # 17 l_ear
], np.float64)

SKIN = (236, 188, 150)
SHIRT = (214, 64, 70)
SHIRT_DARK = (150, 40, 52)
TROUSERS = (48, 78, 150)
SHOES = (40, 34, 30)
HAIR = (70, 44, 30)


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(p[0] * 16)), int(round(p[1] * 16))


def _limb(img: np.ndarray, a: np.ndarray, b: np.ndarray, width: int, color) -> None:
    cv2.line(img, _pt(a), _pt(b), color, width, cv2.LINE_AA, 4)


def draw_background() -> np.ndarray:
    """A sky-to-floor gradient with a sun, a window and floor stripes (so fills are visible)."""
    y = np.linspace(0, 1, H)[:, None, None]
    sky = (1 - y) * np.array([120, 176, 226]) + y * np.array([206, 226, 240])
    img = np.broadcast_to(sky, (H, W, 3)).astype(np.float64).copy()
    floor = int(H * 0.78)
    img[floor:] = np.array([150, 128, 102])
    for k in range(0, W + H, 48):  # diagonal floor boards
        cv2.line(img, (k, floor), (k - 160, H), (128, 108, 86), 3, cv2.LINE_AA)
    img = img.astype(np.uint8)
    cv2.circle(img, (430, 90), 46, (250, 214, 96), -1, cv2.LINE_AA)
    cv2.rectangle(img, (28, 300), (128, 460), (244, 240, 228), -1)
    cv2.rectangle(img, (28, 300), (128, 460), (96, 80, 64), 4)
    cv2.line(img, (78, 300), (78, 460), (96, 80, 64), 3)
    cv2.line(img, (28, 380), (128, 380), (96, 80, 64), 3)
    cv2.rectangle(img, (388, 560), (500, 690), (112, 150, 96), -1, cv2.LINE_AA)  # a plant pot
    cv2.circle(img, (444, 540), 50, (70, 140, 70), -1, cv2.LINE_AA)
    return img


def draw_figure(img: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Draw the stylised person with joints ``p`` (OpenPose-18 pixels) onto ``img``."""
    img = img.copy()
    # Legs (trousers) and shoes.
    for hip, knee, ankle, side in ((8, 9, 10, -1), (11, 12, 13, 1)):
        _limb(img, p[hip], p[knee], 46, TROUSERS)
        _limb(img, p[knee], p[ankle], 40, TROUSERS)
        toe = p[ankle] + np.array([side * 22.0, 14.0])
        _limb(img, p[ankle] + [0, 8], toe, 26, SHOES)
    # Torso: a shirt polygon with a stripe.
    sh_r, sh_l, hip_r, hip_l = p[2], p[5], p[8], p[11]
    torso = np.array([sh_r + [-10, -4], p[1] + [0, -8], sh_l + [10, -4], hip_l + [14, 6], hip_r + [-14, 6]])
    cv2.fillPoly(img, [np.round(torso * 16).astype(np.int32)], SHIRT, cv2.LINE_AA, 4)
    mid_a = (sh_r + sh_l) / 2 * 0.45 + (hip_r + hip_l) / 2 * 0.55
    cv2.line(img, _pt(mid_a + (sh_r - sh_l) * 0.48), _pt(mid_a - (sh_r - sh_l) * 0.48), SHIRT_DARK, 14, cv2.LINE_AA, 4)
    cv2.circle(img, _pt((sh_r + sh_l) / 2 * 0.7 + mid_a * 0.3 + [14, 0]), 12 * 16, (250, 210, 70), -1, cv2.LINE_AA, 4)
    # Neck and head.
    _limb(img, p[1] + [0, 4], p[0] + (p[1] - p[0]) * 0.45, 30, SKIN)
    centre = p[0] + (p[0] - p[1]) * 0.08
    axis = (int(38 * 16), int(48 * 16))
    ang = float(np.degrees(np.arctan2(p[0][0] - p[1][0], p[1][1] - p[0][1])))
    cv2.ellipse(img, _pt(centre + [0, -6]), (axis[0] + 40, axis[1] + 16), -ang, 180, 360, HAIR, -1, cv2.LINE_AA, 4)
    cv2.ellipse(img, _pt(centre), axis, -ang, 0, 360, SKIN, -1, cv2.LINE_AA, 4)
    up = (p[0] - p[1]) / max(np.linalg.norm(p[0] - p[1]), 1e-6)
    cv2.ellipse(img, _pt(centre + up * 34), (int(40 * 16), int(20 * 16)), -ang, 180, 360, HAIR, -1, cv2.LINE_AA, 4)
    for eye in (14, 15):
        cv2.circle(img, _pt(p[eye] + up * 2), 7 * 16, (255, 255, 255), -1, cv2.LINE_AA, 4)
        cv2.circle(img, _pt(p[eye] + up * 2), 4 * 16, (40, 60, 120), -1, cv2.LINE_AA, 4)
    mouth = p[0] - up * 22
    cv2.ellipse(img, _pt(mouth), (12 * 16, 6 * 16), -ang, 0, 180, (170, 60, 70), 3, cv2.LINE_AA, 4)
    # Arms: short sleeves, bare forearms, round hands.
    for sh, el, wr in ((2, 3, 4), (5, 6, 7)):
        _limb(img, p[sh], p[el], 36, SHIRT)
        _limb(img, p[el], p[wr], 28, SKIN)
        hand = p[wr] + (p[wr] - p[el]) / max(np.linalg.norm(p[wr] - p[el]), 1e-6) * 14
        cv2.circle(img, _pt(hand), 17 * 16, SKIN, -1, cv2.LINE_AA, 4)
    return img


def _rot(v: np.ndarray, deg: float) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def pose_at(t: float) -> np.ndarray:
    """The figure's pose at phase ``t`` in [0, 1): the right arm waves overhead, the left arm
    swings, the knees bounce and the head tilts, keeping every bone's length."""
    two_pi = 2 * np.pi
    p = REST.copy()
    bounce = 18 * (0.5 - 0.5 * np.cos(2 * two_pi * t))  # two squats per loop
    sway = 14 * np.sin(two_pi * t)
    lean = 5 * np.sin(two_pi * t)  # degrees
    hip_c = (REST[8] + REST[11]) / 2
    # Torso + head: rotate about the hip centre, then move.
    for j in (0, 1, 2, 5, 8, 11, 14, 15, 16, 17):
        p[j] = hip_c + _rot(REST[j] - hip_c, lean) + [sway, bounce]
    tilt = 14 * np.sin(two_pi * t * 2)
    for j in (0, 14, 15, 16, 17):
        p[j] = p[1] + _rot(p[j] - p[1], tilt)
    raise_r = 1 - abs(np.cos(np.pi * t))  # lifts and lowers over the clip

    def chain(a: int, b: int, c: int, d1: float, d2: float) -> None:
        p[b] = p[a] + _rot(REST[b] - REST[a], lean + d1)
        p[c] = p[b] + _rot(REST[c] - REST[b], lean + d1 + d2)

    chain(2, 3, 4, 150 * raise_r, -50 * raise_r + 40 * raise_r * np.sin(3 * two_pi * t))
    chain(5, 6, 7, -35 * np.sin(two_pi * t), -50 * (0.5 - 0.5 * np.cos(two_pi * t)))
    # Legs: knees bend with the bounce, feet stay planted roughly.
    knee = np.degrees(np.arcsin(np.clip(bounce / 150, 0, 0.9))) * 1.6
    chain(8, 9, 10, knee, -2 * knee)
    chain(11, 12, 13, -knee, 2 * knee)
    return p


def make_track(n: int = N_FRAMES) -> PoseTrack:
    """The driving motion as a :class:`PoseTrack` normalised to the ``W x H`` frame."""
    track = PoseTrack.empty(n, W, H, FPS)
    for i in range(n):
        track.body[i] = (pose_at(i / n) / [W, H]).astype(np.float32)
    track.body_conf[:] = 1.0
    track.flags[:] = 0
    return track


def reference_track() -> PoseTrack:
    """The drawn figure's exact skeleton as a one-frame track."""
    track = PoseTrack.empty(1, W, H, FPS)
    track.body[0] = (REST / [W, H]).astype(np.float32)
    track.body_conf[:] = 1.0
    track.flags[:] = 0
    return track


README = f"""# Sample project

Made by `tools/make_sample.py` (run it to recreate this folder); everything here is drawn by that
script with OpenCV, so it is ours to ship.

- `reference.png`: a stylised person ({W}x{H}) on a simple background.
- `reference_pose.json`: the figure's exact OpenPose-18 skeleton (a one-frame `PoseTrack`), so
  the sample does not depend on a detector finding a drawn figure.
- `driving_pose.json`: {N_FRAMES} frames of a wave-and-bounce dance at {FPS:g} fps (a `PoseTrack`).
- `sample.studio.json`: a studio project tying them together (draft renderer, {W}x{H}).

`studio render --sample -o out.mp4` renders it.
"""


REAL_README = """# Real-media sample

Made by `tools/make_sample.py --real`. Example 2 of the official X-Dyna repository
(github.com/bytedance/X-Dyna, commit 9a54f8e, `assets/`, Apache-2.0): a real person dancing.

- `reference.jpg`: the official reference photo of the example (512x896).
- `driving.mp4`: the first 20 s of the official driving video (160 frames at 8 fps, 512x896,
  H.264).
- `real.studio.json`: the project (draft renderer, 512x896, retargeting on) with the photo's
  detected pose. The driving tracks are extracted on the first open or render and then come
  from the extraction cache (keyed by the video's content), so later opens are instant.

`studio render --sample real -o out.mp4` renders it; `studio render --sample real --side-by-side`
shows the driving video, the pose the model sees and the result.
"""


def make_real(src: Path, out: Path) -> None:
    """The real-media sample in ``out`` from the clips in ``src`` (reference_2.jpg, driving_2.mp4)."""
    import shutil

    from studio.extract.image import detect_image
    from studio.media.image import read_image

    photo, video = src / "reference_2.jpg", src / "driving_2.mp4"
    for f in (photo, video):
        if not f.is_file():
            raise SystemExit(f"{f} is missing: pass the folder of the real dance clips with --from DIR")
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(photo, out / "reference.jpg")
    shutil.copyfile(video, out / "driving.mp4")
    ref_pose, ref_face = detect_image(read_image(out / "reference.jpg"))
    project = Project(
        reference_image=out / "reference.jpg",
        driving_video=out / "driving.mp4",
        fps=8.0,
        reference_pose=ref_pose,
        reference_face=ref_face,
        settings=RenderSettings(backend="draft", width=W, height=H),
    )
    project.save(out / "real.studio.json")
    (out / "README.md").write_text(REAL_README, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Write the sample project; prints the files and their sizes."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--real", action="store_true", help="make the real-media sample (resources/sample_real)")
    ap.add_argument("--from", dest="src", type=Path, default=ROOT.parent / "shared" / "fixtures" / "real_dance",
                    help="folder with reference_2.jpg and driving_2.mp4 (for --real)")
    args = ap.parse_args(argv)
    if args.real:
        out = args.out or ROOT / "resources" / "sample_real"
        make_real(args.src, out)
        for f in sorted(out.iterdir()):
            print(f"{f.name:28s} {f.stat().st_size / 1024:8.1f} KiB")
        return 0
    out: Path = args.out or ROOT / "resources" / "sample"
    out.mkdir(parents=True, exist_ok=True)
    ref = draw_figure(draw_background(), REST)
    cv2.imwrite(str(out / "reference.png"), cv2.cvtColor(ref, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    driving = make_track()
    (out / "driving_pose.json").write_text(json.dumps(driving.to_dict()), encoding="utf-8")
    (out / "reference_pose.json").write_text(json.dumps(reference_track().to_dict()), encoding="utf-8")
    project = Project(
        reference_image=out / "reference.png",
        fps=FPS,
        pose=driving,
        reference_pose=reference_track(),
        settings=RenderSettings(backend="draft", width=W, height=H),
    )
    project.save(out / "sample.studio.json")
    (out / "README.md").write_text(README, encoding="utf-8")
    for f in sorted(out.iterdir()):
        print(f"{f.name:28s} {f.stat().st_size / 1024:8.1f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

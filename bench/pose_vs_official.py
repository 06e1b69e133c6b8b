"""Our pose maps of a real clip against the official X-Dyna pose video of the same clip.

    python bench/pose_vs_official.py CLIP OFFICIAL_POSE [CLIP OFFICIAL_POSE ...] [--markdown]

For each pair: extracts ``CLIP`` (no cache, timed), draws our head-less pose maps at the official
video's size (the ``top`` fit, as ``studio maps --pose-only``; identity at the same size) and
compares them frame by frame with ``OFFICIAL_POSE``:

- chamfer: the symmetric mean distance (px) between the skeleton pixels of the two maps
  (pixels brighter than 50 in some channel), median and p90 over the frames where both draw;
- recall / precision within 8 px: the share of the official skeleton pixels that have one of
  ours within 8 px, and of ours that have an official one within 8 px (over all frames);
- hands: in the official video a hand is found by its keypoint dots (saturated blue, more than
  :data:`HAND_MIN_AREA` px in one blob, which leaves out the left-knee dot) and given a side by
  the forearm limb colour next to it (:func:`hand_masks`). Ours is known from our track (a hand
  point drawn on the canvas); the same image analysis of our maps is printed too, as a check of
  the analysis (it misses hands whose forearm is not drawn). Reported: the share of frames with
  the left / right hand drawn (ours vs official), the share of the official's hand frames on
  which ours draws that hand too, and the chamfer distance between our and the official hand dots
  on frames where both draw that hand (agreement near the wrists: the median, and the share of
  those hands within 5 px);
- extraction fps (frames / detection seconds) with the machine's load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: A pixel belongs to the skeleton when one channel is brighter than this.
SKELETON_LEVEL = 50
#: Distance (px) within which a skeleton pixel counts as matched.
MATCH_PX = 8.0
#: Smallest blue blob (px) taken for a hand (the left-knee dot, radius 4, is about 50 px).
HAND_MIN_AREA = 90
#: How far (px) around a hand blob the forearm colour is looked for.
SIDE_RING_PX = 20


@dataclass
class ClipStats:
    """Per-frame measurements of one clip."""

    name: str
    frames: int = 0
    fps: float = 0.0
    load: float = 0.0
    chamfer: list[float] = field(default_factory=list)
    hits_official: int = 0
    total_official: int = 0
    hits_ours: int = 0
    total_ours: int = 0
    hands_ours: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), bool))
    hands_ours_seen: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), bool))
    hands_official: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), bool))
    hand_chamfer: list[float] = field(default_factory=list)


def skeleton_mask(img: np.ndarray) -> np.ndarray:
    """Pixels of a pose map that belong to the drawing."""
    return img.max(axis=2) > SKELETON_LEVEL


def _distance_to(mask: np.ndarray) -> np.ndarray:
    """Per pixel, the distance (px) to the nearest pixel of ``mask`` (large when it is empty)."""
    import cv2

    if not mask.any():
        return np.full(mask.shape, 1e6, np.float32)
    return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5)


def chamfer(a: np.ndarray, b: np.ndarray) -> float:
    """Symmetric mean nearest distance (px) between the pixels of masks ``a`` and ``b``."""
    if not a.any() or not b.any():
        return float("nan")
    return 0.5 * (float(_distance_to(b)[a].mean()) + float(_distance_to(a)[b].mean()))


def hand_masks(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(left, right)`` masks of the hand keypoint dots found in a pose map.

    Blue blobs larger than :data:`HAND_MIN_AREA` px are hands; each is given the side of the
    forearm limb colour most present around it (left forearm ``(51, 153, 0)``, right forearm
    ``(153, 153, 0)`` in the OpenPose palette at 0.6 intensity); with two hands the more "left"
    one is the left hand. A blob next to neither forearm is left out.
    """
    import cv2

    a = img.astype(np.int16)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    blue = (b > 170) & (r < 50) & (g < 60)
    fore = (g > 115) & (g < 190) & (b < 70)
    right_fore = fore & (r > 120) & (r < 190)
    left_fore = fore & (r > 20) & (r < 80)
    out = (np.zeros(blue.shape, bool), np.zeros(blue.shape, bool))
    # a hand's dots are split by its bone lines: join them before labelling
    joined = cv2.dilate(blue.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    n, labels, _, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * SIDE_RING_PX + 1,) * 2)
    found = []  # (area, share of left-forearm colour, blob)
    for k in range(1, n):
        blob = (labels == k) & blue
        area = int(np.count_nonzero(blob))
        if area < HAND_MIN_AREA:
            continue
        ring = cv2.dilate(blob.astype(np.uint8), kernel).astype(bool)
        nl, nr = int(np.count_nonzero(ring & left_fore)), int(np.count_nonzero(ring & right_fore))
        if max(nl, nr) >= 4:
            found.append((area, nl / (nl + nr), blob))
    found.sort(key=lambda t: -t[0])
    if len(found) >= 2:  # one hand per side: the more "left" of the two largest is the left hand
        a, b = sorted(found[:2], key=lambda t: -t[1])
        out[0][a[2]] = True
        out[1][b[2]] = True
    elif found:
        out[0 if found[0][1] > 0.5 else 1][found[0][2]] = True
    return out


def hands_drawn(canvas_pose, i: int, threshold: float = 0.3) -> tuple[bool, bool]:
    """Whether frame ``i`` of a canvas-normalised track draws its left / right hand (a point above
    the drawing threshold inside the canvas)."""
    pts, conf = canvas_pose.hands[i], canvas_pose.hands_conf[i]
    inside = np.isfinite(pts).all(-1) & (pts > 0).all(-1) & (pts < 1).all(-1) & (conf > threshold)
    return bool(inside[0].any()), bool(inside[1].any())


def compare_frame(ours: np.ndarray, official: np.ndarray, stats: ClipStats, i: int,
                  drawn: tuple[bool, bool]) -> None:
    """Add one frame's measurements to ``stats`` (``drawn``: our hands, from the track)."""
    mo, mf = skeleton_mask(ours), skeleton_mask(official)
    c = chamfer(mo, mf)
    if np.isfinite(c):
        stats.chamfer.append(c)
    do, df = _distance_to(mo), _distance_to(mf)
    stats.hits_official += int(np.count_nonzero(do[mf] <= MATCH_PX))
    stats.total_official += int(np.count_nonzero(mf))
    stats.hits_ours += int(np.count_nonzero(df[mo] <= MATCH_PX))
    stats.total_ours += int(np.count_nonzero(mo))
    ho, hf = hand_masks(ours), hand_masks(official)
    for side in range(2):
        stats.hands_ours[i, side] = drawn[side]
        stats.hands_ours_seen[i, side] = ho[side].any()
        stats.hands_official[i, side] = hf[side].any()
        if ho[side].any() and hf[side].any():
            stats.hand_chamfer.append(chamfer(ho[side], hf[side]))


def measure(clip: str, official: str) -> ClipStats:
    """Extract ``clip`` and compare its maps with the ``official`` pose video."""
    from studio.extract.extractor import extract_video
    from studio.extract.fit import CanvasFit
    from studio.extract.pose_map import draw_track_frame
    from studio.media.video import VideoReader

    stats = ClipStats(os.path.basename(clip))
    stats.load = os.getloadavg()[0]
    res = extract_video(clip, use_cache=False)
    n = len(res.pose)
    stats.frames = n
    stats.fps = n / max(res.seconds, 1e-9)
    stats.hands_ours = np.zeros((n, 2), bool)
    stats.hands_official = np.zeros((n, 2), bool)
    stats.hands_ours_seen = np.zeros((n, 2), bool)
    with VideoReader(official) as reader:
        w, h = reader.size
        canvas = CanvasFit.create(res.pose.width, res.pose.height, w, h, "top").pose_to_canvas(res.pose)
        for i in range(min(n, reader.frame_count)):
            compare_frame(draw_track_frame(canvas, i, head=False), reader.read(i), stats, i,
                          hands_drawn(canvas, i))
    return stats


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%" if np.isfinite(x) else "-"


def rows(s: ClipStats) -> dict[str, str]:
    """The table row of one clip."""
    ch = np.asarray(s.chamfer)
    o, f = s.hands_ours, s.hands_official
    share = [(o[:, k].mean(), f[:, k].mean()) for k in range(2)]
    both = [(o[:, k] & f[:, k]).sum() / max(1, f[:, k].sum()) for k in range(2)]
    both_all = (o & f).sum() / max(1, f.sum())
    seen = s.hands_ours_seen
    seen_all = (seen & f).sum() / max(1, f.sum())
    return {
        "clip": s.name,
        "chamfer median / p90 (px)": f"{np.median(ch):.2f} / {np.percentile(ch, 90):.2f}" if len(ch) else "-",
        "recall / precision @8px": f"{_pct(s.hits_official / max(1, s.total_official))} / "
                                   f"{_pct(s.hits_ours / max(1, s.total_ours))}",
        "left hand drawn, ours / official": f"{_pct(share[0][0])} / {_pct(share[0][1])}",
        "right hand drawn, ours / official": f"{_pct(share[1][0])} / {_pct(share[1][1])}",
        "ours where official has the hand (L / R / all)": f"{_pct(both[0])} / {_pct(both[1])} / {_pct(both_all)}",
        "same, by image analysis of our maps": _pct(seen_all),
        "hand chamfer median (px), share <= 5 px": (
            f"{np.median(s.hand_chamfer):.2f}, {_pct(np.mean(np.asarray(s.hand_chamfer) <= 5.0))}"
            if s.hand_chamfer else "-"),
        "extraction fps (load)": f"{s.fps:.1f} ({s.load:.1f})",
    }


def main(argv: list[str] | None = None) -> int:
    """Measure every clip pair and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pairs", nargs="+", help="CLIP OFFICIAL_POSE [CLIP OFFICIAL_POSE ...]")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args(argv)
    if len(args.pairs) % 2:
        ap.error("give the clips and official pose videos in pairs: CLIP OFFICIAL_POSE ...")
    print(f"machine: {os.cpu_count()} cores, load average (1 min) {os.getloadavg()[0]:.2f}", file=sys.stderr)
    table = []
    for clip, official in zip(args.pairs[::2], args.pairs[1::2]):
        t0 = time.perf_counter()
        table.append(rows(measure(clip, official)))
        print(f"{os.path.basename(clip)}: measured in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    keys = list(table[0])
    if args.markdown:
        print("| " + " | ".join(keys) + " |")
        print("|" + "---|" * len(keys))
        for r in table:
            print("| " + " | ".join(r[k] for k in keys) + " |")
    else:
        for r in table:
            print("\n".join(f"{k:>48}: {v}" for k, v in r.items()))
            print()
    print(f"load average (1 min) after: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    sys.exit(main())

"""The golden cases of the StableAnimator reference harness and their inputs (numpy + Pillow only).

Each case is one call of the official ``InferenceAnimationPipeline`` through the official
``inference_basic.py``; ``min_guidance`` differs from ``max_guidance`` where a case covers the
pipeline's per-frame guidance ramp (the script passes ``--guidance_scale`` as both).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

#: Weight seed of the tiny release all cases share.
WEIGHT_SEED = 0

#: The seed ``inference_basic.py`` hard-codes for its generator.
OFFICIAL_SEED = 23123134

CASES: dict[str, dict] = {
    # 20 frames, tiles of 16 with overlap 4: tiles [0..15] and [0, 5..19]; guidance ramps 1.5 -> 3.
    "a_tiles_20f": {"frames": 20, "height": 64, "width": 64, "steps": 3, "tile_size": 16, "tile_overlap": 4,
                    "min_guidance": 1.5, "max_guidance": 3.0, "noise_aug_strength": 0.02, "decode_chunk_size": 4},
    # Odd, non-square size (latents 6x10, 3x5 after the UNet's downsampling), tiles of 8 with overlap 2:
    # [0..7] and [0, 7..13]; constant guidance as the official script passes it.
    "b_odd_14f": {"frames": 14, "height": 48, "width": 80, "steps": 3, "tile_size": 8, "tile_overlap": 2,
                  "min_guidance": 2.5, "max_guidance": 2.5, "noise_aug_strength": 0.02, "decode_chunk_size": 4},
}

#: Cases the CPU bench (bench/stableanimator_bench.py) times but that are not golden: case a's
#: call at 128x128 (16x16 latents, 4x the pixels), so the comparison is not only per-call overhead.
BENCH_CASES: dict[str, dict] = {
    "bench_128_20f": {**CASES["a_tiles_20f"], "height": 128, "width": 128},
}


def tile_indices(frames: int, tile_size: int, overlap: int) -> list[list[int]]:
    """The official tiles: frame 0 first in every tile, then a run of ``tile_size - 1`` frames."""
    tiles = [[0, *range(i + 1, min(i + tile_size, frames))] for i in range(0, frames - tile_size + 1, tile_size - overlap)]
    if tiles[-1][-1] < frames - 1:
        tiles.append([0, *range(frames - tile_size + 1, frames)])
    return tiles


def reference_image(height: int, width: int, seed: int = 1) -> Image.Image:
    """A smooth synthetic portrait: colour gradients, a head disc and a body block."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.stack([
        0.5 + 0.4 * np.sin(x / width * math.pi * (1 + rng.random())),
        0.5 + 0.4 * np.cos(y / height * math.pi * (1 + rng.random())),
        0.5 + 0.3 * np.sin((x + y) / (width + height) * 4 + rng.random()),
    ], -1)
    pil = Image.fromarray((img * 255).round().astype(np.uint8))
    d = ImageDraw.Draw(pil)
    cx, r = width / 2, min(height, width) / 8
    d.ellipse([cx - r, height * 0.15, cx + r, height * 0.15 + 2 * r], fill=(222, 180, 150))
    d.rectangle([cx - 1.5 * r, height * 0.15 + 2.2 * r, cx + 1.5 * r, height * 0.9], fill=(40, 60, 160))
    return pil


def pose_frames(frames: int, height: int, width: int) -> list[Image.Image]:
    """Stick figures on black that swing their arms, in DWPose-like limb colours."""
    out = []
    colours = [(255, 0, 0), (255, 85, 0), (255, 170, 0), (0, 255, 0), (0, 255, 170), (0, 85, 255), (170, 0, 255)]
    for f in range(frames):
        a = math.sin(f / max(frames - 1, 1) * 2 * math.pi)
        img = Image.new("RGB", (width, height))
        d = ImageDraw.Draw(img)
        cx, neck, hip = width / 2, height * 0.3, height * 0.62
        pts = {"head": (cx, height * 0.15), "neck": (cx, neck), "hip": (cx, hip),
               "lh": (cx - width * 0.25, neck + height * (0.15 + 0.1 * a)),
               "rh": (cx + width * 0.25, neck + height * (0.15 - 0.1 * a)),
               "lf": (cx - width * 0.12, height * 0.95), "rf": (cx + width * 0.12 + 2 * a, height * 0.95)}
        limbs = [("head", "neck"), ("neck", "hip"), ("neck", "lh"), ("neck", "rh"), ("hip", "lf"), ("hip", "rf")]
        for i, (p, q) in enumerate(limbs):
            d.line([pts[p], pts[q]], fill=colours[i], width=2)
        for i, p in enumerate(pts.values()):
            d.ellipse([p[0] - 1.5, p[1] - 1.5, p[0] + 1.5, p[1] + 1.5], fill=colours[i % len(colours)])
        out.append(img)
    return out


def face_embedding(seed: int = 2) -> np.ndarray:
    """A raw (unnormalised) 512-d ArcFace-like embedding, norm about 22 as glintr100 gives."""
    return np.random.default_rng(seed).standard_normal(512).astype(np.float32)


def write_inputs(case: dict, folder: Path) -> dict:
    """Write reference.png, poses/frame_N.png and face_embedding.npy; returns their relative paths."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "poses").mkdir(exist_ok=True)
    reference_image(case["height"], case["width"]).save(folder / "reference.png")
    for i, img in enumerate(pose_frames(case["frames"], case["height"], case["width"])):
        img.save(folder / "poses" / f"frame_{i}.png")
    np.save(folder / "face_embedding.npy", face_embedding())
    return {"reference": "inputs/reference.png", "poses": "inputs/poses/frame_{i}.png",
            "face_embedding": "inputs/face_embedding.npy"}


#: Golden cases of the official pro path (``inference_op.py``: HJB face optimisation). The script
#: runs the whole clip as one tile (``tile_size = num_frames``) and decodes in chunks of 4; the
#: ArcFace is the official ``IResNet`` with one block per layer (``iresnet100`` is (3, 13, 30, 3)).
HJB_CASES: dict[str, dict] = {
    # 6 frames at 64x64, 3 steps; steps 0 and 1 refine (2 Adam iterations each), step 2 does not.
    "h_hjb_6f": {"frames": 6, "height": 64, "width": 64, "steps": 3, "tile_size": 6, "tile_overlap": 2,
                 "min_guidance": 2.5, "max_guidance": 2.5, "noise_aug_strength": 0.02, "decode_chunk_size": 4,
                 "start_refine_step": 0, "end_refine_step": 1, "iterations": 2, "arcface_layers": [1, 1, 1, 1]},
}


def face_boxes(case: dict) -> tuple[tuple[int, int, int, int], list[tuple[int, int, int, int]]]:
    """``(y0, y1, x0, x1)`` inclusive boxes: the photo's (around its head disc) and one per frame (drifting)."""
    h, w = case["height"], case["width"]
    r = min(h, w) / 8
    top, cx = int(h * 0.15), int(w / 2)
    ref = (top - 2, top + int(2 * r) + 2, cx - int(r) - 2, cx + int(r) + 2)
    frames = [(ref[0] + f % 3, ref[1] + f % 3, ref[2] - 1 + f % 2, ref[3] + f // 2) for f in range(case["frames"])]
    return ref, frames


def write_masks(case: dict, folder: Path) -> dict:
    """Face masks as the official face-mask extraction writes them (255 inside the box, 0 outside):
    ``reference_mask.png`` and ``faces/frame_N.png``; returns their paths and the boxes."""
    (folder / "faces").mkdir(parents=True, exist_ok=True)
    ref, frames = face_boxes(case)

    def mask(box) -> Image.Image:
        m = np.zeros((case["height"], case["width"]), np.uint8)
        m[box[0]: box[1] + 1, box[2]: box[3] + 1] = 255
        return Image.fromarray(m)

    mask(ref).save(folder / "reference_mask.png")
    for i, box in enumerate(frames):
        mask(box).save(folder / "faces" / f"frame_{i}.png")
    return {"reference_mask": "inputs/reference_mask.png", "face_masks": "inputs/faces/frame_{i}.png",
            "reference_box": list(ref), "frame_boxes": [list(b) for b in frames]}

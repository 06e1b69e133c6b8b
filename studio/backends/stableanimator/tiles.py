"""StableAnimator's temporal tiles: every tile starts with frame 0, predictions blend by position.

Torch-free. For ``frames`` frames, tiles of ``size`` step by ``size - overlap``; each holds frame 0
in its first slot followed by ``size - 1`` consecutive frames (so frame ``start`` itself is left
out of the tile that starts there); if the last frame is not covered, one more tile ends on it.
A tile's predictions are weighted by a triangle over the slots (``min(w, 2 - w)`` with
``w = (slot + 0.5) * 2 / size``) and summed; each frame is divided by its summed weight.
"""

from __future__ import annotations

from studio.core.errors import StudioError


def tile_indices(frames: int, size: int, overlap: int) -> list[list[int]]:
    """The frame indices of every tile, in the order the official pipeline runs them."""
    if size < 2 or not 0 <= overlap < size:
        raise StudioError("Bad tile settings", f"Tile size {size} with overlap {overlap}: the size must be at "
                          "least 2 and the overlap between 0 and the size minus 1.")
    if frames < size:
        raise StudioError("Clip shorter than one tile", f"{frames} frames with tiles of {size}: StableAnimator "
                          f"needs at least one full tile. Render {size} frames or more, or lower the tile size.")
    tiles = [[0, *range(s + 1, min(s + size, frames))] for s in range(0, frames - size + 1, size - overlap)]
    if tiles[-1][-1] < frames - 1:
        tiles.append([0, *range(frames - size + 1, frames)])
    return tiles


"""DynamiCtrl's frame and size rules and the segment plan of long clips (no torch).

Read from the official code (commit 15eb5e9) and confirmed by running it: one pass renders
``8k + 5`` frames (5, 13, 21, 29, 37, ...: the VAE makes ``(N - 1)/4 + 1`` latent frames and the
temporal patch of 2 needs an even number of them; other counts fail inside the model), and the
height and width must be multiples of 16 (the VAE's 8 times the patch of 2; the official check
of 8 lets 8-but-not-16 sizes through to a crash).

Clips longer than one pass are rendered as overlapping segments (:func:`plan_segments`): each
segment after the first starts ``overlap`` frames before the previous one ends and continues
from those frames. With ``overlap`` of the form ``8j + 5`` every segment is itself ``8k + 5``
frames long, so a clip of any ``8k + 5`` frames splits exactly: the rule for a whole clip is the
same as for one pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.core.errors import StudioError

#: Frames of one pass in the official release (its inference script's 37).
OFFICIAL_FRAMES = 37
#: Height and width must be multiples of this.
SIZE_MULTIPLE = 16
#: Smallest pass: 5 frames (two latent frames, one temporal patch).
MIN_FRAMES = 5


def is_valid_count(n: int) -> bool:
    """Whether ``n`` frames can be rendered (``8k + 5``)."""
    return n >= MIN_FRAMES and (n - MIN_FRAMES) % 8 == 0


def nearest_counts(n: int) -> tuple[int, ...]:
    """The valid frame counts nearest ``n`` (the one below, if any, and the one above)."""
    if is_valid_count(n):
        return (n,)
    above = MIN_FRAMES if n < MIN_FRAMES else n + (8 - (n - MIN_FRAMES) % 8)
    below = above - 8
    return (below, above) if below >= MIN_FRAMES else (above,)


def check_frames(n: int, what: str = "The clip") -> None:
    """A :class:`StudioError` naming the nearest valid counts unless ``n`` is ``8k + 5``."""
    if is_valid_count(n):
        return
    near = nearest_counts(n)
    options = " or ".join(str(c) for c in near)
    raise StudioError(
        "Frame count not possible with DynamiCtrl",
        f"{what} has {n} frames; DynamiCtrl renders 8k+5 frames (5, 13, 21, 29, 37, ...). "
        f"Choose {options} frames (for example --frames 0:{near[-1]}).",
        f"The VAE turns N frames into (N-1)/4+1 latent frames and the transformer's temporal patch "
        f"needs an even number of them. Nearest valid counts: {', '.join(str(c) for c in near)}.",
    )


def nearest_sizes(x: int) -> tuple[int, ...]:
    """The multiples of 16 nearest ``x`` (below, if positive, and above)."""
    if x % SIZE_MULTIPLE == 0 and x > 0:
        return (x,)
    below = (x // SIZE_MULTIPLE) * SIZE_MULTIPLE
    above = below + SIZE_MULTIPLE
    return (below, above) if below > 0 else (above,)


def check_size(width: int, height: int) -> None:
    """A :class:`StudioError` naming the nearest valid sizes unless both are multiples of 16."""
    bad = [(name, v) for name, v in (("width", width), ("height", height))
           if v <= 0 or v % SIZE_MULTIPLE != 0]
    if not bad:
        return
    parts = [f"{name} {v} (use {' or '.join(str(s) for s in nearest_sizes(v))})" for name, v in bad]
    w = nearest_sizes(width)[-1] if width % SIZE_MULTIPLE or width <= 0 else width
    h = nearest_sizes(height)[-1] if height % SIZE_MULTIPLE or height <= 0 else height
    raise StudioError(
        "Render size not possible with DynamiCtrl",
        f"DynamiCtrl needs a width and height that are multiples of {SIZE_MULTIPLE}: "
        f"{'; '.join(parts)}. For example --size {w}x{h}.",
    )


def check_overlap(segment: int, overlap: int) -> None:
    """Segment length ``8k + 5`` and an overlap ``8j + 5`` shorter than it by at least 8."""
    check_frames(segment, "A segment")
    if not is_valid_count(overlap) or overlap > segment - 8:
        valid = [c for c in range(MIN_FRAMES, segment - 7, 8)]
        raise StudioError(
            "Segment overlap not possible with DynamiCtrl",
            f"The segment overlap is {overlap} frames; with {segment}-frame segments it must be one of "
            f"{', '.join(str(v) for v in valid)} (8j+5, so every segment stays 8k+5 frames long).",
        )


@dataclass(frozen=True)
class Segment:
    """Frames ``start .. stop - 1`` of the clip (positions in the job), continuing from the
    previous segment's last ``overlap`` frames (``overlap`` 0 for the first)."""

    index: int
    start: int
    stop: int
    overlap: int

    @property
    def length(self) -> int:
        return self.stop - self.start

    @property
    def new_start(self) -> int:
        """The first frame this segment adds (the frames before are the previous one's)."""
        return self.start + self.overlap


def plan_segments(n_frames: int, segment: int = OFFICIAL_FRAMES, overlap: int = 5) -> list[Segment]:
    """Overlapping segments covering ``n_frames`` (module docstring); one when it fits."""
    check_frames(n_frames)
    if n_frames <= segment:
        return [Segment(0, 0, n_frames, 0)]
    check_overlap(segment, overlap)
    out = [Segment(0, 0, segment, 0)]
    while out[-1].stop < n_frames:
        start = out[-1].stop - overlap
        stop = min(start + segment, n_frames)
        out.append(Segment(len(out), start, stop, overlap))
    return out

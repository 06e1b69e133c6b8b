"""The draft renderer's options (size, seed, framing and retargeting are shared settings)."""

from __future__ import annotations

from typing import Any

from studio.core.options import BackendOptions, option

#: Options left out of the fingerprint at their defaults: ``live_motion`` changes only live photos.
OMITTED_AT_DEFAULT = {"live_motion": 1.0}


class DraftOptions(BackendOptions):
    """Options of the draft renderer."""

    live_motion: float = option(
        1.0, ge=0.0, le=3.0, label="Live-photo motion", live_photo_only=True,
        help="How much a live photo breathes and sways (chest rise, sway about the hips, head tilt; 0 = still, "
        "1 = the default, up to 3). Renders driven by a video ignore it. No time or memory cost.")

    def fingerprint_fields(self) -> dict[str, Any]:
        """As the base, without ``live_motion`` at its default (renders driven by a video ignore it)."""
        d = super().fingerprint_fields()
        for key, default in OMITTED_AT_DEFAULT.items():
            if d.get(key) == default:
                del d[key]
        return d

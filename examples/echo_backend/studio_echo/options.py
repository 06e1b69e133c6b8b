"""The echo backend's options: what ``studio render --backend echo`` offers as flags and the
render panel as a form, with their ranges, defaults and help."""

from __future__ import annotations

from typing import Literal

from studio.core.options import BackendOptions, option


class EchoOptions(BackendOptions):
    """Options of the echo renderer."""

    strength: float = option(0.5, ge=0.0, le=1.0, label="Tint strength",
                             help="How far each pixel moves towards the tint colour: 0 keeps the photo, 1 is the "
                             "flat colour. No time or memory cost.")
    colour: Literal["red", "green", "blue"] = option("red", label="Tint colour",
                                                     help="The colour the photo is tinted towards.")

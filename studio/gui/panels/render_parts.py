"""Pieces of the render panel that know no backend: the shared settings' choices and tooltips,
the weights status line, the timeline colour legend, durations."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFormLayout, QLabel, QWidget

FRAMINGS = (("official", "Official (photo filled, video top crop)"), ("center", "Centre (video centre crop)"),
            ("fit", "Fit (nothing cropped)"), ("custom", "Custom (dragged on the Pose pane)"))
DEVICES = (("auto", "Auto (GPU if present)"), ("cpu", "CPU"), ("cuda", "CUDA GPU"), ("mps", "Apple GPU (MPS)"))
DTYPES = (("auto", "Auto (fp16 on GPU, fp32 on CPU)"), ("float32", "float32"), ("float16", "float16"),
          ("bfloat16", "bfloat16"))

#: What each shared setting costs, shown as its tooltip (a backend's options carry their own help).
TIPS = {
    "size": "Render size. Time and activation memory grow with the pixel count (896x512 is about 3.5x "
            "512x256); the weights' memory does not.",
    "framing": "Where the photo and the driving video sit on the output canvas. Official: as the X-Dyna code "
               "(photo centre-cropped to fill, video top-cropped); Centre: video centre-cropped; Fit: nothing "
               "cropped (photo edges repeated, video letterboxed). No time or memory cost.",
    "frame_btn": "Drag on the Pose pane to move the photo, scroll to scale it; the skeleton follows live. "
                 "No time or memory cost; the frames render again.",
    "retarget": "Give the dancer's skeleton the photo person's proportions. Negligible cost (numpy, once per "
                "render).",
    "seed": "The random seed: the same seed and settings give the same frames. No time or memory cost.",
    "device": "Where a diffusion renderer runs. A GPU is tens of times faster than the CPU; the CPU needs about "
              "twice the memory (float32).",
    "dtype": "Precision. float16/bfloat16 halve the weights' and activations' memory and are faster on GPUs; "
             "CPUs compute in float32.",
}

#: Progress phases of the renderers, as shown on the progress bar.
PHASES = {"render": "Rendering frames", "denoise": "Denoising steps", "decode": "Decoding frames",
          "load": "Loading the weights", "prepare": "Preparing the inputs", "resume": "Reading finished frames"}


def weights_status(spec, folder: Path | None, options=None) -> tuple[bool, str]:
    """``(ok, line)`` describing ``spec``'s weights under ``folder`` (files only, no torch)."""
    if spec.weights is None:
        return True, "No weights needed."
    if folder is None:
        return False, f"No weights folder chosen (needed for {spec.label})."
    if not Path(folder).is_dir():
        return False, f"No weights folder at {folder}: choose the {spec.label} weights folder."
    problems = spec.weights_problems(folder, options)
    if not problems:
        return True, "✔ Weights found."
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return False, f"⚠ {problems[0]}{more}"


def fmt_seconds(s: float) -> str:
    """``1:05`` style duration."""
    s = int(round(max(0.0, s)))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


class CacheLegend(QWidget):
    """What the colours of the timeline's cache bar mean."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from studio.core.frame_cache import FrameState
        from studio.gui.widgets.timeline import COLORS, RENDERING

        grid = QFormLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(2)
        title = QLabel("Timeline colours")
        title.setStyleSheet("font-weight: bold;")
        grid.addRow(title)
        for color, text in (
            (COLORS[FrameState.FINAL], "final frame"),
            (COLORS[FrameState.PREVIEW], "preview only (per-step or draft)"),
            (COLORS[FrameState.STALE], "stale: settings or pose changed since"),
            (RENDERING, "being rendered now"),
            (COLORS[FrameState.EMPTY], "not rendered"),
        ):
            swatch = QLabel()
            swatch.setFixedSize(22, 10)
            swatch.setStyleSheet(f"background: {color.name()}; border: 1px solid #15161a;")
            grid.addRow(swatch, QLabel(text))

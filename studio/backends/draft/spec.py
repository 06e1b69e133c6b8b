"""The draft renderer's manifest (registered as the ``draft`` entry point); imports nothing heavy."""

from __future__ import annotations

from studio.backends.draft.options import DraftOptions
from studio.core.backend import BackendSpec, Capabilities

SPEC = BackendSpec(
    name="draft",
    label="Draft (instant, no weights)",
    description="warps the photo along the driving skeleton (numpy, OpenCV, MediaPipe; tens of frames per second)",
    capabilities=Capabilities(needs_weights=False, step_previews=False, independent_frames=True, streaming=True,
                              live_photo=True),
    options=DraftOptions,
    factory="studio.backends.draft.backend:DraftBackend",
    order=0,
    default=True,
)

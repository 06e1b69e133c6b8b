"""The echo backend's manifest. It imports only the studio's core (no numpy work, no torch): the
studio reads it to list the backend, build its flags and form, and check it; the running backend
(:mod:`studio_echo.backend`) is imported only when a render needs it."""

from __future__ import annotations

from studio.core.backend import BackendSpec, Capabilities
from studio_echo.options import EchoOptions

SPEC = BackendSpec(
    name="echo",
    label="Echo (tinted photo, example plug-in)",
    description="the reference photo on the render canvas, tinted by 'strength' (an example backend)",
    capabilities=Capabilities(needs_weights=False, step_previews=False, independent_frames=True, streaming=True,
                              live_photo=True),
    options=EchoOptions,
    factory="studio_echo.backend:EchoBackend",
    order=50,
)

"""Pure Python + numpy: project model, timeline, tracks, windows, jobs/events, frame cache.

Nothing here imports Qt or torch (a test enforces it).
"""

from studio.core.backend import Backend, Capabilities
from studio.core.cancel import CancelToken
from studio.core.errors import RenderCancelled, StudioError
from studio.core.events import Cancelled, Failed, Finished, FramesReady, Progress, RenderEvent, StepPreview
from studio.core.jobs import RenderJob
from studio.core.settings import RenderSettings
from studio.core.tracks import FaceTrack, PoseTrack
from studio.core.windows import WindowPlan, reference_windows, static_windows, window_weights

__all__ = [
    "Backend", "Capabilities", "CancelToken", "Cancelled", "FaceTrack", "Failed", "Finished",
    "FramesReady", "PoseTrack", "Progress", "RenderCancelled", "RenderEvent", "RenderJob",
    "RenderSettings", "StepPreview", "StudioError", "WindowPlan", "reference_windows",
    "static_windows", "window_weights",
]

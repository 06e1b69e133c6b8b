"""Video and image decoding and the exporters (MP4, WebM, GIF, PNG sequence).

Nothing here imports Qt or torch (a test enforces it).
"""

from studio.media.video import VideoReader

__all__ = ["VideoReader"]

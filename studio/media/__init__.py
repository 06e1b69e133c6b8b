"""Video and image decoding and the exporters (MP4, WebM, GIF, PNG sequence).

Nothing here imports Qt or torch (a test enforces it).
"""

from studio.media.image import LoadedImage, load_image, read_image
from studio.media.video import VideoReader

__all__ = ["LoadedImage", "VideoReader", "load_image", "read_image"]

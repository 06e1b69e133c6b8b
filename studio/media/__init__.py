"""Video and image decoding and the exporters (MP4, WebM, GIF, PNG sequence).

Nothing here imports Qt or torch (a test enforces it).
"""

from studio.media.exporters import (
    EXPORTERS,
    Exporter,
    GIFExporter,
    MP4Exporter,
    PNGSequenceExporter,
    WebMExporter,
    export_frames,
    exporter_for,
)
from studio.media.image import LoadedImage, load_image, read_image
from studio.media.sequence import PngSequence
from studio.media.source import open_frames
from studio.media.video import VideoReader

__all__ = [
    "EXPORTERS", "Exporter", "GIFExporter", "LoadedImage", "MP4Exporter", "PNGSequenceExporter",
    "PngSequence", "VideoReader", "WebMExporter", "export_frames", "exporter_for", "load_image",
    "open_frames", "read_image",
]

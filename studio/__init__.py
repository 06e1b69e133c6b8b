"""X-Dyna Animation Studio: animate a photo of a person from a driving video."""

__version__ = "0.1.0"

"""Stand-in for torchvision (the PyPI wheel for torch 2.13 needs CUDA torch ops).

Only what the official ``utils/load_validation_control.py`` uses on the image path is provided:
``transforms.Compose/Lambda/Normalize/Resize``. ``Resize`` keeps an image that already has the
requested size unchanged (what torchvision's functional ``resize`` does) and refuses any other
size, so the harness must hand over pose frames at the target size.
"""
__version__ = "0.0-stub"

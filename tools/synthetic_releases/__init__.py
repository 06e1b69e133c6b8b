"""Per-backend synthetic release writers used by ``tools/make_synthetic_release.py --backend NAME``."""

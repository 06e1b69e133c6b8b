"""On-disk cache of extraction results, keyed by video content and extractor version.

The cache folder is ``$STUDIO_CACHE_DIR/extract`` when the environment variable is set, else
the platform's user cache folder (``platformdirs.user_cache_dir("xdyna-studio")``) + ``extract``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from studio.core.errors import StudioError

CACHE_ENV = "STUDIO_CACHE_DIR"
_APP = "xdyna-studio"
_SAMPLE = 1 << 16  # bytes per sampled chunk
_SAMPLES = 32


def cache_root() -> Path:
    """The studio's cache folder (not created here)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir(_APP))


def file_fingerprint(path: str | Path) -> str:
    """A content fingerprint of a (possibly large) file, fast enough for every project open.

    Files up to 4 MiB are hashed whole; larger ones by their size plus 32 chunks of 64 KiB
    spread evenly over the file (including its first and last bytes), which changes whenever
    the video is re-encoded, trimmed or replaced.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        h = hashlib.sha256(f"size={size};".encode())
        with p.open("rb") as fh:
            if size <= _SAMPLE * _SAMPLES * 2:
                h.update(fh.read())
            else:
                step = (size - _SAMPLE) / (_SAMPLES - 1)
                for k in range(_SAMPLES):
                    fh.seek(int(k * step))
                    h.update(fh.read(_SAMPLE))
    except OSError as exc:
        raise StudioError(
            f"Cannot read {p.name}", f"{p} could not be read to fingerprint it. Check that it exists.",
            repr(exc),
        ) from exc
    return h.hexdigest()[:24]


class ExtractionCache:
    """JSON files in ``root`` named by a key; unreadable entries count as misses."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else cache_root() / "extract"

    def path_for(self, key: str) -> Path:
        """The file an entry with ``key`` lives in."""
        return self.root / f"{key}.json"

    def load(self, key: str) -> dict[str, Any] | None:
        """The stored dict for ``key``, or ``None`` if absent or damaged."""
        path = self.path_for(key)
        try:
            with path.open("r", encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def store(self, key: str, data: dict[str, Any]) -> Path:
        """Write ``data`` atomically; failures to write (read-only disk) are not fatal."""
        path = self.path_for(key)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            with tmp.open("w", encoding="utf-8") as fh:
                json.dump(data, fh)
            os.replace(tmp, path)
        except OSError:
            return path
        return path

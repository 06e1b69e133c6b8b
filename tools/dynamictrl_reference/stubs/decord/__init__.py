"""Stand-in for decord: imported by the official loaders, never called on the harness's path."""


class VideoReader:  # pragma: no cover - must not be used
    def __init__(self, *args, **kwargs) -> None:
        raise RuntimeError("decord stub: the harness feeds pose frames as images")


def cpu(index: int = 0) -> int:  # pragma: no cover
    return index

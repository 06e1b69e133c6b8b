"""One channel for errors a person can act on."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StudioError(Exception):
    """An error the GUI shows as a dialog and the CLI prints before exiting non-zero.

    Parameters
    ----------
    title:
        A short headline, e.g. ``"Cannot read the driving video"``.
    description:
        One or two sentences that name the offending file or value and say what to do.
    details:
        Optional technical details (the underlying exception, offending keys) for the
        fold-out part of the dialog or ``--verbose`` output.
    """

    title: str
    description: str
    details: str = field(default="")

    def __post_init__(self) -> None:
        super().__init__(self.title, self.description, self.details)

    def __str__(self) -> str:
        text = f"{self.title}: {self.description}"
        return f"{text}\n{self.details}" if self.details else text

    def __reduce__(self):  # keep pickling (multiprocessing, copies) working
        return (type(self), (self.title, self.description, self.details))


class RenderCancelled(Exception):
    """Raised inside long work when its :class:`~studio.core.cancel.CancelToken` was set."""

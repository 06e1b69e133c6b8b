"""Cooperative cancellation shared between the GUI thread and workers."""

from __future__ import annotations

import threading

from studio.core.errors import RenderCancelled


class CancelToken:
    """A flag set from any thread and polled by long work at every step or chunk."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the work to stop at its next check."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` has been called."""
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        """Raise :class:`RenderCancelled` if cancellation was requested."""
        if self._event.is_set():
            raise RenderCancelled()

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking early on cancel; returns ``cancelled``."""
        return self._event.wait(timeout)


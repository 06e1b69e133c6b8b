"""A quicker end for processes that held torch, diffusers or Qt: the interpreter's shutdown runs
full garbage collections over every object still alive (millions once torch, diffusers and
transformers are imported: 0.8 s of a ``python -m studio render`` or a helper process quitting).

:func:`freeze_at_exit` moves the survivors to the collector's permanent generation at exit, after
every other ``atexit`` handler (Ray's shutdown, multiprocessing's, logging's flush) has run, so
those collections have nothing to walk (0.14 s). Objects are still released by reference count as
the modules are torn down; only cyclic garbage left at exit is not collected, which an exiting
process does not need.
"""

from __future__ import annotations

import atexit
import gc

_registered = False


def freeze_at_exit() -> None:
    """Register the freeze once, as early as possible (``atexit`` runs handlers in reverse order,
    so it runs after the handlers registered later)."""
    global _registered
    if not _registered:
        atexit.register(gc.freeze)
        _registered = True

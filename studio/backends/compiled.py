"""A module's ``torch.compile``'d call that falls back to the module when compiling fails.

Shared by the torch backends' ``torch_compile`` options (StableAnimator's UNet and VAE decoder,
X-Dyna's UNet); any backend package may import it (it is below them, inside :mod:`studio.backends`,
and imports nothing of theirs). Compiling needs a C++ compiler on the CPU (inductor's generated
kernels) and Triton on CUDA; without them the first call raises inside torch, the module runs
eagerly instead and :attr:`Compiled.failure` says why, for the render to report. The model's own
errors (a wrong input) are raised as they would be without compiling. Imports without torch (the
message helpers are used by backends that must load where torch is missing, to say so).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn


def _graphs_compiled() -> int:
    """How many graphs dynamo has compiled in this process (its own count: shapes and guards alike)."""
    from torch._dynamo.utils import counters

    return counters["stats"]["unique_graphs"]


class Compiled:
    """A module's ``torch.compile``'d call, falling back to the module itself if compiling fails.

    ``compiles`` holds the wall time of every call that compiled (a new shape, or a guard that failed:
    dynamo's own graph count went up during the call); :attr:`pending` collects those times until
    :meth:`take_pending` (or the owner) reports them, so a render can say what compiling cost.
    """

    def __init__(self, module: "nn.Module", name: str, failures: list[str] | None = None,
                 dynamic: bool | None = False) -> None:
        import torch

        self.module, self.name = module, name
        #: ``dynamic``: torch.compile's (False: specialised to each shape; None: general after a recompile)
        self._fn = torch.compile(module, dynamic=dynamic)
        #: why compiling failed, shared by the calls of one pipeline (once one fails, none tries again)
        self.failures = failures if failures is not None else []
        self.compiles: list[float] = []
        self.pending: list[float] = []

    @property
    def failure(self) -> str | None:
        """Why compiling failed (this call's or a sibling's), or None."""
        return self.failures[0] if self.failures else None

    def __call__(self, *args, **kwargs):
        from torch._dynamo.exc import RecompileError

        if self.failures:
            return self.module(*args, **kwargs)
        graphs, t0 = _graphs_compiled(), time.perf_counter()
        try:
            out = self._fn(*args, **kwargs)
        except RecompileError:  # asked for (``error_on_recompile``, the tests): not a failure
            raise
        except Exception as e:
            out = self.module(*args, **kwargs)  # the model's own error is raised here, as without compiling
            lines = str(e).strip().splitlines()
            self.failures.append(f"{self.name}: {type(e).__name__}: {lines[0] if lines else ''}"[:300])
            return out
        if _graphs_compiled() > graphs:
            self.compiles.append(time.perf_counter() - t0)
            self.pending.append(self.compiles[-1])
        return out

    def take_pending(self) -> float | None:
        """Seconds of compiling since the last take (None when nothing compiled)."""
        done, self.pending = self.pending, []
        return sum(done) if done else None


#: What a failed compile needs, for the message that reports it.
FAILED_HINT = ("On the CPU torch.compile needs a C++ compiler (gcc or clang), on CUDA the triton package; or "
               "switch Compile off.")


def start_note(failure: str | None, where: str = "its first step") -> str:
    """The note a render with ``torch_compile`` on starts with: what compiling will cost, or, after a
    failure earlier in the session (``failure``), that it runs uncompiled."""
    if failure:
        return f"rendering uncompiled: torch.compile failed earlier in this session ({failure})"
    return (f"torch.compile is on: a size not rendered before in this session compiles at {where} (a minute or "
            "more on a CPU; a cancel takes effect when that is done)")


def compile_news(calls: list[Compiled], reported: set[str]) -> list[str]:
    """Messages for what ``calls`` compiled since the last news, and why compiling failed (said once:
    ``reported`` keeps the failures already said)."""
    done = [(c.name, c.take_pending()) for c in calls]
    out = [f"compiled for this size: {', '.join(f'{n} {t:.1f} s' for n, t in done if t is not None)} (reused "
           "by later steps and renders at this size)"] if any(t is not None for _, t in done) else []
    failure = next((c.failure for c in calls if c.failure), None)
    if failure and failure not in reported:
        reported.add(failure)
        out.append(f"torch.compile failed, rendering uncompiled ({failure}). {FAILED_HINT}")
    return out

"""Count the bytes of live tensors while PyTorch code runs: a device-memory model without a device.

:class:`MemoryTrace` is a ``TorchDispatchMode``: every tensor an operator returns is looked at,
each new storage is counted once (views and in-place results share their input's storage and
cost nothing) and uncounted again when Python frees it (a weak reference on the storage). So
the live total follows what a caching allocator reports as *allocated* (``torch.cuda.
memory_allocated``), minus its 512-byte rounding, for any device, including ``meta``: on the
meta device the full-size X-Dyna models run with no memory and no arithmetic, and the trace says
what they would allocate on a GPU.

Weights are not allocated inside the trace; ``weights()`` (e.g. :attr:`.placement.Placement.
device_bytes`) is added to every reading, so a peak is "activations + weights on the device".

Fused attention: on the meta device (as with the math kernel on any device) SDPA decomposes into
``bmm -> softmax -> bmm`` and would be counted with its (queries x keys) score matrix, which
the flash and memory-efficient kernels never hold. :class:`MemoryTrace` also is a
``TorchFunctionMode`` that catches ``scaled_dot_product_attention`` on the meta device and
allocates what a fused kernel allocates: the output and a float32 log-sum-exp row per query
(freed at once).

Phases: :meth:`MemoryTrace.phase` names what is running; :attr:`MemoryTrace.peaks` keeps the peak
of each phase.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

GiB = 2**30


def _tensors(obj: Any) -> Iterator[torch.Tensor]:
    """The tensors in an op's arguments or results (nested tuples, lists and dicts): what
    ``torch.utils._pytree.tree_flatten`` would find there, without its per-leaf overhead."""
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            yield from _tensors(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _tensors(item)


class _FusedAttention(TorchFunctionMode):
    """Replaces SDPA on the meta device by the allocations of a fused kernel."""

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: D105
        kwargs = kwargs or {}
        if func is F.scaled_dot_product_attention and args and args[0].device.type == "meta":
            query, key, value = args[:3]
            lse = torch.empty((*query.shape[:-1],), dtype=torch.float32, device=query.device)
            out = query.new_empty((*query.shape[:-1], value.shape[-1]))
            del lse
            return out
        return func(*args, **kwargs)


class MemoryTrace(TorchDispatchMode):
    """Live tensor bytes (plus ``weights()``) while active; see the module docstring.

    Usage::

        trace = MemoryTrace(weights=lambda: placement.device_bytes)
        with trace, trace.phase("unet"):
            unet(sample, t, states)
        trace.peaks["unet"], trace.peak
    """

    def __init__(self, weights: Callable[[], int] | None = None, device: torch.device | str | None = None) -> None:
        """``weights()`` is added to every reading; only tensors on ``device``'s type are counted
        (all tensors when ``None``)."""
        super().__init__()
        self.weights = weights or (lambda: 0)
        self.device_type = torch.device(device).type if device is not None else None
        self.live: dict[int, int] = {}
        self.live_bytes = 0
        self.peak = 0
        self.current = "other"
        self.peaks: dict[str, int] = {}
        self._attention = _FusedAttention()

    # -- context -----------------------------------------------------------------------------
    def __enter__(self) -> MemoryTrace:
        self._attention.__enter__()
        try:
            return super().__enter__()
        except BaseException:
            self._attention.__exit__(None, None, None)
            raise

    def __exit__(self, *exc: Any) -> None:
        try:
            super().__exit__(*exc)
        finally:
            self._attention.__exit__(*exc)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Attribute what runs inside to phase ``name`` (phases nest; the inner one counts)."""
        outer, self.current = self.current, name
        self._note()
        try:
            yield
        finally:
            self.current = outer

    def set_phase(self, name: str) -> None:
        """Attribute what runs from now on to ``name``."""
        self.current = name
        self._note()

    # -- counting ----------------------------------------------------------------------------
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: D105
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        # an output on an input's storage (a view, an in-place or out= result) allocated nothing,
        # also when that input was made before the trace (weights)
        inputs = {t.untyped_storage()._cdata for t in _tensors((args, kwargs))}
        for t in _tensors(out):
            self._track(t, inputs)
        self._note()
        return out

    def _track(self, t: torch.Tensor, inputs: set[int] = frozenset()) -> None:
        if self.device_type is not None and t.device.type != self.device_type:
            return
        storage = t.untyped_storage()
        key = storage._cdata
        if key in self.live or key in inputs:
            return
        size = storage.nbytes()
        self.live[key] = size
        self.live_bytes += size
        weakref.finalize(storage, self._free, key)

    def _free(self, key: int) -> None:
        size = self.live.pop(key, 0)
        self.live_bytes -= size

    def _note(self) -> None:
        total = self.live_bytes + self.weights()
        if total > self.peak:
            self.peak = total
        if total > self.peaks.get(self.current, 0):
            self.peaks[self.current] = total

    @property
    def total(self) -> int:
        """Live bytes now, weights included."""
        return self.live_bytes + self.weights()

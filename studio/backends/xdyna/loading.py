"""Safe checkpoint reading and strict state-dict loading.

* Pickle checkpoints (``.ckpt``/``.bin``/``.pth``) are opened only with
  ``torch.load(weights_only=True)``: a file that holds anything but tensors, plain containers
  and the harmless training extras of :data:`SAFE_EXTRAS` (numpy scalars such as a stored
  epoch or loss) is refused before any of its code could run. ``.safetensors`` files are read
  with safetensors.
* Both are memory-mapped (``mmap=True``; safetensors always maps): a tensor costs no memory
  until it is used, so a checkpoint is never held twice. Files in the old (pre-zip) torch
  format cannot be mapped and are read whole. :func:`materialise` moves a model to its device
  and dtype tensor by tensor and hands the mapped pages of each source tensor back to the
  kernel once it is copied, so a cast load holds little more than its result.
* A ``{"state_dict": ...}`` wrapper and leading ``module.`` prefixes (DDP) are removed, as the
  official loader does.
* Models are built with their parameters on the ``meta`` device and the checkpoint tensors
  are assigned into them, so nothing is initialised twice. Missing or unexpected keys and
  shape mismatches raise a :class:`~studio.core.errors.StudioError` naming the file and the
  first offending keys.
"""

from __future__ import annotations

import contextlib
import ctypes
import mmap
import os
import pickle
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import torch
from torch import nn

from studio.core.errors import StudioError

SHOW_KEYS = 5
CHECKPOINT_SUFFIXES = (".ckpt", ".bin", ".pth", ".pt", ".safetensors")


def _numpy_extras() -> list:
    """numpy scalar reconstruction and dtypes: what a stored ``np.int64(5)`` epoch unpickles to."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy ships with torch
        return []
    import importlib

    try:
        multiarray = importlib.import_module("numpy._core.multiarray")  # numpy >= 2
    except ImportError:
        multiarray = importlib.import_module("numpy.core.multiarray")
    extras = [multiarray.scalar, np.dtype]
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:  # numpy >= 1.25 pickles dtypes through their classes
        extras += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith("DType") and n != "StringDType"]
    return extras


#: Globals a checkpoint may reference beyond tensors and containers. Each only rebuilds a number
#: or a dtype; none can call anything else. Optimizer state and epoch counters are plain dicts,
#: lists and ints, which ``weights_only`` already accepts.
SAFE_EXTRAS: list = _numpy_extras()


def _refused(path: Path, err: Exception) -> StudioError:
    return StudioError(
        "Checkpoint refused",
        f"{path} contains Python objects other than tensors, which could run code when opened; "
        "it was not loaded. Download the checkpoint again from the official source.",
        str(err),
    )


def read_checkpoint(path: str | Path) -> Mapping:
    """The raw object stored in ``path`` (tensors and containers only)."""
    path = Path(path)
    if not path.is_file():
        raise StudioError("Checkpoint not found", f"{path} does not exist. Check the weights folder.")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except (SafetensorError, OSError, ValueError) as err:
            raise StudioError(
                "Cannot read checkpoint", f"{path} is not a valid safetensors file; download it again.", str(err)
            ) from err
    try:
        obj = _torch_load(path)
    except pickle.UnpicklingError as err:
        raise _refused(path, err) from err
    except (RuntimeError, EOFError, OSError, ValueError, TypeError, AttributeError) as err:
        if "weights_only" in str(err) or "Unsupported global" in str(err):
            raise _refused(path, err) from err
        raise StudioError(
            "Cannot read checkpoint", f"{path} is damaged or not a PyTorch checkpoint; download it again.", str(err)
        ) from err
    if not isinstance(obj, Mapping):
        raise StudioError(
            "Cannot read checkpoint",
            f"{path} holds a {type(obj).__name__}, not a dictionary of tensors. Check that it is the file the "
            "X-Dyna release names for this place, or download it again.",
        )
    return obj


def _torch_load(path: Path) -> object:
    """``torch.load`` with ``weights_only``, mapped when the file is in the zip format.

    A mapping is private (copy-on-write): replacing the file (a new download, a rename) does
    not change a loaded model; overwriting it in place while the studio runs is not supported.
    """
    with torch.serialization.safe_globals(SAFE_EXTRAS):
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as err:
            if "mmap" not in str(err) and "zipfile" not in str(err):
                raise
        return torch.load(path, map_location="cpu", weights_only=True)  # old format: read whole


def strip_wrappers(obj: Mapping, path: Path, subkey: str | None = None) -> dict[str, torch.Tensor]:
    """Unwrap ``state_dict``/``subkey`` containers and drop leading ``module.`` prefixes."""
    if subkey is not None:
        flat = {k[len(subkey) + 1 :]: v for k, v in obj.items() if str(k).startswith(subkey + ".")}
        if subkey not in obj and flat:  # safetensors exports flatten sections to "<section>.<key>"
            obj = {subkey: flat}
        if subkey not in obj or not isinstance(obj[subkey], Mapping):
            raise StudioError(
                "Checkpoint does not match the model",
                f"{path} has no '{subkey}' section (found: {', '.join(map(str, list(obj)[:SHOW_KEYS]))}).",
            )
        obj = obj[subkey]
    if "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    out: dict[str, torch.Tensor] = {}
    for key, value in obj.items():
        name = str(key)
        while name.startswith("module."):
            name = name[len("module.") :]
        if not isinstance(value, torch.Tensor):
            raise StudioError(
                "Checkpoint does not match the model",
                f"{path}: entry '{key}' is a {type(value).__name__}, not a tensor.",
            )
        out[name] = value
    return out


def read_state_dict(path: str | Path, subkey: str | None = None) -> dict[str, torch.Tensor]:
    """A flat ``{name: tensor}`` state dict from any supported checkpoint file."""
    path = Path(path)
    return strip_wrappers(read_checkpoint(path), path, subkey)


@contextlib.contextmanager
def empty_parameters() -> Iterator[None]:
    """Build modules with parameters on the ``meta`` device (buffers stay real)."""
    original = nn.Module.register_parameter

    def register(module: nn.Module, name: str, param: nn.Parameter | None) -> None:
        original(module, name, param)
        if param is not None:
            p = module._parameters[name]
            module._parameters[name] = nn.Parameter(p.to("meta"), requires_grad=False)

    nn.Module.register_parameter = register  # type: ignore[method-assign]
    try:
        yield
    finally:
        nn.Module.register_parameter = original  # type: ignore[method-assign]


def _align_prefix(model_keys: set[str], sd: dict[str, torch.Tensor], prefixes: tuple[str, ...]) -> dict:
    """Add or remove a known top-level prefix (e.g. ``text_model.``) when only that differs."""
    for prefix in prefixes:
        model_has = any(k.startswith(prefix) for k in model_keys)
        sd_has = any(k.startswith(prefix) for k in sd)
        if sd_has and not model_has:
            return {(k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in sd.items()}
        if model_has and not sd_has:
            return {(prefix + k if prefix + k in model_keys else k): v for k, v in sd.items()}
    return sd


def check_state_dict(
    model: nn.Module,
    sd: dict[str, torch.Tensor],
    source: str | Path,
    prefixes: tuple[str, ...] = (),
    renames: Mapping[str, str] | None = None,
) -> dict[str, torch.Tensor]:
    """``sd`` with names matched to ``model``; raises if any key or shape does not fit.

    Keys naming a non-persistent buffer of the model (e.g. CLIP ``position_ids``, stored by
    older exports) are dropped; ``renames`` maps legacy name fragments to current ones.
    """
    expected = model.state_dict(keep_vars=True)
    if renames:
        sd = {_rename(k, renames): v for k, v in sd.items()}
    sd = _align_prefix(set(expected), sd, prefixes)
    buffers = {n for n, _ in model.named_buffers()}
    sd = {k: v for k, v in sd.items() if k in expected or k not in buffers and not k.endswith("position_ids")}
    missing = [k for k in expected if k not in sd]
    unexpected = [k for k in sd if k not in expected]
    wrong = []
    for k, v in sd.items():
        if k in expected and tuple(v.shape) != tuple(expected[k].shape):
            target = tuple(expected[k].shape)
            if v.numel() == expected[k].numel() and v.dim() == 4 and len(target) == 2 and v.shape[2:] == (1, 1):
                sd[k] = v.reshape(target)  # 1x1 conv stored for a linear layer (old VAE exports)
            else:
                wrong.append(f"{k} {tuple(v.shape)} (model expects {target})")
    if missing or unexpected or wrong:
        parts = []
        if wrong:
            parts.append(f"{len(wrong)} tensors of the wrong shape: {', '.join(wrong[:SHOW_KEYS])}")
        if missing:
            parts.append(f"{len(missing)} missing keys: {', '.join(missing[:SHOW_KEYS])}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys: {', '.join(unexpected[:SHOW_KEYS])}")
        raise StudioError(
            "Checkpoint does not match the model",
            f"{source} does not fit {type(model).__name__}: {'; '.join(parts)}. Check that the file is "
            "the one the X-Dyna release names for this place and that its config.json matches it.",
            "\n".join(["missing: " + ", ".join(missing), "unexpected: " + ", ".join(unexpected), *wrong]),
        )
    return sd


def _rename(key: str, renames: Mapping[str, str]) -> str:
    for old, new in renames.items():
        if old in key:
            key = key.replace(old, new)
    return key


def load_into(
    model: nn.Module,
    sd: dict[str, torch.Tensor],
    source: str | Path,
    prefixes: tuple[str, ...] = (),
    renames: Mapping[str, str] | None = None,
) -> nn.Module:
    """Check ``sd`` against ``model`` and assign its tensors (the model may live on ``meta``)."""
    sd = check_state_dict(model, sd, source, prefixes, renames)
    model.load_state_dict(sd, strict=True, assign=True)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


class MappedPages:
    """The checkpoint files mapped into this process (from ``/proc/self/maps``; Linux only).

    A mapped tensor that has to be copied anyway (a cast, a move to a GPU) is read with
    ``pread`` from its file instead of through the mapping, so its pages never enter this
    process's memory; :meth:`release` drops any that did.
    """

    def __init__(self) -> None:
        self.ranges: list[tuple[int, int, int, str]] = []  # start, end, file offset, path
        self.page = mmap.PAGESIZE
        self.madvise = None
        self._fds: dict[str, int] = {}
        self._scratch: torch.Tensor | None = None
        if not sys.platform.startswith("linux"):
            return
        try:
            lines = Path("/proc/self/maps").read_text().splitlines()
            self.madvise = ctypes.CDLL(None, use_errno=True).madvise
        except (OSError, AttributeError):
            return
        self.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        for line in lines:
            parts = line.split(maxsplit=5)
            if len(parts) == 6 and parts[5].endswith(CHECKPOINT_SUFFIXES):
                start, end = (int(x, 16) for x in parts[0].split("-"))
                self.ranges.append((start, end, int(parts[2], 16), parts[5]))

    def __enter__(self) -> MappedPages:
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        self._scratch = None

    def _where(self, tensor: torch.Tensor) -> tuple[int, int, int, str] | None:
        """``(address, end address, file offset, path)`` of a mapped CPU tensor, else None."""
        if self.madvise is None or tensor.device.type != "cpu" or tensor.numel() == 0:
            return None
        ptr = tensor.data_ptr()
        end = ptr + tensor.numel() * tensor.element_size()
        for lo, hi, offset, path in self.ranges:
            if lo <= ptr and end <= hi:
                return ptr, end, offset + ptr - lo, path
        return None

    def read(self, tensor: torch.Tensor) -> torch.Tensor | None:
        """The values of a mapped, contiguous ``tensor`` read from its file into a scratch buffer.

        The result is valid until the next :meth:`read` (one buffer is reused, so reading tensor
        after tensor leaves no freed memory behind); ``None`` when ``tensor`` is not mapped or the
        file no longer holds it.
        """
        where = self._where(tensor) if tensor.is_contiguous() else None
        if where is None:
            return None
        ptr, end, offset, path = where
        if self._scratch is None or self._scratch.numel() < end - ptr:
            self._scratch = None
            self._scratch = torch.empty(end - ptr, dtype=torch.uint8)
        buf = self._scratch[: end - ptr]
        view = memoryview(buf.numpy())
        if path not in self._fds:
            self._fds[path] = os.open(path, os.O_RDONLY)
        done = 0
        while done < end - ptr:
            n = os.preadv(self._fds[path], [view[done:]], offset + done)
            if n <= 0:  # the file shrank under us
                return None
            done += n
        return buf.view(tensor.dtype).view(tensor.shape)

    def copy(self, tensor: torch.Tensor, device: torch.device | str, dtype: torch.dtype) -> torch.Tensor:
        """``tensor`` on ``device`` in ``dtype``: read from its file when it is mapped and contiguous."""
        raw = self.read(tensor)
        if raw is None:
            new = tensor.to(device=device, dtype=dtype)
            self.release(tensor)
            return new
        new = raw.to(device=device, dtype=dtype)
        return new.clone() if new.data_ptr() == raw.data_ptr() else new  # never hand out the scratch buffer

    def release(self, tensor: torch.Tensor) -> None:
        """Drop the pages of a mapped, already copied ``tensor`` from this process's memory.

        Only mappings of checkpoint files are touched, and loaded tensors are never written:
        their pages are re-read from the file if anything used them again, so no value changes.
        """
        where = self._where(tensor)
        if where is None:
            return
        first = -(-where[0] // self.page) * self.page
        last = where[1] // self.page * self.page
        if last > first:
            self.madvise(first, last - first, 4)  # MADV_DONTNEED


def materialise(module: nn.Module, device: torch.device | str, dtype: torch.dtype) -> nn.Module:
    """Move ``module`` to ``device``/``dtype`` one tensor at a time (integer buffers keep their dtype).

    A tensor mapped from a checkpoint file that needs a copy is read from the file with
    ``pread`` (:class:`MappedPages`), so a float16 load of a float32 file peaks near the float16
    size, not at both sizes together. A tensor that needs no copy (CPU float32 from a float32
    file) stays mapped.
    """
    device = torch.device(device)
    done: dict[int, torch.Tensor] = {}  # id of a source parameter/buffer -> its moved version

    def move(t: torch.Tensor) -> torch.Tensor:
        target = dtype if t.is_floating_point() else t.dtype
        if t.dtype == target and (t.device == device or device.type == "cpu" == t.device.type):
            return t
        if device.type == "meta":  # shapes only: nothing to read
            return t.to(device=device, dtype=target)
        return pages.copy(t, device, target)

    with MappedPages() as pages:
        _move_all(module, move, done)
    return module.eval()


def _move_all(module: nn.Module, move, done: dict[int, torch.Tensor]) -> None:
    """Replace every parameter and buffer of ``module`` by ``move(tensor)`` (shared ones once)."""
    for mod in module.modules():
        for name, p in list(mod._parameters.items()):
            if p is not None:
                if id(p) not in done:
                    done[id(p)] = nn.Parameter(move(p.data), requires_grad=False)
                mod._parameters[name] = done[id(p)]
        for name, b in list(mod._buffers.items()):
            if b is not None:
                if id(b) not in done:
                    done[id(b)] = move(b)
                mod._buffers[name] = done[id(b)]

"""Optional record of a render's intermediate tensors (for parity checks against golden cases).

Pass ``trace=Trace()`` to the pipeline; it stores copies (float32 numpy) of what the golden
cases' ``expected/`` folder holds, under the same names. Without a trace nothing is copied.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import torch


def _np(x: torch.Tensor) -> np.ndarray:
    return x.detach().to("cpu", torch.float32).numpy().copy()


class Trace:
    """Named arrays and per-step lists captured during one render."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.lists: dict[str, list[np.ndarray]] = defaultdict(list)
        self.steps: list[dict] = []

    def put(self, name: str, value: torch.Tensor) -> None:
        """Store ``value`` under ``name`` (overwriting)."""
        self.arrays[name] = _np(value)

    def add(self, name: str, value: torch.Tensor) -> None:
        """Append ``value`` to the list ``name``."""
        self.lists[name].append(_np(value))

    def add_step(self, index: int, t: int, offset: int, windows: Sequence[Sequence[int]],
                 latents_in: torch.Tensor, eps: torch.Tensor, latents_out: torch.Tensor) -> None:
        """Record one denoising step: its windows and the latents/eps around the DDIM update."""
        self.steps.append({"step": index, "t": int(t), "offset": int(offset), "windows": [list(map(int, w)) for w in windows]})
        self.add("step_latents_in", latents_in)
        self.add("step_eps_fused", eps)
        self.add("step_latents_out", latents_out)

    def controlnet_hook(self):
        """A callback storing the first residuals each ControlNet computes (``<name>_call0_*``)."""
        seen: set[str] = set()

        def hook(name: str, frames: list[int], down: list[torch.Tensor], mid: torch.Tensor) -> None:
            if name in seen:
                return
            seen.add(name)
            for k, d in enumerate(down):
                self.put(f"{name}_call0_down_{k:02d}", d)
            self.put(f"{name}_call0_mid", mid)

        return hook

    def result(self) -> dict[str, np.ndarray]:
        """Every captured array; per-step lists are stacked on a new first axis."""
        out = dict(self.arrays)
        for name, items in self.lists.items():
            if name == "unet_window_outputs":
                continue
            out[name] = np.stack(items)
        wins = self.lists.get("unet_window_outputs")
        if wins:
            per_step = len(wins) // max(len(self.steps), 1)
            if per_step * len(self.steps) == len(wins):
                out["unet_window_outputs"] = np.stack(wins).reshape(len(self.steps), per_step, *wins[0].shape)
        return out

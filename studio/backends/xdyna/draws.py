"""Every random draw of an X-Dyna render, so a render can be reproduced or replayed exactly.

A render makes five kinds of draws, in this order (the official pipeline's order):

0. ``vae_noise`` ``(1, 4, h, w)``: the eps of the reference latent sample,
   ``ref = (mean + std * eps) * 0.18215``;
1. ``blur_mask_uniform`` ``(1, 4, N+1, h, w)``: u, with mask ``u >= 0.5`` mixing the repeated
   reference latent with its Gaussian-blurred copy;
2. ``blur_sigma``: the blur's sigma (the official range is [18, 18], so always 18);
3. ``init_noise`` ``(1, 4, N+1, h, w)``: the noise that takes the mix to the first timestep;
4. ``window_offsets``: one integer in ``[0, context)`` per denoising step (reference schedule;
   drawn for every step even when unused, like the official code).

:meth:`Draws.from_seed` makes them all from one CPU ``torch.Generator`` seeded with the render
seed (draws 0-3 in that order), then seeds a numpy generator with one more 63-bit integer from
it for the offsets. They are made on the CPU in float32 whatever device renders, so a seed
gives the same draws on every machine. To replay a render exactly, keep its draws
(:meth:`save`/:meth:`load`, a ``.npz``) or build them from another source
(:meth:`from_replay_folder` reads a golden case's ``replay/``) and pass ``draws=`` to the
pipeline instead of ``seed=``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from studio.core.errors import StudioError

#: The official ``GaussianBlur(kernel_size=9, sigma=(18, 18))``.
BLUR_SIGMA_RANGE = (18.0, 18.0)


@dataclass(frozen=True, eq=False)
class Draws:
    """The random inputs of one render (CPU float32 tensors, plus Python ints)."""

    vae_noise: torch.Tensor
    blur_mask_uniform: torch.Tensor
    blur_sigma: float
    init_noise: torch.Tensor
    window_offsets: tuple[int, ...]

    @property
    def n_frames(self) -> int:
        """Frames of the clip (reference excluded)."""
        return int(self.init_noise.shape[2]) - 1

    @property
    def latent_size(self) -> tuple[int, int]:
        """``(h, w)`` of the latents."""
        return int(self.vae_noise.shape[-2]), int(self.vae_noise.shape[-1])

    @classmethod
    def from_seed(cls, seed: int, n_frames: int, latent_size: tuple[int, int], steps: int, context: int = 16) -> Draws:
        """Every draw of a render of ``n_frames`` frames at latent size ``(h, w)`` from ``seed``."""
        h, w = latent_size
        gen = torch.Generator(device="cpu").manual_seed(int(seed))
        vae_noise = torch.randn((1, 4, h, w), generator=gen, dtype=torch.float32)
        mask_u = torch.rand((1, 4, n_frames + 1, h, w), generator=gen, dtype=torch.float32)
        lo, hi = BLUR_SIGMA_RANGE
        sigma = float(torch.empty(1).uniform_(lo, hi, generator=gen).item())
        init_noise = torch.randn((1, 4, n_frames + 1, h, w), generator=gen, dtype=torch.float32)
        offset_seed = int(torch.randint(0, 2**62, (1,), generator=gen).item())
        rng = np.random.default_rng(offset_seed)
        offsets = tuple(int(o) for o in rng.integers(0, context, size=steps))
        return cls(vae_noise, mask_u, sigma, init_noise, offsets)

    def check(self, n_frames: int, latent_size: tuple[int, int], steps: int) -> None:
        """Raise if these draws do not fit a render of this size."""
        h, w = latent_size
        problems = []
        if tuple(self.vae_noise.shape) != (1, 4, h, w):
            problems.append(f"vae_noise {tuple(self.vae_noise.shape)} != {(1, 4, h, w)}")
        for name in ("blur_mask_uniform", "init_noise"):
            shape = tuple(getattr(self, name).shape)
            if shape != (1, 4, n_frames + 1, h, w):
                problems.append(f"{name} {shape} != {(1, 4, n_frames + 1, h, w)}")
        if len(self.window_offsets) < steps:
            problems.append(f"{len(self.window_offsets)} window offsets for {steps} steps")
        if problems:
            raise StudioError(
                "Recorded draws do not fit this render",
                f"The draws were made for another clip size or step count: {'; '.join(problems)}. "
                "Render with a seed instead, or with the settings the draws were recorded for.",
            )

    def save(self, path: str | Path) -> None:
        """Write the draws to a ``.npz`` file."""
        np.savez(
            Path(path),
            vae_noise=self.vae_noise.numpy(),
            blur_mask_uniform=self.blur_mask_uniform.numpy(),
            blur_sigma=np.float32(self.blur_sigma),
            init_noise=self.init_noise.numpy(),
            window_offsets=np.asarray(self.window_offsets, np.int64),
        )

    @classmethod
    def load(cls, path: str | Path) -> Draws:
        """Read draws written by :meth:`save`."""
        try:
            with np.load(Path(path)) as z:
                return cls(
                    torch.from_numpy(z["vae_noise"].astype(np.float32)),
                    torch.from_numpy(z["blur_mask_uniform"].astype(np.float32)),
                    float(z["blur_sigma"]),
                    torch.from_numpy(z["init_noise"].astype(np.float32)),
                    tuple(int(o) for o in z["window_offsets"]),
                )
        except (OSError, KeyError, ValueError) as err:
            raise StudioError("Cannot read recorded draws", f"{path} is not a draws file.", str(err)) from err

    @classmethod
    def from_replay_folder(cls, folder: str | Path) -> Draws:
        """Draws recorded by the golden-case harness (``replay/replay.json`` + ``.npy`` files)."""
        folder = Path(folder)
        try:
            entries = json.loads((folder / "replay.json").read_text())["draws"]
            by_name = {e["name"]: np.load(folder / e["file"]) for e in entries}
        except (OSError, KeyError, ValueError) as err:
            raise StudioError("Cannot read recorded draws", f"{folder} holds no readable replay.json.", str(err)) from err
        offsets = [  # in call order, which is step order
            int(np.asarray(by_name[e["name"]]).reshape(()))
            for e in sorted(entries, key=lambda e: e["index"])
            if e["name"].startswith("window_offset_step")
        ]
        try:
            return cls(
                torch.from_numpy(np.asarray(by_name["vae_latent_sample_noise"], np.float32)),
                torch.from_numpy(np.asarray(by_name["blur_mask_uniform"], np.float32)),
                float(np.asarray(by_name["gaussian_blur_sigma"]).reshape(-1)[0]),
                torch.from_numpy(np.asarray(by_name["init_noise"], np.float32)),
                tuple(offsets),
            )
        except KeyError as err:
            raise StudioError("Cannot read recorded draws", f"{folder}: draw {err} is missing.") from err

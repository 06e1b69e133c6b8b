"""StableAnimator's render options (pydantic): what the official ``inference_basic.py`` exposes.

Torch-free. Defaults are the official command line's (``command_basic_infer.sh``): 25 steps,
guidance 3.0, tiles of 16 frames with overlap 4, noise augmentation 0.02, VAE decode in chunks of
4 frames; the seed is the one ``inference_basic.py`` hard-codes. ``min_guidance`` below
``max_guidance`` ramps the guidance linearly over the clip (the pipeline supports it; the
official script passes one value as both).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

OFFICIAL_SEED = 23123134


class StableAnimatorOptions(BaseModel):
    """Options of one StableAnimator render."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: int = Field(25, ge=1, le=200, description="Euler denoising steps.")
    min_guidance: float = Field(3.0, ge=0.0, le=20.0, description="Guidance on the first frame.")
    max_guidance: float = Field(3.0, ge=0.0, le=20.0, description="Guidance on the last frame (linear in between).")
    tile_size: int = Field(16, ge=2, le=32, description="Frames per temporal tile (frame 0 leads every tile).")
    tile_overlap: int = Field(4, ge=0, le=31, description="Frames shared by neighbouring tiles.")
    face_strength: float = Field(1.0, ge=0.0, le=2.0, description="Weight of the ID tokens' attention (1 = official).")
    noise_aug_strength: float = Field(0.02, ge=0.0, le=1.0, description="Noise added to the photo before encoding.")
    decode_chunk_size: int = Field(4, ge=1, le=32, description="Frames the VAE decodes together.")
    seed: int = Field(OFFICIAL_SEED, ge=0, lt=2**63, description="Seed of the noise (CPU generator).")

    @model_validator(mode="after")
    def _overlap_below_tile(self) -> "StableAnimatorOptions":
        if self.tile_overlap >= self.tile_size:
            raise ValueError(f"tile_overlap ({self.tile_overlap}) must be smaller than tile_size ({self.tile_size})")
        return self

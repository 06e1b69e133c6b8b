"""StableAnimator's render options (torch-free): what the official ``inference_basic.py`` exposes.

Defaults are the official command line's (``command_basic_infer.sh``): 25 steps, guidance 3.0,
tiles of 16 frames with overlap 4, noise augmentation 0.02, VAE decode in chunks of 4 frames.
``min_guidance`` below ``max_guidance`` ramps the guidance linearly over the clip (the pipeline
supports it; the official script passes one value as both). The seed is the shared render seed.
``hjb`` switches on the official "pro" path's HJB face optimisation (``inference_op.py``; its
refine-step range and iterations are that script's ``--start_refine_step``, ``--end_refine_step``
and ``--num_optimization_iter``, defaults from ``command_op_infer.sh``); it needs
``Animation/glintr100_torch.pth``. ``model_offload`` keeps the models in CPU memory and brings each to
the GPU only for its part of the render (:mod:`.placement`): less GPU memory, the same frames.
``torch_compile`` runs the UNet and the final decode through ``torch.compile`` (:mod:`.compiled`):
faster renders after a first one that compiles, frames equal up to float rounding.
"""

from __future__ import annotations

from pydantic import model_validator

from studio.core.options import BackendOptions, option

OFFICIAL_SEED = 23123134

#: GPU memory of the HJB path (bench/vram_model.py --backend stableanimator).
HJB_MEMORY_NOTE = ("GPU memory at 16 frames 512x512 float16: about 24.8 GiB with decode chunks of 4 frames, 9.7 GiB "
                   "with chunks of 1 (7.0 GiB without HJB); with model offload 20.5 / 5.5 GiB.")
#: GPU memory with and without model offload (bench/vram_model.py --backend stableanimator).
OFFLOAD_MEMORY_NOTE = ("GPU memory at 16 frames 512x512 float16: about 5.5 GiB instead of 7.0 GiB (the UNet's 2.9 GiB "
                       "of weights and its activations; every model resident holds 4.35 GiB of weights).")


class StableAnimatorOptions(BackendOptions):
    """Options of the StableAnimator renderer."""

    steps: int = option(25, ge=1, le=200, label="Steps",
                        help="Euler denoising steps. Time grows in proportion (every step runs the UNet twice per "
                        "tile); memory does not change.")
    min_guidance: float = option(3.0, ge=0.0, le=20.0, label="Guidance (first frame)",
                                 help="Guidance scale on the first frame; frames in between ramp linearly to the last "
                                 "frame's. No cost: both passes always run.")
    max_guidance: float = option(3.0, ge=0.0, le=20.0, label="Guidance (last frame)",
                                 help="Guidance scale on the last frame (the official command uses 3.0 for both).")
    tile_size: int = option(16, ge=2, le=32, label="Tile size",
                            help="Frames per temporal tile (frame 0 leads every tile; SVD-xt was trained on 16). "
                            "Memory per UNet call grows with it.")
    tile_overlap: int = option(4, ge=0, le=31, label="Tile overlap",
                               help="Frames shared by neighbouring tiles: smoother seams, more tiles, more time.")
    face_strength: float = option(1.0, ge=0.0, le=2.0, label="Face strength",
                                  help="Weight of the ID adapter's face attention (1 = the official strength). No cost.")
    noise_aug_strength: float = option(0.02, ge=0.0, le=1.0, label="Noise augmentation",
                                       help="Noise added to the photo before it is encoded (the official 0.02).")
    decode_chunk_size: int = option(4, ge=1, le=32, label="Decode chunk", advanced=True,
                                    help="Frames the VAE decodes together (the temporal decoder mixes them, so this "
                                    "changes the frames a little); memory of the decode grows with it.")

    model_offload: bool = option(False, how=True, label="Model offload",
                                 help="Keep every model in CPU memory and bring each to the GPU only for its part "
                                 "of the render: CLIP, face encoder, VAE encoder and PoseNet while preparing, the UNet "
                                 "while denoising, the VAE decoder while decoding (with ArcFace in HJB steps). "
                                 + OFFLOAD_MEMORY_NOTE + " Slower by the moves (the 4.35 GiB of weights in and "
                                 "out per render, and the UNet out and back at every HJB step). Same frames.")

    torch_compile: bool = option(False, how=True, label="Compile (torch.compile)", flag="compile",
                                 help="Compile the UNet and the VAE decoder into fused kernels (inductor; a C++ "
                                 "compiler on the CPU, Triton on CUDA). The first render at a size compiles first "
                                 "(90-140 s on a 2-core CPU for the tiny test release, about 10 s once "
                                 "inductor's disk cache holds it); later steps and renders at that size take about "
                                 "0.65-0.84x the uncompiled time on the CPU. Frames equal up to float rounding. Not "
                                 "with model offload. If compiling fails the render runs uncompiled and says why.")

    hjb: bool = option(False, label="HJB face optimisation",
                       help="The official 'pro' path: in the refine steps the clean-latent estimate is optimised "
                       "(Adam) so the decoded faces' ArcFace embedding matches the photo's. Needs "
                       "Animation/glintr100_torch.pth. Costly: every refine iteration decodes the clip with "
                       "gradients and backpropagates through the VAE decoder and ArcFace; " + HJB_MEMORY_NOTE)
    hjb_start_step: int = option(0, ge=0, le=199, requires="hjb", label="HJB first step",
                                 help="First denoising step (0-based) that refines the face (official --start_refine_step).")
    hjb_end_step: int = option(20, ge=0, le=199, requires="hjb", label="HJB last step",
                               help="Last denoising step (0-based, included) that refines the face "
                               "(official --end_refine_step).")
    hjb_iterations: int = option(3, ge=1, le=20, requires="hjb", label="HJB iterations",
                                 help="Adam iterations per refine step (official --num_optimization_iter); time grows "
                                 "in proportion, memory does not.")

    @model_validator(mode="after")
    def _overlap_below_tile(self) -> "StableAnimatorOptions":
        if self.tile_overlap >= self.tile_size:
            raise ValueError(f"tile_overlap ({self.tile_overlap}) must be smaller than tile_size ({self.tile_size})")
        if self.torch_compile and self.model_offload:
            raise ValueError("torch_compile and model_offload cannot be combined (offload moves weights during the "
                             "calls compile would fuse); switch one off")
        if self.hjb_end_step < self.hjb_start_step:
            raise ValueError(f"hjb_end_step ({self.hjb_end_step}) must not be before hjb_start_step "
                             f"({self.hjb_start_step})")
        return self

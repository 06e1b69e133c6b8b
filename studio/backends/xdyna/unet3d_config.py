"""The SD ``unet/config.json`` values the X-Dyna UNet3D is built from (:class:`UNet3DConfig`).

Reading a config refuses the settings X-Dyna never uses (cross-attention variants, class
embeddings, other block types, ...) with a :class:`~studio.core.errors.StudioError` naming the
key, so a wrong ``unet`` folder fails before any weight is read. No torch here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from studio.core.errors import StudioError

#: The SD1.5 block layout (suffixes ``2D``/``3D`` stripped) that X-Dyna turns into 3-D blocks.
DOWN_TYPES = ("CrossAttnDownBlock", "CrossAttnDownBlock", "CrossAttnDownBlock", "DownBlock")
UP_TYPES = ("UpBlock", "CrossAttnUpBlock", "CrossAttnUpBlock", "CrossAttnUpBlock")

# SD config keys whose non-default values would change the network in ways X-Dyna never uses.
_MUST_BE_DEFAULT: dict[str, Any] = {
    "act_fn": "silu",
    "only_cross_attention": False,
    "dual_cross_attention": False,
    "upcast_attention": False,
    "class_embed_type": None,
    "num_class_embeds": None,
    "resnet_time_scale_shift": "default",
    "addition_embed_type": None,
    "time_embedding_type": "positional",
    "encoder_hid_dim": None,
    "mid_block_type": "UNetMidBlock2DCrossAttn",
    "conv_in_kernel": 3,
    "conv_out_kernel": 3,
    "transformer_layers_per_block": 1,
    "num_attention_heads": None,
}


@dataclass(frozen=True)
class UNet3DConfig:
    """The SD ``unet/config.json`` values the X-Dyna UNet3D uses (SD1.5 defaults)."""

    in_channels: int = 4
    out_channels: int = 4
    block_out_channels: tuple[int, int, int, int] = (320, 640, 1280, 1280)
    layers_per_block: int = 2
    attention_head_dim: tuple[int, int, int, int] = (8, 8, 8, 8)
    cross_attention_dim: int = 768
    norm_num_groups: int = 32
    norm_eps: float = 1e-5
    flip_sin_to_cos: bool = True
    freq_shift: int = 0
    downsample_padding: int = 1
    mid_block_scale_factor: float = 1.0
    center_input_sample: bool = False
    use_linear_projection: bool = False

    @classmethod
    def from_sd_config(cls, config: Mapping[str, Any]) -> "UNet3DConfig":
        """Read an SD ``unet/config.json`` dict; unsupported settings raise :class:`StudioError`."""
        for key, default in _MUST_BE_DEFAULT.items():
            value = config.get(key, default)
            if isinstance(default, int) and isinstance(value, (list, tuple)):
                ok = all(v == default for v in value)
            else:
                ok = value == default
            if not ok:
                raise StudioError(
                    "Unsupported UNet config",
                    f"unet/config.json sets {key}={value!r}; the X-Dyna UNet3D needs {default!r} (SD1.5 layout).",
                )
        _check_block_types(config.get("down_block_types"), DOWN_TYPES, "down_block_types")
        _check_block_types(config.get("up_block_types"), UP_TYPES, "up_block_types")
        channels = tuple(int(c) for c in config.get("block_out_channels", cls.block_out_channels))
        if len(channels) != 4:
            raise StudioError(
                "Unsupported UNet config",
                f"block_out_channels must have 4 entries like SD1.5, got {list(channels)}.",
            )
        heads = config.get("attention_head_dim", 8)
        heads = tuple(int(h) for h in heads) if isinstance(heads, (list, tuple)) else (int(heads),) * 4
        if len(heads) != 4:
            raise StudioError("Unsupported UNet config", f"attention_head_dim must be an int or 4 ints, got {heads}.")
        parsed = cls(
            in_channels=int(config.get("in_channels", 4)),
            out_channels=int(config.get("out_channels", 4)),
            block_out_channels=channels,  # type: ignore[arg-type]
            layers_per_block=int(config.get("layers_per_block", 2)),
            attention_head_dim=heads,  # type: ignore[arg-type]
            cross_attention_dim=int(config.get("cross_attention_dim", 768)),
            norm_num_groups=int(config.get("norm_num_groups", 32)),
            norm_eps=float(config.get("norm_eps", 1e-5)),
            flip_sin_to_cos=bool(config.get("flip_sin_to_cos", True)),
            freq_shift=int(config.get("freq_shift", 0)),
            downsample_padding=int(config.get("downsample_padding", 1)),
            mid_block_scale_factor=float(config.get("mid_block_scale_factor", 1.0)),
            center_input_sample=bool(config.get("center_input_sample", False)),
            use_linear_projection=bool(config.get("use_linear_projection", False)),
        )
        parsed.validate()
        return parsed

    def validate(self) -> None:
        """Raise :class:`StudioError` if channel counts cannot be split into groups/heads."""
        for channels, heads in zip(self.block_out_channels, self.attention_head_dim):
            if channels % self.norm_num_groups or channels % heads:
                raise StudioError(
                    "Unsupported UNet config",
                    f"block_out_channels entry {channels} must be divisible by norm_num_groups "
                    f"({self.norm_num_groups}) and by its attention_head_dim (number of heads, {heads}).",
                )
        if self.layers_per_block < 1:
            raise StudioError("Unsupported UNet config", "layers_per_block must be at least 1.")
        if self.downsample_padding != 1:
            raise StudioError(
                "Unsupported UNet config",
                f"downsample_padding must be 1 (as in SD1.5 and the official code), got {self.downsample_padding}.",
            )


def _check_block_types(types: Sequence[str] | None, expected: tuple[str, ...], key: str) -> None:
    if types is None:
        return
    stripped = tuple(t.removesuffix("2D").removesuffix("3D") for t in types)
    if stripped != expected:
        raise StudioError(
            "Unsupported UNet config",
            f"{key} is {list(types)}; X-Dyna builds the SD1.5 layout {[t + '3D' for t in expected]}.",
        )

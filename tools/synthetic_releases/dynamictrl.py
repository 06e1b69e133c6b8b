"""Write a synthetic DynamiCtrl release: random weights in the published layout and formats.

The published ``gulucaptain/DynamiCtrl`` folder is a diffusers pipeline folder
(``model_index.json``; ``transformer/``, ``vae/``, ``text_encoder/``: ``config.json`` +
safetensors; ``tokenizer/spiece.model`` + its JSON files; ``scheduler/scheduler_config.json``).
The key names and shapes are those of the studio's models, which load the official tiny release
strictly (see tests/fixtures/dynamictrl_tiny).

* ``--scale small``: the golden cases' tiny configs (2 heads x 16, 2 layers, VAE 8-16 channels,
  T5 d_model 32), drawn the way the harness draws them (``tools/dynamictrl_reference``:
  the same seeded generator over the sorted parameter names), so the small release with
  ``--seed 0`` has the golden release's tensors. Renders 64x64 frames on a CPU in seconds.
* ``--scale full``: CogVideoX1.5-5B-I2V's sizes (48 heads x 64, 42 layers, text 4096; VAE
  128-512 channels; T5-XXL encoder, d_model 4096, 24 layers): about 21 GB in bfloat16 (the
  release's dtype; ``--fp32`` doubles it). Tensors are drawn and written shard by shard
  (<= ``--shard-gb``), so writing never holds a whole model.

usage: make_synthetic_release.py DIR --backend dynamictrl [--scale small|full] [--fp32] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "dynamictrl_reference"))

import torch  # noqa: E402
from dc_tiny_release import SCHEDULER, SP_VOCAB, T5_EXTRA_IDS, TINY_T5, TINY_TRANSFORMER, TINY_VAE  # noqa: E402

SPEC_FILE = "synthetic_release.json"
GOLDEN_TOKENIZER = ROOT / "tests" / "fixtures" / "dynamictrl_tiny" / "release" / "tokenizer"

FULL_TRANSFORMER = dict(TINY_TRANSFORMER, num_attention_heads=48, attention_head_dim=64, time_embed_dim=512,
                        ofs_embed_dim=512, text_embed_dim=4096, num_layers=42)
#: CogVideoX 1.5 VAE: scaling_factor 0.7 and invert_scale_latents true (from TINY_VAE), as the
#: published THUDM/CogVideoX1.5-5B vae/config.json and diffusers'
#: scripts/convert_cogvideox_to_diffusers.py (--version 1.5); the rest are the class defaults.
FULL_VAE = dict(TINY_VAE, block_out_channels=[128, 256, 256, 512], layers_per_block=3, norm_num_groups=32)
FULL_T5 = dict(TINY_T5, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64,
               relative_attention_num_buckets=32, relative_attention_max_distance=128)
FULL_VOCAB = 32128


def write_tokenizer(folder: Path) -> int:
    """The golden release's tokenizer files (its 100-piece sentencepiece model was trained by the
    harness; sentencepiece versions train differently, so it is copied, not retrained)."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in sorted(GOLDEN_TOKENIZER.iterdir()):
        (folder / f.name).write_bytes(f.read_bytes())
    return SP_VOCAB + T5_EXTRA_IDS


def draw(name: str, shape: torch.Size, gen: torch.Generator) -> torch.Tensor:
    """The harness's redraw rule: weights N(0, 1/fan_in), norm scales 1 + 0.1 N, else 0.05 N."""
    if len(shape) >= 2:
        fan_in = math.prod(shape[1:])
        return torch.randn(shape, generator=gen) / math.sqrt(fan_in)
    if "norm" in name and name.endswith("weight"):
        return 1.0 + 0.1 * torch.randn(shape, generator=gen)
    return 0.05 * torch.randn(shape, generator=gen)


def write_model(model: torch.nn.Module, folder: Path, basename: str, gen: torch.Generator, config: dict,
                dtype: torch.dtype, shard_bytes: int) -> list[str]:
    """Draw every parameter of the (meta-device) ``model`` in sorted-name order and write them as
    safetensors shards of at most ``shard_bytes`` (with an index when more than one); one shard
    is in memory at a time."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    itemsize = torch.empty((), dtype=dtype).element_size()
    groups: list[list[tuple[str, torch.Size]]] = [[]]
    size = 0
    for name, p in sorted(model.named_parameters()):
        nbytes = p.numel() * itemsize
        if groups[-1] and size + nbytes > shard_bytes:
            groups.append([])
            size = 0
        groups[-1].append((name, p.shape))
        size += nbytes
    names = ([f"{basename}.safetensors"] if len(groups) == 1 else
             [f"{basename}-{i + 1:05d}-of-{len(groups):05d}.safetensors" for i in range(len(groups))])
    weight_map = {}
    for fname, group in zip(names, groups):
        shard = {name: draw(name, shape, gen).to(dtype) for name, shape in group}
        save_file(shard, str(folder / fname), metadata={"format": "pt"})
        weight_map.update({name: fname for name, _ in group})
        del shard
    if len(groups) > 1:
        (folder / f"{basename}.safetensors.index.json").write_text(
            json.dumps({"metadata": {}, "weight_map": weight_map}, indent=1) + "\n")
    return names


def write_release(out: Path, scale: str = "small", seed: int = 0, dtype: torch.dtype = torch.float32,
                  shard_gb: float = 2.0) -> dict:
    """The whole release under ``out``; returns what was written (also in ``synthetic_release.json``)."""
    from diffusers import AutoencoderKLCogVideoX
    from transformers import T5Config, T5EncoderModel

    from studio.backends.dynamictrl.transformer import DynamiCtrlTransformer

    small = scale == "small"
    out.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    shard = int(shard_gb * 2**30) if not small else 2**40
    vocab = write_tokenizer(out / "tokenizer") if small else _full_tokenizer(out / "tokenizer")
    t5_cfg = dict(TINY_T5 if small else FULL_T5, vocab_size=vocab if small else FULL_VOCAB)
    with torch.device("meta"):
        t5 = T5EncoderModel(T5Config(**t5_cfg))
    t5_json = dict(T5Config(**t5_cfg).to_dict(), architectures=["T5EncoderModel"])
    files = {"text_encoder": write_model(t5, out / "text_encoder", "model", gen, t5_json, dtype, shard)}
    vae_cfg = TINY_VAE if small else FULL_VAE
    with torch.device("meta"):
        vae = AutoencoderKLCogVideoX(**vae_cfg)
    files["vae"] = write_model(vae, out / "vae", "diffusion_pytorch_model", gen,
                               {"_class_name": "AutoencoderKLCogVideoX", **vae_cfg}, dtype, shard)
    tr_cfg = TINY_TRANSFORMER if small else FULL_TRANSFORMER
    with torch.device("meta"):
        tr = DynamiCtrlTransformer(**tr_cfg)
    files["transformer"] = write_model(tr, out / "transformer", "diffusion_pytorch_model", gen,
                                       {"_class_name": "DynamiCtrlTransformerModel", **tr_cfg}, dtype, shard)
    (out / "scheduler").mkdir(exist_ok=True)
    (out / "scheduler" / "scheduler_config.json").write_text(json.dumps(SCHEDULER, indent=2) + "\n")
    (out / "model_index.json").write_text(json.dumps({
        "_class_name": "DynamiCtrlAnimationPipeline", "scheduler": ["diffusers", "CogVideoXDDIMScheduler"],
        "text_encoder": ["transformers", "T5EncoderModel"], "tokenizer": ["transformers", "T5Tokenizer"],
        "transformer": ["diffusers", "CogVideoXTransformer3DModel"], "vae": ["diffusers", "AutoencoderKLCogVideoX"],
    }, indent=2) + "\n")
    spec = {"backend": "dynamictrl", "scale": scale, "seed": seed, "dtype": str(dtype).replace("torch.", ""),
            "files": files}
    (out / SPEC_FILE).write_text(json.dumps(spec, indent=2) + "\n")
    return spec


def _full_tokenizer(folder: Path) -> int:
    """Full scale: the tiny sentencepiece model stands in for T5's 32k one (the encoder's
    embedding table has the real 32128 rows; ids beyond the tiny model never occur)."""
    write_tokenizer(folder)
    return FULL_VOCAB


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path, metavar="DIR")
    ap.add_argument("--backend", default="dynamictrl", choices=("dynamictrl",))
    ap.add_argument("--scale", choices=("full", "small"), default="full")
    ap.add_argument("--fp32", action="store_true", help="full scale: float32 instead of bfloat16")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shard-gb", type=float, default=2.0)
    args = ap.parse_args(argv)
    dtype = torch.float32 if (args.scale == "small" or args.fp32) else torch.bfloat16
    spec = write_release(args.folder, args.scale, args.seed, dtype, args.shard_gb)
    print(json.dumps({"written": str(args.folder), **{k: v for k, v in spec.items() if k != "files"}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Write a tiny random DynamiCtrl release in the official layout (run in the official venv).

The folder looks like the published ``gulucaptain/DynamiCtrl`` checkpoint (a diffusers pipeline
folder): ``transformer/`` (the official ``DynamiCtrlTransformerModel`` with PA-LN,
CogVideoX 1.5 shape: 32 input channels, temporal patch 2, ofs embedding, 3D rotary),
``vae/`` (``AutoencoderKLCogVideoX``), ``text_encoder/`` (``T5EncoderModel``), ``tokenizer/``
(``T5Tokenizer`` over a sentencepiece model trained here on a few sentences, never
downloaded) and ``scheduler/``. Every parameter is redrawn from a seeded generator so that no
layer is the identity or zero (tiny widths; see ``TINY_*`` below).

Usage: ``python dc_tiny_release.py OUT --official DIR [--seed N] [--invert-scale-latents 0|1]``
(DIR: the official repo exported at commit 15eb5e9).
"""

from __future__ import annotations

import argparse
import io
import json
import math
from pathlib import Path

import torch

import harness_env

#: Tiny transformer hyper-parameters (the release: 48 heads x 64, 42 layers, text 4096).
TINY_TRANSFORMER = dict(
    num_attention_heads=2, attention_head_dim=16, in_channels=32, out_channels=16,
    flip_sin_to_cos=True, freq_shift=0, time_embed_dim=32, ofs_embed_dim=32, text_embed_dim=32,
    num_layers=2, dropout=0.0, attention_bias=True, sample_width=300, sample_height=300,
    sample_frames=81, patch_size=2, patch_size_t=2, temporal_compression_ratio=4,
    max_text_seq_length=226, activation_fn="gelu-approximate", timestep_activation_fn="silu",
    norm_elementwise_affine=True, norm_eps=1e-5, spatial_interpolation_scale=1.875,
    temporal_interpolation_scale=1.0, use_rotary_positional_embeddings=True,
    use_learned_positional_embeddings=False, patch_bias=False,
)
#: Tiny VAE (the release: 128/256/256/512 channels, 3 layers per block, 32 groups).
TINY_VAE = dict(
    in_channels=3, out_channels=3,
    down_block_types=["CogVideoXDownBlock3D"] * 4, up_block_types=["CogVideoXUpBlock3D"] * 4,
    block_out_channels=[8, 8, 16, 16], latent_channels=16, layers_per_block=1, act_fn="silu",
    norm_eps=1e-6, norm_num_groups=4, temporal_compression_ratio=4, sample_height=480,
    sample_width=720, scaling_factor=0.7, shift_factor=None, latents_mean=None, latents_std=None,
    force_upcast=True, use_quant_conv=False, use_post_quant_conv=False, invert_scale_latents=True,
)
#: Tiny T5 v1.1 encoder (the release: T5-XXL, d_model 4096).
TINY_T5 = dict(d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
               relative_attention_num_buckets=8, relative_attention_max_distance=20,
               feed_forward_proj="gated-gelu", dropout_rate=0.0, layer_norm_epsilon=1e-6,
               is_encoder_decoder=False, use_cache=False, tie_word_embeddings=False)
#: The CogVideoX 1.5 scheduler config (the script swaps it to CogVideoXDPMScheduler, trailing).
SCHEDULER = {
    "_class_name": "CogVideoXDDIMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
    "beta_start": 0.00085, "clip_sample": False, "clip_sample_range": 1.0,
    "num_train_timesteps": 1000, "prediction_type": "v_prediction", "rescale_betas_zero_snr": True,
    "sample_max_value": 1.0, "set_alpha_to_one": True, "snr_shift_scale": 1.0, "steps_offset": 0,
    "timestep_spacing": "trailing", "trained_betas": None,
}
#: Sentences the tiny sentencepiece model is trained on (any text works; this keeps it stable).
CORPUS = [
    "The person in the image is wearing a white dress with short sleeves.",
    "A woman with long blonde hair dances in a dimly lit urban street at night.",
    "The background shows a sunny beach with golden sand and palm trees.",
    "A man in a black jacket walks down a busy street with neon signs.",
    "The character stands amidst a chaotic and dynamic background.",
    "She is wearing a turquoise pendant necklace and a black belt.",
    "A dancer in a red shirt and blue jeans turns on a wooden stage.",
    "Soft snowflakes fall gently over a frozen river and tall pine trees.",
]
SP_VOCAB = 100
T5_EXTRA_IDS = 100


def train_tokenizer(folder: Path) -> int:
    """Train the tiny sentencepiece model (T5 ids: pad 0, eos 1, unk 2) and save a T5Tokenizer."""
    import sentencepiece as spm
    from transformers import T5Tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS * 4), model_writer=model, vocab_size=SP_VOCAB,
        model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        character_coverage=1.0, num_threads=1, minloglevel=2,
        normalization_rule_name="identity",
    )
    (folder / "spiece.model").write_bytes(model.getvalue())
    tok = T5Tokenizer(vocab_file=str(folder / "spiece.model"), extra_ids=T5_EXTRA_IDS, legacy=True)
    tok.model_max_length = 226
    tok.save_pretrained(folder)
    return len(tok)


def redraw(module: torch.nn.Module, gen: torch.Generator) -> None:
    """Replace every parameter with a seeded draw: weights ~ N(0, 1/fan_in), norm scales
    1 + 0.1 N, biases and other 1-D tensors 0.05 N (no zero or identity layer survives)."""
    with torch.no_grad():
        for name, p in sorted(module.named_parameters()):
            if p.ndim >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.05 * torch.randn(p.shape, generator=gen))


def write_release(out: Path, seed: int = 0, invert_scale_latents: bool = True) -> dict:
    """Write the whole tiny release under ``out``; returns the configs used."""
    from diffusers import AutoencoderKLCogVideoX, CogVideoXDDIMScheduler
    from transformers import T5Config, T5EncoderModel

    from dynamictrl.models.model_dynamictrl import DynamiCtrlTransformerModel

    out.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    vocab = train_tokenizer(out / "tokenizer")

    t5 = T5EncoderModel(T5Config(vocab_size=vocab, **TINY_T5))
    redraw(t5, gen)
    t5.save_pretrained(out / "text_encoder", safe_serialization=True)

    vae_cfg = dict(TINY_VAE, invert_scale_latents=bool(invert_scale_latents))
    vae = AutoencoderKLCogVideoX(**vae_cfg)
    redraw(vae, gen)
    vae.save_pretrained(out / "vae", safe_serialization=True)

    transformer = DynamiCtrlTransformerModel(**TINY_TRANSFORMER)
    redraw(transformer, gen)
    transformer.save_pretrained(out / "transformer", safe_serialization=True)

    CogVideoXDDIMScheduler.from_config(SCHEDULER).save_pretrained(out / "scheduler")
    index = {
        "_class_name": "DynamiCtrlAnimationPipeline", "_diffusers_version": "0.32.0",
        "scheduler": ["diffusers", "CogVideoXDDIMScheduler"],
        "text_encoder": ["transformers", "T5EncoderModel"],
        "tokenizer": ["transformers", "T5Tokenizer"],
        "transformer": ["diffusers", "CogVideoXTransformer3DModel"],
        "vae": ["diffusers", "AutoencoderKLCogVideoX"],
    }
    (out / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
    return {"transformer": TINY_TRANSFORMER, "vae": vae_cfg, "text_encoder": dict(TINY_T5, vocab_size=vocab),
            "scheduler": SCHEDULER, "seed": seed, "sentencepiece_vocab": SP_VOCAB, "extra_ids": T5_EXTRA_IDS}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--official", type=Path, required=True, help="exported official repo")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--invert-scale-latents", type=int, default=1)
    args = ap.parse_args()
    harness_env.setup(args.official)
    cfg = write_release(args.out, args.seed, bool(args.invert_scale_latents))
    print(json.dumps({"written": str(args.out), "vocab": cfg["text_encoder"]["vocab_size"]}))


if __name__ == "__main__":
    main()

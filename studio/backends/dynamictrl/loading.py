"""Load a DynamiCtrl release folder (the published diffusers layout) into our pipeline.

    RELEASE/
      transformer/config.json + diffusion_pytorch_model*.safetensors (DynamiCtrl, with PA-LN)
      vae/config.json + diffusion_pytorch_model.safetensors           (AutoencoderKLCogVideoX)
      text_encoder/config.json + model*.safetensors                   (T5EncoderModel)
      tokenizer/spiece.model                                           (T5 sentencepiece)
      scheduler/scheduler_config.json

The transformer's tensors are read from the memory-mapped safetensors file(s) one at a time
into a model built on the meta device (``assign=True``), so the peak is about one copy of the
weights; every key must be present with its shape, and a missing or mismatched one is a
:class:`StudioError` naming the file.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import torch

from studio.core.errors import StudioError

from studio.backends.dynamictrl.transformer import DynamiCtrlTransformer

#: Folder -> files that must exist in it (globs).
REQUIRED = {
    "transformer": ("config.json", "*.safetensors"),
    "vae": ("config.json", "*.safetensors"),
    "text_encoder": ("config.json", "*.safetensors"),
    "tokenizer": ("spiece.model",),
    "scheduler": ("scheduler_config.json",),
}


def check_release(folder: Path) -> list[str]:
    """What is missing from a release folder (empty: complete as far as files go)."""
    folder = Path(folder)
    if not folder.is_dir():
        return [f"{folder} is not a folder"]
    problems = []
    for sub, patterns in REQUIRED.items():
        for pattern in patterns:
            if not list((folder / sub).glob(pattern)):
                problems.append(f"{sub}/{pattern} is missing")
    return problems


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise StudioError("DynamiCtrl weights incomplete", f"{path} is missing.",
                          "Point the studio at the DynamiCtrl release folder (with transformer/, vae/, "
                          "text_encoder/, tokenizer/, scheduler/).") from exc
    except (OSError, ValueError) as exc:
        raise StudioError("DynamiCtrl weights unreadable", f"{path} is not valid JSON: {exc}.") from exc


def model_kwargs(cls: type, config: dict) -> dict:
    """The entries of a saved config that ``cls``'s constructor takes (``_name`` keys dropped)."""
    params = inspect.signature(cls.__init__).parameters
    return {k: v for k, v in config.items() if not k.startswith("_") and k in params}


def transformer_config(folder: Path) -> dict:
    """The transformer's constructor arguments from ``transformer/config.json``."""
    from diffusers import CogVideoXTransformer3DModel

    return model_kwargs(CogVideoXTransformer3DModel, read_json(Path(folder) / "transformer" / "config.json"))


def _safetensors_files(sub: Path) -> list[Path]:
    index = list(sub.glob("*.safetensors.index.json"))
    if index:
        names = sorted(set(read_json(index[0]).get("weight_map", {}).values()))
        files = [sub / n for n in names]
        missing = [f.name for f in files if not f.exists()]
        if missing:
            raise StudioError("DynamiCtrl weights incomplete",
                              f"{index[0]} lists {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not in {sub}.")
        return files
    files = sorted(sub.glob("*.safetensors"))
    if not files:
        raise StudioError("DynamiCtrl weights incomplete", f"{sub} has no .safetensors file.")
    return files


def load_transformer(folder: Path, device: str | torch.device = "cpu",
                     dtype: torch.dtype = torch.float32) -> DynamiCtrlTransformer:
    """The release's transformer with PA-LN, tensors streamed from the mmap'd safetensors."""
    from safetensors import safe_open

    sub = Path(folder) / "transformer"
    cfg = transformer_config(folder)
    with torch.device("meta"):
        model = DynamiCtrlTransformer(**cfg)
    expected = {k: v.shape for k, v in model.state_dict().items()}
    state: dict[str, torch.Tensor] = {}
    for path in _safetensors_files(sub):
        try:
            with safe_open(str(path), framework="pt", device="cpu") as f:
                for key in f.keys():
                    if key not in expected:
                        raise StudioError("DynamiCtrl weights do not match",
                                          f"{path} holds {key!r}, which the DynamiCtrl transformer "
                                          f"(config {sub / 'config.json'}) does not have.")
                    t = f.get_tensor(key)
                    if tuple(t.shape) != tuple(expected[key]):
                        raise StudioError("DynamiCtrl weights do not match",
                                          f"{path}: {key} has shape {tuple(t.shape)}, the config "
                                          f"({sub / 'config.json'}) needs {tuple(expected[key])}.")
                    state[key] = t.to(device=device, dtype=dtype)
        except StudioError:
            raise
        except Exception as exc:  # noqa: BLE001 - a damaged file of any kind
            raise StudioError("DynamiCtrl weights unreadable", f"{path} could not be read: {exc}.") from exc
    missing = sorted(set(expected) - set(state))
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise StudioError("DynamiCtrl weights incomplete",
                          f"{sub} has no {missing[0]}{more}: not a DynamiCtrl transformer with PA-LN?")
    model.load_state_dict(state, strict=True, assign=True)
    _materialise_buffers(model, device, dtype)
    return model.eval()


def _materialise_buffers(model: torch.nn.Module, device, dtype) -> None:
    """Buffers that were not in the file (none in CogVideoX 1.5) cannot stay on meta."""
    for name, buf in list(model.named_buffers()):
        if buf.is_meta:
            raise StudioError("DynamiCtrl weights incomplete", f"the transformer has no value for buffer {name}.")


def load_vae(folder: Path, dtype: torch.dtype = torch.float32):
    from diffusers import AutoencoderKLCogVideoX

    return AutoencoderKLCogVideoX.from_pretrained(Path(folder) / "vae", torch_dtype=dtype).eval()


def load_text_encoder(folder: Path, dtype: torch.dtype = torch.float32):
    from transformers import T5EncoderModel

    return T5EncoderModel.from_pretrained(Path(folder) / "text_encoder", dtype=dtype).eval()


def load_pipeline(folder: Path | str, device: str = "cpu", dtype: torch.dtype = torch.float32):
    """A :class:`~.pipeline.DynamiCtrlPipeline` for the release in ``folder``."""
    from studio.backends.dynamictrl.pipeline import DynamiCtrlPipeline
    from studio.backends.dynamictrl.text import PromptTokenizer

    folder = Path(folder)
    problems = check_release(folder)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise StudioError("DynamiCtrl weights incomplete", f"In {folder}: {problems[0]}{more}.",
                          "\n".join(problems))
    return DynamiCtrlPipeline(
        transformer=load_transformer(folder, device, dtype),
        vae=load_vae(folder, dtype).to(device),
        text_encoder=load_text_encoder(folder, dtype),   # stays on the CPU until placed
        tokenizer=PromptTokenizer(folder / "tokenizer" / "spiece.model"),
        scheduler_config=read_json(folder / "scheduler" / "scheduler_config.json"),
        device=device, dtype=dtype,
    )

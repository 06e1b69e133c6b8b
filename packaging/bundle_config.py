"""What goes into a PyInstaller bundle of the studio, per flavour (read by ``studio.spec``).

Two flavours, chosen at build time by the ``STUDIO_BUNDLE`` environment variable:

* ``draft`` (the default): the studio window, the CLI, the draft renderer, pose extraction and
  video I/O. torch, diffusers, transformers, safetensors and their heavy dependencies are left
  out, so the X-Dyna renderer reports itself unavailable.
* ``full``: the same plus torch & co., so the X-Dyna renderer works once weights are configured.

Model weights are never bundled in either flavour; the app looks for them in the folder set by
``--weights`` / ``$STUDIO_WEIGHTS_DIR`` / the user data folder (see ``studio doctor``).

This module is plain Python (no PyInstaller import) so that tests can check it quickly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from fnmatch import fnmatchcase

#: Build-time environment variable naming the flavour.
FLAVOUR_ENV = "STUDIO_BUNDLE"
#: The flavours, the first being the default.
FLAVOURS: tuple[str, ...] = ("draft", "full")

#: Names of the two executables in the bundle (``.exe`` is added on Windows).
GUI_NAME = "studio"
CLI_NAME = "studio-cli"
#: Name of the bundle folder under ``dist/`` (and of the macOS ``.app``).
BUNDLE_NAME = "studio"
#: Display name of the application (macOS bundle, Windows version resource).
DISPLAY_NAME = "X-Dyna Studio"
#: Reverse-DNS identifier of the macOS bundle.
BUNDLE_IDENTIFIER = "org.xdyna-studio.studio"
#: File written next to the bundled modules that says which flavour and version this is.
BUNDLE_INFO_FILE = "studio_bundle.json"

#: Left out of every flavour: development tools, GUI toolkits we do not use, and optional
#: dependencies of mediapipe (jax for its genai converters, sounddevice for its audio tasks)
#: that the legacy solutions the studio uses never import.
ALWAYS_EXCLUDES: tuple[str, ...] = (
    "jax", "jaxlib", "sounddevice",
    "tkinter", "_tkinter", "PyQt5", "PyQt6", "PySide2",
    "IPython", "jedi", "notebook", "ipykernel",
    "pytest", "_pytest", "pytestqt", "hypothesis", "skimage",
    "tensorflow", "tensorboard",
    "PyInstaller",
)

#: Left out of the draft flavour on top of :data:`ALWAYS_EXCLUDES`: the X-Dyna renderer's
#: stack (the ``xdyna`` extra of pyproject.toml) and the heavy packages only it pulls in.
TORCH_STACK: tuple[str, ...] = (
    "torch", "torchvision", "torchaudio", "triton", "functorch",
    "diffusers", "transformers", "safetensors", "accelerate",
    "huggingface_hub", "tokenizers", "sentencepiece",
    "sympy", "networkx", "scipy", "sklearn", "regex", "fsspec",
    "onnxruntime",  # StableAnimator's face models
)

#: Installed distributions whose metadata the app reads at run time (``studio doctor`` asks
#: importlib.metadata for the versions of PySide6 and mediapipe; the backend registry reads the
#: studio's own ``studio.backends`` entry points); those not installed are skipped.
METADATA_ALWAYS: tuple[str, ...] = ("xdyna-studio", "PySide6-Essentials", "PySide6", "mediapipe", "imageio",
                                    "imageio-ffmpeg", "numpy")
#: Extra metadata for the full flavour (the torch stack checks its own dependencies' versions).
METADATA_FULL: tuple[str, ...] = ("torch", "diffusers", "transformers", "safetensors", "huggingface-hub",
                                  "tokenizers", "tqdm", "regex", "filelock", "packaging", "pyyaml", "requests")

#: Collected files an app never uses, as bundle-relative paths (``fnmatch``; ``*`` spans folders):
#: the C++ test programs, protoc and test models shipped inside the torch wheel (~130 MB).
DROP_PATTERNS: tuple[str, ...] = ("torch/test/*", "torch/bin/*")
#: Exceptions to :data:`DROP_PATTERNS`: torch's shared-memory helper for multiprocessing.
KEEP_PATTERNS: tuple[str, ...] = ("torch/bin/torch_shm_manager*",)

#: File name patterns that must never be in a bundle (model weights live outside it).
WEIGHT_PATTERNS: tuple[str, ...] = ("*.ckpt", "*.safetensors", "*.pth", "*.pt", "*.bin", "*.onnx")


def flavour_from_env(environ: Mapping[str, str] | None = None) -> str:
    """The flavour named by ``$STUDIO_BUNDLE`` (default ``draft``).

    Raises ``ValueError`` naming the bad value and the accepted ones."""
    env = os.environ if environ is None else environ
    value = env.get(FLAVOUR_ENV, "").strip().lower() or FLAVOURS[0]
    if value not in FLAVOURS:
        raise ValueError(
            f"{FLAVOUR_ENV}={env.get(FLAVOUR_ENV)!r} is not a bundle flavour; "
            f"set it to one of: {', '.join(FLAVOURS)} (or leave it unset for {FLAVOURS[0]})."
        )
    return value


def excludes_for(flavour: str) -> list[str]:
    """Module names PyInstaller must leave out of a ``flavour`` bundle."""
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown bundle flavour {flavour!r}; expected one of {', '.join(FLAVOURS)}")
    names = list(ALWAYS_EXCLUDES)
    if flavour == "draft":
        names += TORCH_STACK
    return names


def metadata_for(flavour: str) -> list[str]:
    """Distributions whose metadata (``*.dist-info``) a ``flavour`` bundle carries."""
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown bundle flavour {flavour!r}; expected one of {', '.join(FLAVOURS)}")
    return list(METADATA_ALWAYS) + (list(METADATA_FULL) if flavour == "full" else [])


def bundle_info(flavour: str, version: str) -> dict[str, str]:
    """The content of :data:`BUNDLE_INFO_FILE` for a build."""
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown bundle flavour {flavour!r}; expected one of {', '.join(FLAVOURS)}")
    return {"flavour": flavour, "version": version, "gui": GUI_NAME, "cli": CLI_NAME}


def dropped(dest: str) -> bool:
    """Whether the collected file at bundle-relative path ``dest`` is left out of the bundle."""
    path = dest.replace("\\", "/")
    if any(fnmatchcase(path, pat) for pat in KEEP_PATTERNS):
        return False
    return any(fnmatchcase(path, pat) for pat in DROP_PATTERNS)

"""Stand-in for xformers on a CPU: the official StableAnimator code refuses to import without it.

Only ``xformers.ops.memory_efficient_attention`` is used; this one computes exact float32
softmax attention (no memory-efficient kernel, no dropout).
"""

from . import ops  # noqa: F401

__version__ = "0.0.0"

"""SVD's GEGLU feed-forwards computed a block of tokens at a time on the CPU: the same arithmetic, in cache.

Every transformer block of SVD's UNet (spatial ``ff``, temporal ``ff_in`` and ``ff``) is a diffusers
``FeedForward`` of ``GEGLU(proj: C -> 2I)``, dropout and ``Linear(I -> C)``. As written it makes a
``(tokens, 2I)`` tensor, takes its two halves as strided views, multiplies them into a third
``(tokens, I)`` tensor and projects that: at 4096 tokens the intermediates are 4 MiB each, they leave
the cache between the ops and each is fresh memory the kernel must fault in. A feed-forward is
position-wise, so :class:`BlockedFeedForward` runs it on ``rows`` tokens at a time: the two halves
are two contiguous ``addmm`` with the two halves of the projection's weight (views of the same
parameter), the gate's GELU and the product are in place, and the output projection writes straight
into its slice of the result. Each token's arithmetic is the one the plain module does (the same
weights, the same reduction length); results differ from it by float reordering only (a few 1e-7,
checked in tests/stableanimator/test_hot_path.py). Off the CPU, where blocking only adds kernel launches,
it runs the plain diffusers forward. :func:`use_blocked_feed_forward` switches a model's eligible
modules in place; parameters and state-dict keys stay as they are.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.models.activations import GEGLU
from diffusers.models.attention import FeedForward
from torch import nn

#: tokens per block. One thread, plain -> blocked: 4096 tokens x 32 channels (the tiny release) 2.2 -> 1.8 ms,
#: 4096 x 320 (SVD's first level) 89 -> 78 ms, 1024 x 640 77 -> 75 ms, 2048 x 1280 622 -> 577 ms
ROWS = 512


class BlockedFeedForward(FeedForward):
    """A GEGLU ``FeedForward`` run ``ROWS`` tokens at a time on the CPU (see the module docstring)."""

    def forward(self, hidden_states: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        if hidden_states.device.type != "cpu" or self.training or torch.is_grad_enabled():
            return super().forward(hidden_states, *args, **kwargs)
        proj, out_proj = self.net[0].proj, self.net[2]
        inner = proj.out_features // 2
        w_value, w_gate = proj.weight[:inner].t(), proj.weight[inner:].t()
        b_value, b_gate = proj.bias[:inner], proj.bias[inner:]
        w_out = out_proj.weight.t()
        x = hidden_states.reshape(-1, hidden_states.shape[-1])
        out = x.new_empty(x.shape[0], out_proj.out_features)
        value = x.new_empty(min(ROWS, x.shape[0]), inner)
        gate = torch.empty_like(value)
        for start in range(0, x.shape[0], ROWS):
            block = x[start:start + ROWS]
            v, g = value[:block.shape[0]], gate[:block.shape[0]]
            torch.addmm(b_value, block, w_value, out=v)
            torch.addmm(b_gate, block, w_gate, out=g)
            v.mul_(F.gelu(g))
            torch.addmm(out_proj.bias, v, w_out, out=out[start:start + block.shape[0]])
        return out.view(*hidden_states.shape[:-1], out_proj.out_features)


def _eligible(m: nn.Module) -> bool:
    net = getattr(m, "net", None)
    return (type(m) is FeedForward and len(net) in (3, 4) and type(net[0]) is GEGLU
            and net[0].proj.bias is not None and type(net[1]) is nn.Dropout
            and type(net[2]) is nn.Linear and net[2].bias is not None
            and (len(net) == 3 or type(net[3]) is nn.Dropout))


def use_blocked_feed_forward(model: nn.Module) -> int:
    """Make every GEGLU ``FeedForward`` of ``model`` a :class:`BlockedFeedForward`; returns how many."""
    n = 0
    for m in model.modules():
        if _eligible(m):
            m.__class__ = BlockedFeedForward
            n += 1
    return n

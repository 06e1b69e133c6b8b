"""Random weights for the full-size models of the GPU check (values do not matter for memory and
time; small normal values keep the activations finite)."""

from __future__ import annotations

import torch


def randomise_parameters(model: torch.nn.Module, device: torch.device | str, seed: int = 0) -> torch.nn.Module:
    """Give every parameter of ``model`` (built on the ``meta`` device, buffers real or not) new
    N(0, 0.02) values on ``device``, in its dtype; real buffers (position ids, ...) move there as
    they are. Returns ``model``."""
    device = torch.device(device)
    gen = torch.Generator(device).manual_seed(seed)
    for module in model.modules():
        for name, p in list(module._parameters.items()):
            if p is not None:
                value = torch.empty(p.shape, dtype=p.dtype, device=device)
                if value.is_floating_point():
                    value.normal_(0.0, 0.02, generator=gen)
                else:
                    value.zero_()
                module._parameters[name] = torch.nn.Parameter(value, requires_grad=False)
    return model.to(device)

"""MD4's forward process (MD4 §2) with the linear schedule α_t = 1 − t, and its training times."""

from collections.abc import Iterator

import torch

from ggm_core.events import SamplerEvent

MIN_TIME = 1e-3  # training times are drawn in [MIN_TIME, 1]: the 1/t weight stays bounded


def mask_tokens(x0: torch.Tensor, t: torch.Tensor, mask_id: int, generator: torch.Generator | None = None):
    """Draw x_t | x_0: keep each token with probability α_t = 1 − t, else the mask id. ``t``: (B,).

    Returns ``(x_t, masked)``; randomness is drawn on the CPU, then moved to ``x0``'s device.
    """
    keep = torch.rand(x0.shape, dtype=torch.float64, generator=generator) < (1 - t.double().cpu())[:, None]
    masked = (~keep).to(x0.device)
    return torch.where(masked, torch.full_like(x0, mask_id), x0), masked


def antithetic_times(batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B,) float64 times in [MIN_TIME, 1]: one uniform shifted by i/B mod 1, as MD4 does (lower variance)."""
    u = (torch.rand(1, dtype=torch.float64, generator=generator) + torch.arange(batch) / batch) % 1.0
    return MIN_TIME + (1 - MIN_TIME) * u


def masking_events(x0: torch.Tensor, mask_id: int, seed: int = 0) -> Iterator[SamplerEvent]:
    """The forward process on ``x0`` (L,) as an event stream: each token masked at its own uniform time,
    in time order (the start, then one event per masked token). No network calls."""
    x = torch.as_tensor(x0, dtype=torch.long).reshape(1, -1).clone()
    order = torch.rand(x.shape[1], dtype=torch.float64, generator=torch.Generator().manual_seed(seed)).argsort()
    total, empty = x.shape[1], torch.empty(1, 0, dtype=torch.long)
    yield SamplerEvent(x.clone(), (), empty, empty, 0, 0, 0, 0, total)
    for done, i in enumerate(order.tolist(), start=1):
        old = x[:, i : i + 1].clone()
        x[0, i] = mask_id
        yield SamplerEvent(x.clone(), (i,), old, x[:, i : i + 1].clone(), done, 0, 0, done, total)

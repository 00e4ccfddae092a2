"""Categorical draws shared by every family: float64 probabilities, inverse-CDF sampling from a seeded generator.

Float64 throughout: float32 Gumbel or CDF noise quietly lowers the temperature of rare tokens.
"""

import torch


def categorical_probs(logits: torch.Tensor, temperature: float = 1.0, top_p: float = 1.0) -> torch.Tensor:
    """Float64 softmax(logits / temperature) over the last axis, optionally restricted to the top-p set.

    The defaults (temperature 1, top-p 1) give the model's own conditional.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    logits = logits.to(torch.float64)
    probs = torch.softmax(logits if temperature == 1.0 else logits / temperature, dim=-1)  # x / 1 is x
    if top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        mass_before = sorted_probs.cumsum(-1) - sorted_probs
        sorted_probs = torch.where(mass_before < top_p, sorted_probs, torch.zeros_like(sorted_probs))
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
        probs = probs / probs.sum(-1, keepdim=True)
    return probs


def sample_categorical(probs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Inverse-CDF draws from the rows of ``probs`` (..., V) using float64 uniforms."""
    cdf = probs.reshape(-1, probs.shape[-1]).to("cpu", torch.float64).cumsum(-1)
    u = torch.rand(cdf.shape[0], 1, dtype=torch.float64, generator=generator) * cdf[:, -1:]
    draws = torch.searchsorted(cdf, u, right=True).clamp_(max=cdf.shape[-1] - 1)
    return draws.view(probs.shape[:-1]).to(probs.device)

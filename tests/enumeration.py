"""Exact laws on spaces small enough to enumerate (V^L states), for the math tests."""

import itertools

import torch

from ggm_core.ggm.noise import NoiseDistribution
from ggm_core.ggm.schedule import GlauberSchedule


def all_states(vocab_size: int, seq_len: int) -> torch.Tensor:
    """Every sequence, (V^L, L), in the row-major order of a (V,)*L law tensor."""
    return torch.tensor(list(itertools.product(range(vocab_size), repeat=seq_len)))


def forward_laws(data_law: torch.Tensor, schedule: GlauberSchedule, noise: NoiseDistribution) -> list[torch.Tensor]:
    """Laws of x_0..x_T as (V,)*L tensors, by applying each step's one-position kernel exactly."""
    laws = [data_law]
    V = noise.vocab_size
    for t in range(schedule.num_steps):
        i, kappa = schedule.position(t), schedule.kappa[t]
        kernel = kappa * torch.eye(V, dtype=torch.float64) + (1 - kappa) * noise.probs[None, :]
        laws.append(torch.movedim(torch.tensordot(laws[-1], kernel, dims=([i], [0])), -1, i))
    return laws


def conditional(law: torch.Tensor, i: int) -> torch.Tensor:
    """P(x^i = a | x^{-i}) broadcast to the law's shape (the last index of ``law`` is not special)."""
    return law / law.sum(dim=i, keepdim=True)


def bayes_classifier(law_t: torch.Tensor, i: int, kappa: torch.Tensor, noise: NoiseDistribution) -> torch.Tensor:
    """D(u, a) = κ P_t(a|u) / (κ P_t(a|u) + (1-κ) μ(a)), in the law's shape (axis i holds a)."""
    p = conditional(law_t, i)
    shape = [1] * law_t.dim()
    shape[i] = -1
    mu = noise.probs.view(shape)
    return kappa * p / (kappa * p + (1 - kappa) * mu)

"""Blackout's forward process: every unit of intensity dies independently at rate 1, so a pixel with count
n_0 holds n_t ~ Binomial(n_0, e^{−t}) at time t, and the image goes black.

``thin`` is the closed form used in training; ``thin_successively`` follows one path through a list of
times by thinning step by step (n_{t'} ~ Binomial(n_t, p_{t'}/p_t)), for the known pixels of inpainting;
``simulate_lifetimes`` is the literal process (an Exp(1) lifetime per unit), for tests. Float64
probabilities, seeded generators, integer results.
"""

import torch

from ggm_core.draws import RowSeeds


def thin(
    n0: torch.Tensor, p: torch.Tensor | float, generator: torch.Generator | RowSeeds | None = None
) -> torch.Tensor:
    """n_t ~ Binomial(n_0, p) elementwise; ``p`` broadcasts (e.g. (B, 1, 1, 1) per image)."""
    counts = n0.to(torch.float64)
    prob = torch.as_tensor(p, dtype=torch.float64).expand_as(counts)
    if isinstance(generator, RowSeeds):
        return generator.binomial(counts, prob).to(n0.dtype)
    return torch.binomial(counts, prob.contiguous(), generator=generator).to(n0.dtype)


def thin_successively(
    n0: torch.Tensor, survival: list[float], generator: torch.Generator | RowSeeds | None = None
) -> list[torch.Tensor]:
    """One forward path of ``n0`` through decreasing survivals p_1 > p_2 > …: [n_{p_1}, n_{p_2}, …]."""
    path, current, before = [], n0, 1.0
    for p in survival:
        current = thin(current, p / before, generator)
        path.append(current)
        before = p
    return path


def simulate_lifetimes(n0: torch.Tensor, times: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """The literal death process: an Exp(1) lifetime for each unit of each count in ``n0`` (N,); returns the
    number alive at each of ``times``, (N, len(times))."""
    n0 = torch.as_tensor(n0, dtype=torch.long).reshape(-1)
    width = int(n0.max()) if len(n0) else 0
    lifetimes = torch.empty(len(n0), width, dtype=torch.float64).exponential_(1.0, generator=generator)
    exists = torch.arange(width)[None, :] < n0[:, None]
    times = torch.as_tensor(times, dtype=torch.float64).reshape(-1)
    return ((lifetimes[:, None, :] > times[None, :, None]) & exists[:, None, :]).sum(-1)

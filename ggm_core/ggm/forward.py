"""Forward Glauber process: closed-form marginals for training, a literal simulator for tests.

Given x_0, the positions of x_t are independent: position j holds x_0^j with probability α_j(t)
(``GlauberSchedule.survival_at``), else a fresh draw from μ (docs/math.md, "Closed form for training").
"""

from collections.abc import Iterator

import torch

from ggm_core.events import SamplerEvent
from ggm_core.ggm.noise import NoiseDistribution
from ggm_core.ggm.schedule import GlauberSchedule


def xt_marginals(x0: torch.Tensor, t: int, schedule: GlauberSchedule, noise: NoiseDistribution) -> torch.Tensor:
    """P(x_t^j = a | x_0) for every position, shape (L, V), float64: α δ(a, x_0^j) + (1-α) μ(a)."""
    alpha = schedule.survival_at(torch.tensor(t))[:, None]
    onehot = torch.nn.functional.one_hot(x0, noise.vocab_size).to(torch.float64)
    return alpha * onehot + (1 - alpha) * noise.probs


def sample_xt(
    x0: torch.Tensor,
    t: torch.Tensor,
    schedule: GlauberSchedule,
    noise: NoiseDistribution,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw x_t | x_0 in closed form. ``x0``: (B, L) ids; ``t``: (B,) steps in [0, T]."""
    alpha = schedule.survival_at(t).to(x0.device)
    keep = torch.rand(x0.shape, dtype=torch.float64, generator=generator).to(x0.device) < alpha
    return torch.where(keep, x0, noise.sample(tuple(x0.shape), generator).to(x0.device))


def sample_sweep_pair(
    x0: torch.Tensor,
    sweep: torch.Tensor,
    schedule: GlauberSchedule,
    noise: NoiseDistribution,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """States around forward sweep k: B = x_{kL} and A = x_{(k+1)L}, plus each position's step.

    A_j keeps B_j with probability κ at its visit in sweep k, else a fresh μ draw (docs/math.md,
    "An exact two-sided denoiser"). Returns ``(B, A, steps)`` with ``steps[b, j] = k_b·L + rank[j]``.
    """
    L = schedule.seq_len
    before = sample_xt(x0, sweep * L, schedule, noise, generator)
    steps = sweep[:, None] * L + schedule.rank[None, :]
    kappa = schedule.kappa[steps].to(x0.device)
    keep = torch.rand(x0.shape, dtype=torch.float64, generator=generator).to(x0.device) < kappa
    after = torch.where(keep, before, noise.sample(tuple(x0.shape), generator).to(x0.device))
    return before, after, steps.to(x0.device)


def forward_step(
    x: torch.Tensor,
    t: int,
    schedule: GlauberSchedule,
    noise: NoiseDistribution,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One literal forward step: keep the token at position i_t with probability κ_t, else redraw from μ."""
    i = schedule.position(t)
    x = x.clone()
    redraw = torch.rand(x.shape[0], dtype=torch.float64, generator=generator) >= schedule.kappa[t]
    fresh = noise.sample((x.shape[0],), generator)
    x[:, i] = torch.where(redraw, fresh, x[:, i])
    return x


def simulate_forward(
    x0: torch.Tensor, schedule: GlauberSchedule, noise: NoiseDistribution, generator: torch.Generator | None = None
) -> list[torch.Tensor]:
    """The whole chain x_0, x_1, …, x_T by literal simulation (for tests and pictures)."""
    states = [x0.clone()]
    for t in range(schedule.num_steps):
        states.append(forward_step(states[-1], t, schedule, noise, generator))
    return states


def noising_events(
    x0: torch.Tensor, schedule: GlauberSchedule, noise: NoiseDistribution, seed: int = 0
) -> Iterator[SamplerEvent]:
    """The literal forward chain from ``x0`` (L,) as an event stream: the start, then one event per step t
    (``positions`` is the visited position when its coin redrew it from μ, else empty). No network calls."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(x0, dtype=torch.long).reshape(1, -1).clone()
    total, empty = schedule.num_steps, torch.empty(1, 0, dtype=torch.long)
    yield SamplerEvent(x.clone(), (), empty, empty, 0, 0, 0, 0, total)
    for t in range(total):
        i = schedule.position(t)
        redraw = bool(torch.rand(1, dtype=torch.float64, generator=generator) >= schedule.kappa[t])
        fresh = noise.sample((1,), generator)
        old = x[:, i : i + 1].clone()
        if redraw:
            x[0, i] = fresh[0]
        positions = (i,) if redraw else ()
        new = x[:, i : i + 1].clone()
        yield SamplerEvent(x.clone(), positions, old, new, t, t // schedule.seq_len, 0, t + 1, total)

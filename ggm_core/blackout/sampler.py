"""Blackout's reverse process: a birth process from the black image, sampled by the binomial bridge.

Between observation times t_k > t_j, a pixel that holds n_t and will end at n_0 gains
Binomial(n_0 − n_t, (p_j − p_k)/(1 − p_k)) units: each unit dead by t_k was still alive at t_j with that
probability. n_0 is unknown; the network's ŷ ≈ E[n_0 − n_t | n_t] stands in for n_0 − n_t. The authors round
ŷ to the nearest integer, which biases the birth rate (ŷ = 0.4 never gives a birth); here it is rounded
stochastically (⌊ŷ⌋ + Bernoulli(ŷ − ⌊ŷ⌋)), so the expected births per step are ŷ·q and, as the steps shrink,
the chain tends to the exact reverse birth process: exact only in the limit of small steps, so an
approximation at any budget, the trained 1000-step grid included (docs/math.md, "Blackout Diffusion").

Births at their mean (``mean_births``): a step's births drawn as ŷ·q rounded stochastically (variance at most
1/4) instead of Binomial(⌊ŷ⌉, q) (variance ŷ·q(1 − q)). As the steps shrink both become the same birth process
(Bernoulli(ŷ·q) and Binomial(·, q) alike tend to Poisson births at rate ŷ): exact in the same limit, with less of
the variance that a coarse step leaves as grain.

Finishing with the mean (``finish_at``): the bridge stops once the survival reaches p_s and the sample is the
network's estimate of the clean image, n_t + ŷ (rounded): the births still to come replaced by their expected
number, as a diffusion model's last step returns its denoised estimate. Each birth of the bridge adds a unit that
no later step removes, so the late births' binomial noise stays in the image as salt-and-pepper grain; the mean
has none of it, and is blurrier where the network is unsure. An approximation, named in every readout.

Inpainting: known pixels follow their own forward path (one draw of successive thinning from the given
image at the sampler's times) and are written back after every reverse step: an approximation (the free
pixels' estimates see a known pixel's noisy level, not its clean value).
"""

from collections.abc import Callable, Iterator, Sequence

import torch

from ggm_core.blackout.forward import thin_successively
from ggm_core.blackout.schedule import BlackoutSchedule
from ggm_core.clamp import known_mask_from
from ggm_core.draws import RowSeeds
from ggm_core.events import SamplerEvent


def stochastic_round(x: torch.Tensor, draws: RowSeeds) -> torch.Tensor:
    """⌊x⌋ + Bernoulli(x − ⌊x⌋) elementwise (float64 uniforms; the batch first): an integer with expectation x."""
    x = x.to(torch.float64)
    floor = x.floor()
    return (floor + (draws.rand(tuple(x.shape)) < x - floor)).long()


@torch.no_grad()
def sample_blackout(
    predict: Callable[[torch.Tensor, int], torch.Tensor],
    schedule: BlackoutSchedule,
    length: int,
    *,
    batch_size: int = 1,
    steps: int | None = None,
    max_count: int = 255,
    known_counts: torch.Tensor | None = None,
    known: torch.Tensor | Sequence[int] | None = None,
    seed: int | Sequence[int] = 0,
    generator: torch.Generator | None = None,
    start: torch.Tensor | None = None,
    finish_at: float | None = None,
    mean_births: bool = False,
) -> Iterator[SamplerEvent]:
    """From the all-zero canvas (B, ``length``) to counts in [0, ``max_count``]; an event per network call.

    ``predict(counts (B, L), k)`` returns ŷ ≈ E[n_0 − n_t | n_t] at observation time t_k, (B, L).
    ``steps`` is the budget N (default: the schedule's T); the event's ``step`` is the observation index
    reached and ``positions`` the pixels that changed in any image. ``start`` (L,) or (B, L) replaces the
    black canvas (a forward path's end, nearly black). ``seed``: an int, or one per row
    (:class:`ggm_core.draws.RowSeeds`). ``finish_at`` p_s: the ``steps`` calls bridge from T to the first time
    with survival ≥ p_s, the last of them a jump to the network's mean n_t + ŷ there (None: bridge to the end).
    ``mean_births``: each step's births are ŷ·q stochastically rounded instead of Binomial(ŷ, q).
    """
    draws = RowSeeds(seed, batch_size, generator)
    budget = steps or schedule.steps
    finishing = finish_at is not None
    # finishing: budget − 1 bridge steps to the finishing time, then one call for the mean (a budget of 1: the mean
    # read off the black canvas)
    if not finishing:
        grid = schedule.grid(budget)
    elif budget > 1:
        grid = schedule.grid(budget - 1, schedule.last_index_from(finish_at))
    else:
        grid = [schedule.steps]
    p = schedule.survival
    canvas = torch.zeros(batch_size, length, dtype=torch.long)
    if start is not None:
        canvas = torch.as_tensor(start, dtype=torch.long).expand(batch_size, length).clone()
        if canvas.min() < 0 or canvas.max() > max_count:
            raise ValueError(f"start counts must lie in [0, {max_count}]")
    mask = known_mask_from(known, length)
    path = None
    if mask.any():
        if known_counts is None:
            raise ValueError("known positions given without known_counts")
        counts = torch.as_tensor(known_counts, dtype=torch.long).expand(batch_size, length)
        if counts[:, mask].min() < 0 or counts[:, mask].max() > max_count:
            raise ValueError(f"known counts must lie in [0, {max_count}]")
        # one forward path through the sampler's times, its last time first (t_0 = 0: n_0 itself; or the finishing
        # time), then reversed
        path = thin_successively(counts.clone(), [float(p[k]) for k in reversed(grid)], draws)[::-1]
        canvas[:, mask] = path[0][:, mask]
    empty = torch.empty(batch_size, 0, dtype=torch.long)
    total = budget
    yield SamplerEvent(canvas.clone(), (), empty, empty, grid[0], 0, 0, 0, total)
    for i in range(len(grid) - 1):
        k, j = grid[i], grid[i + 1]
        estimate = predict(canvas, k).to(torch.float64).clamp(min=0).cpu()
        q = float((p[j] - p[k]) / (1 - p[k]))
        if mean_births:
            births = torch.minimum(stochastic_round(estimate * q, draws), max_count - canvas)
        else:
            remaining = torch.minimum(stochastic_round(estimate, draws), max_count - canvas)
            births = draws.binomial(remaining.double(), torch.full(remaining.shape, q, dtype=torch.float64)).long()
        new = canvas + births
        if path is not None:
            new[:, mask] = path[i + 1][:, mask]
        positions = (new != canvas).any(0).nonzero().flatten()
        old = canvas[:, positions]
        canvas = new
        yield SamplerEvent(
            canvas.clone(), tuple(positions.tolist()), old, canvas[:, positions], j, 0, i + 1, i + 1, total
        )
    if finishing:
        k = grid[-1]
        estimate = predict(canvas, k).to(torch.float64).clamp(min=0).cpu()
        new = torch.minimum(canvas + estimate.round().long(), torch.full_like(canvas, max_count))
        if path is not None:
            new[:, mask] = counts[:, mask]  # the known pixels' own clean counts
        positions = (new != canvas).any(0).nonzero().flatten()
        old, canvas = canvas[:, positions], new
        yield SamplerEvent(
            canvas.clone(), tuple(positions.tolist()), old, canvas[:, positions], 0, 0, total, total, total
        )

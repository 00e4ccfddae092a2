"""MD4's ancestral sampler (MD4 §3), as the event stream every family yields.

From t to s < t each masked position is revealed with probability (α_s − α_t)/(1 − α_t) = (t − s)/t, its
token drawn from p_θ(· | x_t). With exact predictions one reveal per call in a uniformly random order
samples the data law exactly; a grid that reveals several tokens in one step draws them independently
from their marginals, an approximation of their joint law. Known positions are clamped, which is exact for a masked model (its context is clean).
"""

import math
from collections.abc import Iterator, Sequence

import torch

from ggm_core.clamp import allowed_from, clamp_known, restrict
from ggm_core.draws import RowSeeds, categorical_probs
from ggm_core.events import SamplerEvent
from ggm_core.md4.network import MaskedDenoiser


def time_grid(steps: int) -> list[float]:
    """MD4's cosine grid t_i = cos(π/2 · i/steps), i = 0..steps: from 1 down to exactly 0."""
    return [math.cos(math.pi / 2 * i / steps) for i in range(steps)] + [0.0]


@torch.no_grad()
def sample_masked(
    denoiser: MaskedDenoiser,
    *,
    batch_size: int = 1,
    known_tokens: torch.Tensor | None = None,
    known: torch.Tensor | Sequence[int] | None = None,
    steps: int | None = None,
    temperature: float = 1.0,
    top_p: float = 1.0,
    seed: int | Sequence[int] = 0,
    generator: torch.Generator | None = None,
    allowed: torch.Tensor | None = None,
) -> Iterator[SamplerEvent]:
    """Ancestral sampling from the all-masked canvas; an event per network call (the first is the start).

    ``steps=None`` (default) is the exact continuous-time chain: each sequence draws i.i.d. uniform
    reveal times for its unknown positions and reveals them one per call, latest time first (a
    uniformly random order), the network conditioned on that time; NFE = number of unknown positions.
    ``steps=n`` runs the cosine grid: each masked position is revealed with probability (t − s)/t per
    step, all of them at the last step; a step that reveals nothing costs no call (MD4's caching:
    the state, hence the prediction, is unchanged), so NFE ≤ n. Reveals are decided per sequence:
    an event's ``positions`` are those revealed in any sequence, ``old``/``new`` the canvas there
    before and after (so a sequence that revealed nothing there shows the same token, possibly the
    mask id, in both). ``step`` is the grid step (the reveal index in the exact mode), ``sweep`` 0,
    ``updates_done`` the fewest positions any sequence has revealed. Known positions are clamped;
    ``allowed`` (L, V) bool restricts the tokens each position may take. ``seed``: an int, or one per row
    (:class:`ggm_core.draws.RowSeeds`).
    """
    if steps is not None and steps < 1:
        raise ValueError(f"steps must be ≥ 1 or None, got {steps}")
    V, L, mask_id = denoiser.config.vocab_size, denoiser.config.seq_len, denoiser.config.vocab_size
    device = next(denoiser.parameters()).device
    draws = RowSeeds(seed, batch_size, generator)
    canvas = torch.full((batch_size, L), mask_id, dtype=torch.long, device=device)
    known_mask = clamp_known(canvas, known_tokens, known, V)
    allowed = allowed_from(allowed, L, V)
    free = (~known_mask).nonzero().flatten()  # unknown positions, CPU
    pending = (~known_mask).expand(batch_size, L).clone()  # still masked, CPU
    total, nfe = len(free), 0
    empty = torch.empty(batch_size, 0, dtype=torch.long)
    yield SamplerEvent(canvas.cpu().clone(), (), empty, empty, 0, 0, 0, 0, total)
    if total == 0:
        return
    denoiser.eval()

    def reveal(rows: torch.Tensor, cols: torch.Tensor, t: torch.Tensor, step: int) -> SamplerEvent:
        """One network call at times ``t`` (B,); draw the tokens at (rows, cols) and write them."""
        nonlocal nfe
        logits = denoiser(canvas, t.to(device=device, dtype=torch.float32))
        nfe += 1
        picked = restrict(logits[rows.to(device), cols.to(device)], allowed, cols)
        probs = categorical_probs(picked, temperature, top_p)
        drawn = draws.categorical(probs, rows)
        index = cols.unique()
        old = canvas[:, index.to(device)].cpu()
        canvas[rows.to(device), cols.to(device)] = drawn.to(device)
        pending[rows, cols] = False
        done = int(total - pending.sum(1).max())
        new = canvas[:, index.to(device)].cpu()
        return SamplerEvent(canvas.cpu().clone(), tuple(index.tolist()), old, new, step, 0, nfe, done, total)

    if steps is None:
        times, order = draws.rand((batch_size, total)).sort(1, descending=True)
        rows = torch.arange(batch_size)
        for k in range(total):
            yield reveal(rows, free[order[:, k]], times[:, k], k)
        return
    grid = time_grid(steps)
    for i in range(steps):
        t, s = grid[i], grid[i + 1]
        coins = draws.rand((batch_size, L))
        chosen = pending & (coins < (t - s) / t) if s > 0 else pending.clone()
        if chosen.any():
            rows, cols = chosen.nonzero(as_tuple=True)
            yield reveal(rows, cols, torch.full((batch_size,), t, dtype=torch.float64), i)

"""The heat-bath reverse chain (docs/math.md, "Reverse process (heat bath)"), as a generator of events.

At reverse step t, position i_t is redrawn from softmax(h + log μ); all other positions are kept.
Draws are inverse-CDF categorical draws in float64 from a seeded ``torch.Generator``. Known
positions (infilling) are clamped: set once and never visited. Clamping alone is not exact for GGM: the
conditionals are those of a noised context, and a clamped position is clean at every step. Refinement sweeps
after the chain (a denoiser trained with the clean context, ggm_core.ggm.clean_context) are a Gibbs chain over
the free positions whose stationary law is the exact P(x_free | x_known): exact in the limit of many sweeps
(docs/math.md, "Infilling").
"""

from collections.abc import Iterator, Sequence

import torch

from ggm_core.clamp import allowed_from, clamp_known, restrict
from ggm_core.draws import RowSeeds, categorical_probs
from ggm_core.events import SamplerEvent, run_to_end
from ggm_core.ggm.clean_context import CLEAN_SWEEP
from ggm_core.ggm.denoisers.base import Denoiser
from ggm_core.ggm.noise import NoiseDistribution
from ggm_core.ggm.schedule import GlauberSchedule


def heat_bath_probs(
    h: torch.Tensor, log_mu: torch.Tensor, temperature: float = 1.0, top_p: float = 1.0
) -> torch.Tensor:
    """Float64 probabilities softmax((h + log μ)/temperature), optionally restricted to the top-p set.

    The defaults (temperature 1, top-p 1) give the exact heat-bath conditional (docs/math.md, "The
    reduction to binary classification": P_t(a | u) ∝ μ(a)·exp(h_a)).
    """
    return categorical_probs(h.to(torch.float64) + log_mu.to(h.device), temperature, top_p)


@torch.no_grad()
def sample(
    denoiser: Denoiser,
    schedule: GlauberSchedule,
    noise: NoiseDistribution,
    *,
    batch_size: int = 1,
    known_tokens: torch.Tensor | None = None,
    known: torch.Tensor | Sequence[int] | None = None,
    temperature: float = 1.0,
    top_p: float = 1.0,
    positions_per_call: int = 1,
    seed: int | Sequence[int] = 0,
    generator: torch.Generator | None = None,
    start: torch.Tensor | None = None,
    allowed: torch.Tensor | None = None,
    refine_sweeps: int = 0,
) -> Iterator[SamplerEvent]:
    """Run the reverse chain from x_T ~ μ^L and yield an event per network call.

    ``known_tokens`` (L,) or (B, L) and ``known`` (a boolean mask or index list) clamp positions for
    infilling. ``start`` (L,) or (B, L) replaces the μ^L draw of x_T (e.g. the end of a forward run, whose
    law is μ^L up to ε). ``allowed`` (L, V) bool restricts the tokens each position may take (an
    approximation, like clamping). ``positions_per_call`` > 1 redraws that many consecutive positions from one network
    call: fewer calls, but an approximation of the chain. Without known positions the chain is exact
    when temperature = 1, top_p = 1 and positions_per_call = 1 (the defaults); with known positions it
    is an approximation of P(x_free | x_known) (docs/math.md, "Infilling"). ``refine_sweeps`` R > 0 then
    runs R left-to-right sweeps over the free positions, each redrawn from the clean full conditional
    P(x^i | x^{-i}) (the denoiser's clean context): with known positions the law tends to the exact
    P(x_free | x_known) as R grows; without, an exact chain stays exact. Their events carry
    ``sweep`` = -1 - r for refinement sweep r and ``step`` = -1. ``seed``: an int, or one per row
    (:class:`ggm_core.draws.RowSeeds`: a row's sample then does not depend on the rows beside it). Stopping the
    iteration cancels the run.
    """
    if positions_per_call < 1:
        raise ValueError(f"positions_per_call must be ≥ 1, got {positions_per_call}")
    if refine_sweeps < 0:
        raise ValueError(f"refine_sweeps must be ≥ 0, got {refine_sweeps}")
    if noise.vocab_size != denoiser.config.vocab_size or schedule.seq_len != denoiser.config.seq_len:
        raise ValueError("denoiser, schedule and noise disagree on vocabulary size or sequence length")
    L, device = schedule.seq_len, next(denoiser.parameters()).device
    draws = RowSeeds(seed, batch_size, generator)
    if start is None:
        canvas = draws.multinomial(noise.probs, L).to(device)
    else:
        canvas = torch.as_tensor(start, dtype=torch.long, device=device).expand(batch_size, L).clone()
        if canvas.min() < 0 or canvas.max() >= noise.vocab_size:
            raise ValueError(f"start tokens must lie in [0, {noise.vocab_size})")
    mask = clamp_known(canvas, known_tokens, known, noise.vocab_size)
    allowed = allowed_from(allowed, L, noise.vocab_size)
    if allowed is not None and start is None:  # the starting draw too: μ restricted to the allowed tokens
        held = (~allowed.all(dim=1) & ~mask).nonzero().flatten()
        if len(held):
            probs = (noise.probs * allowed[held]).expand(batch_size, -1, -1)
            canvas[:, held] = draws.categorical(probs).to(device)
    reverse_order = schedule.visit_order.flip(0).tolist()
    free = [p for p in reverse_order if not mask[p]]
    groups = [free[s : s + positions_per_call] for s in range(0, len(free), positions_per_call)]
    columns = [slice(g[0], g[0] + 1) if len(g) == 1 else torch.tensor(g, device=device) for g in groups]
    total, done, nfe = len(free) * (schedule.sweeps + refine_sweeps), 0, 0
    empty = torch.empty(batch_size, 0, dtype=torch.long)
    yield SamplerEvent(canvas.cpu().clone(), (), empty, empty, schedule.num_steps, schedule.sweeps, 0, 0, total)
    log_mu = noise.log_probs.to(device, torch.float64)
    denoiser.eval()
    sweeps = [(sweep, sweep) for sweep in reversed(range(schedule.sweeps))]
    sweeps += [(CLEAN_SWEEP, -1 - r) for r in range(refine_sweeps)]  # (the denoiser's context, the event's label)
    for context, label in sweeps:
        session = denoiser.begin_sweep(canvas, context, schedule)
        calls_before = nfe
        for positions, column in zip(groups, columns, strict=True):
            h = restrict(session.predict(positions), allowed, positions)
            new = draws.categorical(heat_bath_probs(h, log_mu, temperature, top_p))
            old = canvas[:, column].clone()
            canvas[:, column] = new
            done += len(positions)
            nfe = calls_before + session.network_calls
            step = schedule.step_of(positions[0], context) if label >= 0 else -1
            yield SamplerEvent(  # final: the last reverse sweep, and the refinement sweeps after it
                canvas.cpu().clone(), tuple(positions), old.cpu(), new.cpu(), step, label, nfe, done, total, label <= 0
            )


def sample_tokens(denoiser: Denoiser, schedule: GlauberSchedule, noise: NoiseDistribution, **kwargs) -> torch.Tensor:
    """Run :func:`sample` to the end and return the final canvas (B, L)."""
    return run_to_end(sample(denoiser, schedule, noise, **kwargs)).tokens

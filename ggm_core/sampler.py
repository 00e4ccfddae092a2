"""The heat-bath reverse chain (ggm-math.md, "Reverse process"), as a generator of events.

At reverse step t, position i_t is redrawn from softmax(h + log μ); all other positions are kept.
Draws are inverse-CDF categorical draws in float64 from a seeded ``torch.Generator``. Known
positions (infilling) are clamped: set once and never visited.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from ggm_core.denoisers.base import Denoiser
from ggm_core.noise import NoiseDistribution
from ggm_core.schedule import GlauberSchedule


@dataclass(frozen=True)
class SamplerEvent:
    """One network call's worth of the trajectory (the first event, with no positions, is the start).

    ``tokens``: the canvas after the update, (B, L); ``positions``: the positions just redrawn;
    ``old`` / ``new``: their tokens before and after, (B, len(positions)); ``step``: the forward step
    index t of the first redrawn position (T for the start); ``sweep``: the reverse sweep k;
    ``nfe``: network calls so far; ``total_updates``: redraws the whole run will make.
    """

    tokens: torch.Tensor
    positions: tuple[int, ...]
    old: torch.Tensor
    new: torch.Tensor
    step: int
    sweep: int
    nfe: int
    updates_done: int
    total_updates: int


def heat_bath_probs(
    h: torch.Tensor, log_mu: torch.Tensor, temperature: float = 1.0, top_p: float = 1.0
) -> torch.Tensor:
    """Float64 probabilities softmax((h + log μ)/temperature), optionally restricted to the top-p set.

    The defaults (temperature 1, top-p 1) give the exact heat-bath conditional.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    probs = torch.softmax((h.to(torch.float64) + log_mu.to(h.device)) / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        mass_before = sorted_probs.cumsum(-1) - sorted_probs
        sorted_probs = torch.where(mass_before < top_p, sorted_probs, torch.zeros_like(sorted_probs))
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
        probs = probs / probs.sum(-1, keepdim=True)
    return probs


def sample_categorical(probs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Inverse-CDF draws from the rows of ``probs`` (..., V) using float64 uniforms."""
    flat = probs.reshape(-1, probs.shape[-1]).to(torch.float64).cpu()
    cdf = flat.cumsum(-1)
    u = torch.rand(flat.shape[0], 1, dtype=torch.float64, generator=generator) * cdf[:, -1:]
    draws = torch.searchsorted(cdf, u, right=True).clamp(max=flat.shape[-1] - 1)
    return draws.view(probs.shape[:-1]).to(probs.device)


def known_mask_from(known: torch.Tensor | Sequence[int] | None, seq_len: int) -> torch.Tensor:
    """A (L,) boolean mask from a boolean mask, an index list, or None (nothing known)."""
    mask = torch.zeros(seq_len, dtype=torch.bool)
    if known is None:
        return mask
    known = torch.as_tensor(known)
    if known.dtype == torch.bool:
        if known.shape != (seq_len,):
            raise ValueError(f"known mask must have shape ({seq_len},), got {tuple(known.shape)}")
        return known.cpu().clone()
    if known.numel() and (known.min() < 0 or known.max() >= seq_len):
        raise ValueError(f"known positions must lie in [0, {seq_len})")
    mask[known.long()] = True
    return mask


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
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> Iterator[SamplerEvent]:
    """Run the reverse chain from x_T ~ μ^L and yield an event per network call.

    ``known_tokens`` (L,) or (B, L) and ``known`` (a boolean mask or index list) clamp positions for
    infilling. ``positions_per_call`` > 1 redraws that many consecutive positions from one network
    call: fewer calls, but an approximation of the chain. Exact when temperature = 1, top_p = 1 and
    positions_per_call = 1 (the defaults). Stopping the iteration cancels the run.
    """
    if positions_per_call < 1:
        raise ValueError(f"positions_per_call must be ≥ 1, got {positions_per_call}")
    if noise.vocab_size != denoiser.config.vocab_size or schedule.seq_len != denoiser.config.seq_len:
        raise ValueError("denoiser, schedule and noise disagree on vocabulary size or sequence length")
    L, device = schedule.seq_len, next(denoiser.parameters()).device
    generator = generator if generator is not None else torch.Generator().manual_seed(seed)
    mask = known_mask_from(known, L)
    canvas = noise.sample((batch_size, L), generator).to(device)
    if mask.any():
        if known_tokens is None:
            raise ValueError("known positions given without known_tokens")
        known_tokens = torch.as_tensor(known_tokens, device=device).expand(batch_size, L)
        if known_tokens[:, mask].min() < 0 or known_tokens[:, mask].max() >= noise.vocab_size:
            raise ValueError(f"known tokens must lie in [0, {noise.vocab_size})")
        canvas[:, mask] = known_tokens[:, mask]
    reverse_order = schedule.visit_order.flip(0).tolist()
    free = [p for p in reverse_order if not mask[p]]
    groups = [free[s : s + positions_per_call] for s in range(0, len(free), positions_per_call)]
    total, done, nfe = len(free) * schedule.sweeps, 0, 0
    empty = torch.empty(batch_size, 0, dtype=torch.long)
    yield SamplerEvent(canvas.cpu().clone(), (), empty, empty, schedule.num_steps, schedule.sweeps, 0, 0, total)
    log_mu = noise.log_probs.to(device)
    denoiser.eval()
    for sweep in reversed(range(schedule.sweeps)):
        session = denoiser.begin_sweep(canvas, sweep, schedule)
        calls_before = nfe
        for positions in groups:
            h = session.predict(positions)
            new = sample_categorical(heat_bath_probs(h, log_mu, temperature, top_p), generator)
            index = torch.tensor(positions, device=device)
            old = canvas[:, index].clone()
            canvas[:, index] = new
            done += len(positions)
            nfe = calls_before + session.network_calls
            step = schedule.step_of(positions[0], sweep)
            yield SamplerEvent(
                canvas.cpu().clone(), tuple(positions), old.cpu(), new.cpu(), step, sweep, nfe, done, total
            )


def sample_tokens(denoiser: Denoiser, schedule: GlauberSchedule, noise: NoiseDistribution, **kwargs) -> torch.Tensor:
    """Run :func:`sample` to the end and return the final canvas (B, L)."""
    *_, last = sample(denoiser, schedule, noise, **kwargs)
    return last.tokens

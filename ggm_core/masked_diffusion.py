"""The masked diffusion baseline MD4 (Shi et al., arXiv 2406.04329), on the GGM transformer backbone.

Forward process (MD4 §2): each token is kept with probability α_t, else replaced by the mask id
``V``; here α_t = 1 − t (the linear schedule). The denoiser predicts p_θ(x_0^i | x_t) at every
position. Loss: the continuous-time ELBO (MD4 eq. 5 with α'_t / (1 − α_t) = −1/t),

    −ELBO = ∫_0^1 (1/t) · E[ Σ_{i masked in x_t} −log p_θ(x_0^i | x_t) ] dt,

reported per position (divided by L). Sampling (MD4 §3): from t to s < t each masked position is
revealed with probability (α_s − α_t)/(1 − α_t) = (t − s)/t, its token drawn from p_θ(· | x_t).
The exact posterior p(x_0^i | x_t) does not depend on t, so with exact predictions every grid,
and the limit of one reveal per call in a uniformly random order, samples the data law exactly.
"""

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ggm_core.denoisers.transformer import Block, OutputHead, TimeEmbedding, TransformerConfig
from ggm_core.sampler import SamplerEvent, heat_bath_probs, known_mask_from, sample_categorical

MIN_TIME = 1e-3  # training times are drawn in [MIN_TIME, 1]: the 1/t weight stays bounded


class MaskedDenoiser(nn.Module):
    """Bidirectional time-conditioned transformer: tokens in {0..V} (V = mask) → logits over {0..V-1}."""

    kind = "md4"

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.token_embedding = nn.Embedding(config.vocab_size + 1, d)  # row V is the mask token
        # std 0.02 like the position embedding (GPT-2's init), so the positions are not ~2% of the input as
        # with torch's N(0, 1); neither start got MD4 off the unigram plateau here (docs/benchmarks.md)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        self.position_embedding = nn.Parameter(torch.randn(config.seq_len, d) * 0.02)
        self.time_embedding = TimeEmbedding(d)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.head = OutputHead(config)  # zero-initialised: uniform predictions at init

    @property
    def mask_id(self) -> int:
        return self.config.vocab_size

    def forward(self, tokens: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Logits of p_θ(x_0^i | x_t) at every position, (B, L, V); ``tokens`` (B, L), ``t`` (B,) in [0, 1]."""
        x = self.token_embedding(tokens) + self.position_embedding
        cond = self.time_embedding(t)[:, None, :]
        for block in self.blocks:
            x = block(x, block.modulations(cond))
        return self.head(x, cond)


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


def masked_diffusion_loss(
    denoiser: MaskedDenoiser, x0: torch.Tensor, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, int]:
    """Monte Carlo −ELBO per position on clean sequences (B, L), and the number of masked positions.

    Per sequence: (1/t) · Σ_{masked i} −log p_θ(x_0^i | x_t) / L, averaged over the batch.
    """
    batch, length = x0.shape
    t = antithetic_times(batch, generator)
    xt, masked = mask_tokens(x0, t, denoiser.config.vocab_size, generator)
    t = t.to(x0.device)
    logits = denoiser(xt, t.float())
    nll = F.cross_entropy(logits.float().transpose(1, 2), x0, reduction="none")  # (B, L)
    per_sequence = (nll * masked).sum(-1) / (length * t.float())
    return per_sequence.mean(), int(masked.sum())


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
    seed: int = 0,
    generator: torch.Generator | None = None,
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
    ``updates_done`` the fewest positions any sequence has revealed. Known positions are clamped.
    """
    if steps is not None and steps < 1:
        raise ValueError(f"steps must be ≥ 1 or None, got {steps}")
    V, L, mask_id = denoiser.config.vocab_size, denoiser.config.seq_len, denoiser.config.vocab_size
    device = next(denoiser.parameters()).device
    generator = generator if generator is not None else torch.Generator().manual_seed(seed)
    known_mask = known_mask_from(known, L)
    canvas = torch.full((batch_size, L), mask_id, dtype=torch.long, device=device)
    if known_mask.any():
        if known_tokens is None:
            raise ValueError("known positions given without known_tokens")
        known_tokens = torch.as_tensor(known_tokens, device=device).expand(batch_size, L)
        if known_tokens[:, known_mask].min() < 0 or known_tokens[:, known_mask].max() >= V:
            raise ValueError(f"known tokens must lie in [0, {V})")
        canvas[:, known_mask] = known_tokens[:, known_mask]
    free = (~known_mask).nonzero().flatten()  # unknown positions, CPU
    pending = (~known_mask).expand(batch_size, L).clone()  # still masked, CPU
    total, nfe = len(free), 0
    empty = torch.empty(batch_size, 0, dtype=torch.long)
    yield SamplerEvent(canvas.cpu().clone(), (), empty, empty, 0, 0, 0, 0, total)
    if total == 0:
        return
    zeros = torch.zeros(V, dtype=torch.float64)
    denoiser.eval()

    def reveal(rows: torch.Tensor, cols: torch.Tensor, t: torch.Tensor, step: int) -> SamplerEvent:
        """One network call at times ``t`` (B,); draw the tokens at (rows, cols) and write them."""
        nonlocal nfe
        logits = denoiser(canvas, t.to(device=device, dtype=torch.float32))
        nfe += 1
        probs = heat_bath_probs(logits[rows.to(device), cols.to(device)], zeros, temperature, top_p)
        drawn = sample_categorical(probs, generator)
        index = cols.unique()
        old = canvas[:, index.to(device)].cpu()
        canvas[rows.to(device), cols.to(device)] = drawn.to(device)
        pending[rows, cols] = False
        done = int(total - pending.sum(1).max())
        new = canvas[:, index.to(device)].cpu()
        return SamplerEvent(canvas.cpu().clone(), tuple(index.tolist()), old, new, step, 0, nfe, done, total)

    if steps is None:
        times, order = torch.rand(batch_size, total, dtype=torch.float64, generator=generator).sort(1, descending=True)
        rows = torch.arange(batch_size)
        for k in range(total):
            yield reveal(rows, free[order[:, k]], times[:, k], k)
        return
    grid = time_grid(steps)
    for i in range(steps):
        t, s = grid[i], grid[i + 1]
        coins = torch.rand(batch_size, L, dtype=torch.float64, generator=generator)
        chosen = pending & (coins < (t - s) / t) if s > 0 else pending.clone()
        if chosen.any():
            rows, cols = chosen.nonzero(as_tuple=True)
            yield reveal(rows, cols, torch.full((batch_size,), t, dtype=torch.float64), i)


@dataclass
class MaskedDiffusionModel:
    """An MD4 model: the denoiser and an optional tokenizer (the training loop's family interface)."""

    denoiser: MaskedDenoiser
    tokenizer: Any = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        vocab = self.denoiser.config.vocab_size
        if self.tokenizer is not None and self.tokenizer.vocab_size != vocab:
            raise ValueError(f"tokenizer vocab_size {self.tokenizer.vocab_size} != denoiser vocab_size {vocab}")

    @property
    def network(self) -> nn.Module:
        return self.denoiser

    @property
    def mask_id(self) -> int:
        return self.denoiser.config.vocab_size

    def loss(self, x0: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, int]:
        """−ELBO per position on clean sequences (B, L), and the number of masked (supervised) positions."""
        return masked_diffusion_loss(self.denoiser, x0, generator)

    def sample(self, **kwargs) -> Iterator[SamplerEvent]:
        """The sampler's event stream (see :func:`sample_masked`)."""
        return sample_masked(self.denoiser, **kwargs)

    def generate_tokens(self, count: int, seed: int) -> torch.Tensor:
        """``count`` unconditional samples from the exact chain (``steps=None``), (count, L)."""
        *_, last = self.sample(batch_size=count, seed=seed)
        return last.tokens

    def save(self, folder, dtype: torch.dtype = torch.float32):
        """Write a checkpoint folder (see :func:`ggm_core.checkpoint.save_model`)."""
        from ggm_core.checkpoint import save_model  # checkpoint imports this module

        return save_model(self, folder, dtype)

"""Categorical draws shared by every family: float64 probabilities, inverse-CDF sampling from a seeded generator.

Float64 throughout: float32 Gumbel or CDF noise quietly lowers the temperature of rare tokens.
"""

from collections.abc import Sequence

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
    u = torch.rand(cdf.shape[0], 1, dtype=torch.float64, generator=generator)
    return _inverse_cdf(cdf, u).view(probs.shape[:-1]).to(probs.device)


def _inverse_cdf(cdf: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """The index of the first CDF entry above ``u`` (N, 1) uniforms scaled to each row's total."""
    return torch.searchsorted(cdf, u * cdf[:, -1:], right=True).clamp_(max=cdf.shape[-1] - 1).flatten()


class RowSeeds:
    """The random source of a batch: one generator for every row (an int ``seed``, or a given ``generator``: one
    call draws for the whole batch, fast for the tests' 30,000-row batches), or one generator per row (``seed`` a
    sequence of ints, one per row). Row b's draws then come from its own generator in the order a batch of one
    draws them, so a seed gives the same draws alone or batched with other runs (the app's batcher relies on it).
    """

    def __init__(self, seed: int | Sequence[int], batch_size: int, generator: torch.Generator | None = None):
        if isinstance(seed, int) or generator is not None:
            self.shared = generator if generator is not None else torch.Generator().manual_seed(int(seed))
            self.per_row = None
        else:
            if len(seed) != batch_size:
                raise ValueError(f"{len(seed)} seeds for a batch of {batch_size}: give one per row")
            self.shared, self.per_row = None, [torch.Generator().manual_seed(int(s)) for s in seed]
        self.batch_size = batch_size

    def rand(self, shape: tuple[int, ...]) -> torch.Tensor:
        """Float64 uniforms of ``shape``, whose first axis is the batch."""
        if self.per_row is None:
            return torch.rand(shape, dtype=torch.float64, generator=self.shared)
        return torch.cat([torch.rand((1, *shape[1:]), dtype=torch.float64, generator=g) for g in self.per_row])

    def rand_rows(self, rows: torch.Tensor) -> torch.Tensor:
        """One float64 uniform per entry of ``rows`` (ascending row indices), each from its row's generator."""
        if self.per_row is None:
            return torch.rand(len(rows), dtype=torch.float64, generator=self.shared)
        counts = torch.bincount(torch.as_tensor(rows), minlength=self.batch_size).tolist()
        return torch.cat(
            [torch.rand(n, dtype=torch.float64, generator=g) for g, n in zip(self.per_row, counts, strict=True)]
        )

    def categorical(self, probs: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """Inverse-CDF draws from ``probs`` (B, ..., V), or (N, V) with ``rows`` naming each one's batch row."""
        cdf = probs.reshape(-1, probs.shape[-1]).to("cpu", torch.float64).cumsum(-1)
        u = self.rand_rows(rows) if rows is not None else self.rand((probs.shape[0], cdf.shape[0] // probs.shape[0]))
        return _inverse_cdf(cdf, u.reshape(-1, 1)).view(probs.shape[:-1]).to(probs.device)

    def multinomial(self, probs: torch.Tensor, per_row: int) -> torch.Tensor:
        """(B, ``per_row``) draws from one distribution ``probs`` (V,), with replacement."""
        if self.per_row is None:
            draws = torch.multinomial(probs, self.batch_size * per_row, replacement=True, generator=self.shared)
            return draws.view(self.batch_size, per_row)
        return torch.stack([torch.multinomial(probs, per_row, replacement=True, generator=g) for g in self.per_row])

    def binomial(self, counts: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
        """Binomial(counts, probs) elementwise (float64, the batch first)."""
        probs = probs.expand_as(counts).contiguous()
        if self.per_row is None:
            return torch.binomial(counts, probs, generator=self.shared)
        return torch.cat(
            [torch.binomial(c[None], p[None], generator=g) for c, p, g in zip(counts, probs, self.per_row, strict=True)]
        )

"""Noise distribution μ over the vocabulary: uniform, or smoothed unigram of the training data."""

from collections.abc import Iterable

import torch


class NoiseDistribution:
    """A full-support distribution μ over ``{0..V-1}``, held in float64."""

    def __init__(self, probs: torch.Tensor, kind: str = "custom") -> None:
        probs = torch.as_tensor(probs, dtype=torch.float64).flatten()
        if probs.numel() < 2 or not bool(torch.isfinite(probs).all()) or not bool((probs > 0).all()):
            raise ValueError("noise probabilities must be finite and strictly positive (full support)")
        self.probs = probs / probs.sum()
        self.kind = kind

    @classmethod
    def uniform(cls, vocab_size: int) -> "NoiseDistribution":
        return cls(torch.full((vocab_size,), 1.0 / vocab_size), kind="uniform")

    @classmethod
    def unigram(cls, token_ids: Iterable[torch.Tensor], vocab_size: int, smoothing: float = 1.0) -> "NoiseDistribution":
        """μ(a) ∝ count(a) + smoothing over the given token id tensors."""
        counts = torch.full((vocab_size,), float(smoothing), dtype=torch.float64)
        for ids in token_ids:
            counts += torch.bincount(torch.as_tensor(ids).flatten(), minlength=vocab_size).to(torch.float64)
        return cls(counts, kind="unigram")

    @property
    def vocab_size(self) -> int:
        return self.probs.numel()

    @property
    def log_probs(self) -> torch.Tensor:
        return self.probs.log()

    def sample(self, shape: tuple[int, ...], generator: torch.Generator | None = None) -> torch.Tensor:
        n = 1
        for s in shape:
            n *= s
        draws = torch.multinomial(self.probs, n, replacement=True, generator=generator)
        return draws.view(shape)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "probs": self.probs.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "NoiseDistribution":
        """From :meth:`to_dict`; the probabilities must already sum to 1 (a checkpoint is not silently renormalised)."""
        probs = torch.tensor(d["probs"], dtype=torch.float64)
        if abs(float(probs.sum()) - 1.0) > 1e-6:
            raise ValueError(f"noise probabilities sum to {float(probs.sum()):.6g}, not 1")
        return cls(probs, kind=d.get("kind", "custom"))

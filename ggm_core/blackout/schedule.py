"""Blackout's observation times (the authors' code): T times t_1 < … < t_T with logit(e^{−t_k}) evenly spaced
from +L to −L (L = 15), so the survival p_k = e^{−t_k} runs from 1 − 3·10⁻⁷ down to 3·10⁻⁷; t_0 = 0.

The training weight of time k, w_k = p_k · (t_k − t_{k−1}) · T (uniform sampling of k, ``weighting =
"elbo"``), makes the loss a Riemann sum of the continuous-time objective; ``"uniform"`` (w_k = 1, like DDPM's
L_simple) gives the low-survival times, where an image's layout is drawn from a few surviving units, as much
weight as the rest (the ELBO weight there is 10⁻²–10⁻⁵ of its peak). Either is minimised at the same ŷ.

A sampler with a budget of N < T steps visits N of the times, evenly spaced in index, and bridges straight
between them.
"""

import math
from dataclasses import dataclass
from functools import cached_property

import torch

WEIGHTINGS = ("elbo", "uniform")


@dataclass(frozen=True)
class BlackoutSchedule:
    steps: int = 1000
    logit_end: float = 15.0
    weighting: str = "elbo"  # or "uniform"

    def __post_init__(self) -> None:
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {self.weighting!r}")
        if self.steps < 2:
            raise ValueError(f"steps must be ≥ 2, got {self.steps}")
        if not self.logit_end > 0:
            raise ValueError(f"logit_end must be > 0, got {self.logit_end}")

    @cached_property
    def survival(self) -> torch.Tensor:
        """p_0 = 1, p_1, …, p_T (float64, T + 1 values, strictly decreasing)."""
        logits = torch.linspace(self.logit_end, -self.logit_end, self.steps, dtype=torch.float64)
        return torch.cat([torch.ones(1, dtype=torch.float64), torch.sigmoid(logits)])

    @cached_property
    def times(self) -> torch.Tensor:
        """t_0 = 0, t_1, …, t_T = −log p_k."""
        return -self.survival.log()

    @cached_property
    def weights(self) -> torch.Tensor:
        """w_k for k = 1..T (index k − 1): p_k · (t_k − t_{k−1}) · T, or 1 (``weighting = "uniform"``)."""
        if self.weighting == "uniform":
            return torch.ones(self.steps, dtype=torch.float64)
        return self.survival[1:] * self.times.diff() * self.steps

    def last_index_from(self, survival: float) -> int:
        """The observation index at which a reverse run first reaches ``survival`` (the largest k with p_k ≥ it)."""
        return int((self.survival >= survival).nonzero().max())

    def grid(self, budget: int, end: int = 0) -> list[int]:
        """The observation indices a ``budget``-step sampler visits, from T down to ``end`` (budget + 1 indices,
        evenly spaced in index; ``end`` 0 is the clean image's time)."""
        if not 1 <= budget <= self.steps:
            raise ValueError(f"a Blackout budget must be in [1, {self.steps}] steps, got {budget}")
        index = torch.linspace(self.steps, end, budget + 1, dtype=torch.float64).round().long()
        return index.tolist()

    def to_dict(self) -> dict:
        return {"steps": self.steps, "logit_end": self.logit_end, "weighting": self.weighting}

    @classmethod
    def from_dict(cls, d: dict) -> "BlackoutSchedule":
        return cls(int(d["steps"]), float(d["logit_end"]), str(d.get("weighting", "elbo")))

    @property
    def end_survival(self) -> float:
        """p_T = σ(−L): what is left of the signal at the last observation time."""
        return 1 / (1 + math.exp(self.logit_end))

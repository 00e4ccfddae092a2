"""Glauber schedule: visiting order and keep probabilities κ_t (docs/math.md, "Forward process").

Step ``t`` (0 ≤ t < T = K·L) visits position ``order[t mod L]``. Sweep ``k = t // L`` takes every
position from survival ``g(k/K)`` to ``g((k+1)/K)``, so ``κ_t = g((k+1)/K) / g(k/K)``, strictly inside
(0, 1) for a strictly decreasing ``g`` with ``g(0) = 1`` and ``g(1) = ε > 0``. After the last sweep
every position survives with probability ε, so x_T is μ^L up to ε. (Keying the survival to the
step instead, ``g((t+1)/T)``, would leave the first positions of the last sweep with survival
``g(1 - (L-1)/T)``, 0.38 for K = 4: x_T would be far from the μ^L the reverse chain starts from.)
The default order visits ``L-1, …, 0`` so that the reverse chain runs left to right.
"""

import math
from dataclasses import dataclass
from functools import cached_property

import torch

SURVIVAL_KINDS = ("cosine", "linear")


@dataclass(frozen=True)
class GlauberSchedule:
    """Fixed-order Glauber dynamics over ``seq_len`` positions for ``sweeps`` sweeps."""

    seq_len: int
    sweeps: int
    kind: str = "cosine"
    eps: float = 1e-3
    order: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.seq_len < 1 or self.sweeps < 1:
            raise ValueError(f"seq_len and sweeps must be ≥ 1, got {self.seq_len}, {self.sweeps}")
        if self.kind not in SURVIVAL_KINDS:
            raise ValueError(f"unknown survival schedule {self.kind!r}; choose from {SURVIVAL_KINDS}")
        if not 0.0 < self.eps < 1.0:
            raise ValueError(f"eps must be inside (0, 1), got {self.eps}")
        if self.order is not None and sorted(self.order) != list(range(self.seq_len)):
            raise ValueError("order must be a permutation of range(seq_len)")

    @property
    def num_steps(self) -> int:
        """T = K·L."""
        return self.seq_len * self.sweeps

    @cached_property
    def visit_order(self) -> torch.Tensor:
        """Forward visiting order σ within a sweep, shape (L,)."""
        if self.order is None:
            return torch.arange(self.seq_len - 1, -1, -1)
        return torch.tensor(self.order, dtype=torch.long)

    @cached_property
    def rank(self) -> torch.Tensor:
        """rank[j] = index of position j in the visiting order, shape (L,)."""
        rank = torch.empty(self.seq_len, dtype=torch.long)
        rank[self.visit_order] = torch.arange(self.seq_len)
        return rank

    @property
    def is_left_to_right(self) -> bool:
        """True when the reverse chain visits positions 0, 1, …, L-1 in each sweep."""
        return bool(torch.equal(self.visit_order, torch.arange(self.seq_len - 1, -1, -1)))

    def survival(self, s: torch.Tensor) -> torch.Tensor:
        """g(s) in float64; g(s) = 1 for s ≤ 0."""
        s = torch.as_tensor(s, dtype=torch.float64).clamp(min=0.0, max=1.0)
        if self.kind == "cosine":
            g = self.eps + (1.0 - self.eps) * torch.cos(math.pi * s / 2)
        else:
            g = 1.0 - (1.0 - self.eps) * s
        return g

    @cached_property
    def kappa(self) -> torch.Tensor:
        """κ_t for t = 0..T-1, float64, every entry strictly inside (0, 1)."""
        sweep = torch.arange(self.num_steps, dtype=torch.float64).div(self.seq_len).floor()
        kappa = self.survival((sweep + 1) / self.sweeps) / self.survival(sweep / self.sweeps)
        if not bool(((kappa > 0) & (kappa < 1)).all()):
            raise ValueError("schedule produced κ_t outside (0, 1)")
        return kappa

    def position(self, t: int) -> int:
        """Position visited at step t."""
        return int(self.visit_order[t % self.seq_len])

    def step_of(self, position: int, sweep: int) -> int:
        """Step at which ``position`` is visited during ``sweep``."""
        return sweep * self.seq_len + int(self.rank[position])

    def time(self, step) -> torch.Tensor:
        """τ = (t + 1)/T, the time input of a prediction at step t (float64); the clean context's is 0."""
        return (torch.as_tensor(step, dtype=torch.float64) + 1) / self.num_steps

    def survival_at(self, t: torch.Tensor) -> torch.Tensor:
        """α_j(t): probability that position j of x_t still holds x_0^j, shape (*t.shape, L), float64.

        The product of κ over a position's n visits before step t telescopes to g(n/K).
        """
        t = torch.as_tensor(t, dtype=torch.long)[..., None]
        visits = torch.where(t > self.rank, (t - 1 - self.rank) // self.seq_len + 1, torch.zeros_like(t - self.rank))
        return self.survival(visits.to(torch.float64) / self.sweeps)

    def with_sweeps(self, sweeps: int) -> "GlauberSchedule":
        """The same schedule with a different number of sweeps (exact only for the trained value)."""
        return GlauberSchedule(self.seq_len, sweeps, self.kind, self.eps, self.order)

    def to_dict(self) -> dict:
        return {
            "seq_len": self.seq_len,
            "sweeps": self.sweeps,
            "kind": self.kind,
            "eps": self.eps,
            "order": list(self.order) if self.order is not None else None,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "GlauberSchedule":
        order = d.get("order")
        return cls(
            int(d["seq_len"]),
            int(d["sweeps"]),
            d.get("kind", "cosine"),
            float(d.get("eps", 1e-3)),
            tuple(order) if order is not None else None,
        )

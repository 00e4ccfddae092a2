"""The clean context (docs/math.md, "Infilling that is exact in the limit"): position i read against the rest
of a clean sequence, for the refinement sweeps that make GGM infilling exact in the limit.

A denoiser trained with ``clean_share > 0`` learns, beside its K sweeps, one more task: a clean sequence x_0,
the candidate at i kept with probability ``CLEAN_KAPPA`` (else a fresh μ draw), the clean x_0^{-i} as context,
every time input 0. The same signal-vs-noise loss then has the Bayes classifier
D = κ*P_0(a|u) / (κ*P_0(a|u) + (1-κ*)μ(a)), so h → log(P_0(a | x^{-i})/μ(a)): the data's full conditional.
The denoisers take the clean context as the sweep index ``CLEAN_SWEEP``.
"""

import torch

CLEAN_SWEEP = -1  # the sweep index that selects the clean context in a denoiser
CLEAN_KAPPA = 0.5  # κ*: the keep probability of the clean task's candidate


def clean_rows(batch: int, share: float, generator: torch.Generator | None) -> torch.Tensor:
    """Which sequences of a batch train the clean context, (B,) bool, each with probability ``share``.

    Draws nothing when ``share`` is 0, so a model trained without the clean context sees the same random
    streams as before it existed.
    """
    if share <= 0:
        return torch.zeros(batch, dtype=torch.bool)
    return torch.rand(batch, dtype=torch.float64, generator=generator) < share

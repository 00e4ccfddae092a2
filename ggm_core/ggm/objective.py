"""GGM's training objective: signal-vs-noise classification (docs/math.md, "The reduction to binary
classification"), the clean-context share and the weighting per step, for every denoiser.

The network outputs h ∈ R^V at the visited position; the classifier logit is ℓ = h + log(κ_t/(1-κ_t)).
The Bayes classifier D = κP/(κP + (1-κ)μ) corresponds to h = log(P_t(a|u)/μ(a)). A denoiser draws the noisy
contexts it supervises (:class:`TrainingDraw`) and returns h at the supervised positions; :func:`training_loss`
owns the rest.
"""

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from ggm_core.ggm.clean_context import CLEAN_KAPPA, clean_rows


def log_odds(kappa: torch.Tensor) -> torch.Tensor:
    """log(κ/(1-κ))."""
    return torch.log(kappa) - torch.log1p(-kappa)


def classifier_logit(h: torch.Tensor, kappa: torch.Tensor) -> torch.Tensor:
    """ℓ = h + log(κ_t/(1-κ_t)); ``kappa`` broadcasts against ``h[..., 0]``."""
    return h + log_odds(kappa).to(h.dtype)[..., None]


def h_from_classifier_logit(logit: torch.Tensor, kappa: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`classifier_logit`: h = ℓ - log(κ_t/(1-κ_t))."""
    return logit - log_odds(kappa).to(logit.dtype)[..., None]


def signal_vs_noise_loss(
    h: torch.Tensor, target: torch.Tensor, kappa: torch.Tensor, noise_probs: torch.Tensor
) -> torch.Tensor:
    """Binary cross-entropy averaged in closed form over the step's coin and noise draw.

    loss = κ_t · softplus(-ℓ[x_t^i]) + (1-κ_t) · Σ_a μ(a) · softplus(ℓ[a])

    ``h``: (..., V); ``target``: (...) the token before the step; ``kappa``: (...). Returns (...).
    """
    logit = classifier_logit(h, kappa)
    kappa = kappa.to(h.dtype)
    positive = F.softplus(-logit.gather(-1, target[..., None]).squeeze(-1))
    negative = (F.softplus(logit) * noise_probs.to(h.dtype)).sum(-1)
    return kappa * positive + (1 - kappa) * negative


def step_weight(kappa: torch.Tensor) -> torch.Tensor:
    """Training weight 1/(κ_t(1-κ_t)) of step t's loss.

    The loss's gradient scales like κ_t(1-κ_t) (for κ → 0 it is κ times a cross-entropy), so without
    it the steps with κ_t near 0 or 1 (the first reverse sweep, from pure noise) would barely train.
    A positive weight per step leaves each step's minimiser, the Bayes classifier, unchanged.
    """
    return 1.0 / (kappa * (1.0 - kappa))


@dataclass(frozen=True)
class TrainingDraw:
    """The contexts of one training batch, as a denoiser draws them from clean sequences x_0 (B, L).

    ``inputs``: the token sequences the network reads, (B, L) each (classic: x_t; two-sided: the sweep's
    B and A states); ``step``: per sequence, where in the chain it is (classic: the step t; two-sided: the
    sweep k); ``kappa``: the keep probability of each supervised step, (B,) or (B, L); ``clean``: (B,) the
    rows given the clean context instead (set by :func:`training_loss`), or None.
    """

    inputs: tuple[torch.Tensor, ...]
    step: torch.Tensor
    kappa: torch.Tensor
    clean: torch.Tensor | None = None

    def with_clean_rows(self, x0: torch.Tensor, clean: torch.Tensor) -> "TrainingDraw":
        """Rows ``clean`` in the clean context (ggm_core.ggm.clean_context): every input x_0, κ = κ*."""
        rows = clean.view(-1, *[1] * (self.kappa.dim() - 1))
        inputs = tuple(torch.where(clean[:, None], x0, x) for x in self.inputs)
        return replace(self, inputs=inputs, kappa=torch.where(rows, CLEAN_KAPPA, self.kappa), clean=clean)


def training_loss(denoiser, x0, schedule, noise, generator=None, clean_share: float = 0.0):
    """Mean weighted signal-vs-noise loss on clean sequences ``x0`` (B, L), and the number of supervised
    positions: the denoiser draws its contexts (``training_draw``), a ``clean_share`` of the rows is given the
    clean context instead, the denoiser gives h and the targets there (``training_h``), and each step's loss is
    weighted by :func:`step_weight`."""
    draw = denoiser.training_draw(x0, schedule, noise, generator)
    clean = clean_rows(x0.shape[0], clean_share, generator).to(x0.device)
    if clean.any():
        draw = draw.with_clean_rows(x0, clean)
    h, target = denoiser.training_h(draw, schedule)
    h = h.float()  # the loss in fp32 under bf16 autocast
    kappa = draw.kappa.to(x0.device)
    loss = signal_vs_noise_loss(h, target, kappa, noise.probs.to(x0.device)) * step_weight(kappa).to(h.dtype)
    return loss.mean(), target.numel()

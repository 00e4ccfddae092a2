"""Signal-vs-noise classification (docs/math.md, "The reduction to binary classification").

The network outputs h ∈ R^V at the visited position; the classifier logit is ℓ = h + log(κ_t/(1-κ_t)).
The Bayes classifier D = κP/(κP + (1-κ)μ) corresponds to h = log(P_t(a|u)/μ(a)).
"""

import torch
import torch.nn.functional as F


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

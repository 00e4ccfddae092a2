"""MD4's loss: the continuous-time ELBO (MD4 eq. 5 with α'_t / (1 − α_t) = −1/t for the linear schedule),

    −ELBO = ∫_0^1 (1/t) · E[ Σ_{i masked in x_t} −log p_θ(x_0^i | x_t) ] dt,

estimated by Monte Carlo and reported per position (divided by L).
"""

import torch
import torch.nn.functional as F

from ggm_core.md4.forward import antithetic_times, mask_tokens
from ggm_core.md4.network import MaskedDenoiser


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

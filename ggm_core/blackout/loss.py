"""Blackout's loss: for a pixel with n_t alive of n_0 at observation time k, the network's positive output
ŷ estimates the births still to come, E[n_0 − n_t | n_t]; the Poisson-type loss

    w_k · (ŷ − (n_0 − n_t) · log ŷ)

has expectation w_k · (ŷ − E[n_0 − n_t | n_t] · log ŷ) given n_t, minimised exactly at ŷ = E[n_0 − n_t | n_t]
(its derivative in ŷ is w_k · (1 − E[·]/ŷ)).
"""

import torch


def blackout_loss(predicted: torch.Tensor, births: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Elementwise w · (ŷ − b · log ŷ) for positive ``predicted`` ŷ, ``births`` b = n_0 − n_t; ``weight`` broadcasts."""
    return weight * (predicted - births.to(predicted.dtype) * torch.log(predicted))

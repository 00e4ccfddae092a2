"""Blackout Diffusion (Santos, Fox, Lubbers, Lin, arXiv 2305.11089): a discrete-state diffusion on integer
pixel intensities whose forward process is a pure death process and whose reverse is a birth process.

One concept per file: ``schedule`` (the observation times), ``forward`` (binomial thinning, and a literal
simulator), ``loss`` (the Poisson-type loss on E[n_0 − n_t | n_t]), ``sampler`` (the binomial bridge, as
the event stream every family yields), ``network`` (a small U-Net), ``pixels`` (counts as the canvas),
``model`` (the family). The formulation is in docs/math.md, "Blackout Diffusion".
"""

from ggm_core.blackout.forward import simulate_lifetimes, thin, thin_successively
from ggm_core.blackout.loss import blackout_loss
from ggm_core.blackout.model import BlackoutModel
from ggm_core.blackout.network import PixelUNet, UNetConfig
from ggm_core.blackout.sampler import sample_blackout
from ggm_core.blackout.schedule import BlackoutSchedule
from ggm_core.tokenizers.pixels import PixelTokenizer

__all__ = [
    "BlackoutModel",
    "BlackoutSchedule",
    "PixelTokenizer",
    "PixelUNet",
    "UNetConfig",
    "blackout_loss",
    "sample_blackout",
    "simulate_lifetimes",
    "thin",
    "thin_successively",
]

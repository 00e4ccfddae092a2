"""The Glauber Generative Model (arXiv 2405.17035): heat-bath dynamics learned by binary signal-vs-noise
classification.

One concept per file: ``schedule`` (visiting order, survival, κ_t), ``noise`` (μ), ``forward`` (the forward
process, closed form and literal), ``objective`` (the signal-vs-noise loss, the training draw of t and the
clean-context share), ``clean_context`` (the context refinement sweeps read), ``sampler`` (the heat-bath chain
as an event stream), ``denoisers/`` (the networks that return h), ``model`` (the family). The formulation is in
docs/math.md.
"""

from ggm_core.ggm.denoisers import ClassicDenoiser, Denoiser, TwoSidedDenoiser, build_denoiser
from ggm_core.ggm.forward import sample_sweep_pair, sample_xt, simulate_forward
from ggm_core.ggm.model import GlauberModel
from ggm_core.ggm.noise import NoiseDistribution
from ggm_core.ggm.objective import signal_vs_noise_loss
from ggm_core.ggm.sampler import heat_bath_probs, sample, sample_tokens
from ggm_core.ggm.schedule import GlauberSchedule

__all__ = [
    "ClassicDenoiser",
    "Denoiser",
    "GlauberModel",
    "GlauberSchedule",
    "NoiseDistribution",
    "TwoSidedDenoiser",
    "build_denoiser",
    "heat_bath_probs",
    "sample",
    "sample_sweep_pair",
    "sample_tokens",
    "sample_xt",
    "signal_vs_noise_loss",
    "simulate_forward",
]

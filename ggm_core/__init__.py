"""Glauber Generative Model: exact discrete diffusion by heat-bath dynamics and binary classification."""

from ggm_core.checkpoint import CheckpointError, load_model, save_model
from ggm_core.denoisers import ClassicDenoiser, Denoiser, TransformerConfig, build_denoiser
from ggm_core.forward import sample_sweep_pair, sample_xt, simulate_forward
from ggm_core.loss import signal_vs_noise_loss
from ggm_core.masked_diffusion import MaskedDenoiser, MaskedDiffusionModel, masked_diffusion_loss, sample_masked
from ggm_core.model import GlauberModel
from ggm_core.noise import NoiseDistribution
from ggm_core.sampler import SamplerEvent, heat_bath_probs, sample, sample_tokens
from ggm_core.schedule import GlauberSchedule

__all__ = [
    "CheckpointError",
    "ClassicDenoiser",
    "Denoiser",
    "GlauberModel",
    "GlauberSchedule",
    "MaskedDenoiser",
    "MaskedDiffusionModel",
    "NoiseDistribution",
    "SamplerEvent",
    "TransformerConfig",
    "build_denoiser",
    "heat_bath_probs",
    "load_model",
    "masked_diffusion_loss",
    "sample",
    "sample_masked",
    "sample_sweep_pair",
    "sample_tokens",
    "sample_xt",
    "save_model",
    "signal_vs_noise_loss",
    "simulate_forward",
]

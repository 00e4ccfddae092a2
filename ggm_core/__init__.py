"""Glauber Generative Model: exact discrete diffusion by heat-bath dynamics and binary classification."""

from ggm_core.checkpoint import FAMILIES, CheckpointError, load_model, save_model
from ggm_core.clamp import clamp_known, known_mask_from
from ggm_core.denoisers import ClassicDenoiser, Denoiser, TransformerConfig, build_denoiser
from ggm_core.draws import categorical_probs, sample_categorical
from ggm_core.events import SamplerEvent, run_to_end
from ggm_core.family import GenerativeModel, Knob
from ggm_core.forward import sample_sweep_pair, sample_xt, simulate_forward
from ggm_core.loss import signal_vs_noise_loss
from ggm_core.md4 import MaskedDenoiser, MaskedDiffusionModel, masked_diffusion_loss, sample_masked
from ggm_core.model import GlauberModel
from ggm_core.noise import NoiseDistribution
from ggm_core.sampler import heat_bath_probs, sample, sample_tokens
from ggm_core.schedule import GlauberSchedule

__all__ = [
    "FAMILIES",
    "CheckpointError",
    "ClassicDenoiser",
    "Denoiser",
    "GenerativeModel",
    "GlauberModel",
    "GlauberSchedule",
    "Knob",
    "MaskedDenoiser",
    "MaskedDiffusionModel",
    "NoiseDistribution",
    "SamplerEvent",
    "TransformerConfig",
    "build_denoiser",
    "categorical_probs",
    "clamp_known",
    "heat_bath_probs",
    "known_mask_from",
    "load_model",
    "masked_diffusion_loss",
    "run_to_end",
    "sample",
    "sample_categorical",
    "sample_masked",
    "sample_tokens",
    "sample_sweep_pair",
    "sample_xt",
    "save_model",
    "signal_vs_noise_loss",
    "simulate_forward",
]

"""Glauber Generative Model: exact discrete diffusion by heat-bath dynamics and binary classification.

Packages by concept: ``ggm/`` (the GGM family), ``md4/`` and ``blackout/`` (its neighbours), ``tokenizers/``;
the shared parts beside them: ``family`` (the interface every family offers), ``registry`` (families and
tokenizers by name), ``events``, ``clamp``, ``draws``, ``checkpoint`` / ``saving``, ``transformer`` (the
backbone blocks), ``text_infill`` and ``image_infill``. Importing the package registers the three families
and the tokenizers.
"""

from ggm_core import blackout, ggm, md4, tokenizers  # noqa: F401  (each registers itself)
from ggm_core.checkpoint import CheckpointError, load_model, save_model
from ggm_core.clamp import clamp_known, known_mask_from
from ggm_core.draws import categorical_probs, sample_categorical
from ggm_core.events import SamplerEvent, run_to_end
from ggm_core.family import GenerativeModel, Knob
from ggm_core.ggm import (
    ClassicDenoiser,
    Denoiser,
    GlauberModel,
    GlauberSchedule,
    NoiseDistribution,
    build_denoiser,
    heat_bath_probs,
    sample,
    sample_sweep_pair,
    sample_tokens,
    sample_xt,
    signal_vs_noise_loss,
    simulate_forward,
)
from ggm_core.md4 import MaskedDenoiser, MaskedDiffusionModel, masked_diffusion_loss, sample_masked
from ggm_core.registry import FAMILIES, TOKENIZERS, register_family, register_tokenizer
from ggm_core.transformer import TransformerConfig

__all__ = [
    "FAMILIES",
    "TOKENIZERS",
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
    "register_family",
    "register_tokenizer",
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

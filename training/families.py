"""The model families the training loop trains, each built from the config and the data by a builder registered
under the family's name (``@trains("name")``: a family defined elsewhere registers its own).

Every family offers the training loop the same small interface:
``model.network`` (the trained ``nn.Module``), ``model.loss(x0, generator)`` returning the mean loss
and the number of supervised positions, ``model.generate_tokens(count, seed)`` for the periodic
samples, ``model.save(folder, dtype)`` and ``model.tokenizer``.
"""

from collections.abc import Callable

from ggm_core.blackout import BlackoutModel, BlackoutSchedule, PixelUNet, UNetConfig
from ggm_core.ggm.denoisers import build_denoiser
from ggm_core.ggm.model import GlauberModel
from ggm_core.ggm.noise import NoiseDistribution
from ggm_core.ggm.schedule import GlauberSchedule
from ggm_core.md4 import MaskedDenoiser, MaskedDiffusionModel
from ggm_core.transformer import TransformerConfig
from training.config import TrainConfig
from training.data import TokenData
from training.judge import build_judge

BUILDERS: dict[str, Callable[[TrainConfig, TokenData], object]] = {}


def trains(family: str) -> Callable:
    """Decorator: register ``builder(cfg, data)`` as the way to build ``family`` for training."""

    def register(builder: Callable) -> Callable:
        BUILDERS[family] = builder
        return builder

    return register


def backbone_config(cfg: TrainConfig, data: TokenData) -> TransformerConfig:
    return TransformerConfig(
        data.tokenizer.vocab_size, cfg.seq_len, cfg.d_model, cfg.n_layers, cfg.n_heads, cfg.mlp_ratio
    )


@trains("ggm")
def build_ggm(cfg: TrainConfig, data: TokenData) -> GlauberModel:
    vocab = data.tokenizer.vocab_size
    if cfg.noise == "unigram":
        noise = NoiseDistribution.unigram([data.train], vocab)
    elif cfg.noise == "uniform":
        noise = NoiseDistribution.uniform(vocab)
    else:
        raise ValueError(f"unknown noise {cfg.noise!r}: use 'unigram' or 'uniform'")
    schedule = GlauberSchedule(cfg.seq_len, cfg.sweeps, cfg.survival, cfg.eps)
    denoiser = build_denoiser(cfg.denoiser, backbone_config(cfg, data))
    return GlauberModel(denoiser, schedule, noise, data.tokenizer, clean_share=cfg.clean_share)


@trains("md4")
def build_md4(cfg: TrainConfig, data: TokenData) -> MaskedDiffusionModel:
    """The masked diffusion baseline (MD4, linear schedule) on the same backbone; ignores the GGM fields."""
    return MaskedDiffusionModel(MaskedDenoiser(backbone_config(cfg, data), cfg.positions), data.tokenizer)


@trains("blackout")
def build_blackout(cfg: TrainConfig, data: TokenData) -> BlackoutModel:
    """Blackout Diffusion on the faces' pixels (``dataset = "faces"``); ignores the transformer fields."""
    if getattr(data.tokenizer, "kind", None) != "pixels":
        raise ValueError("Blackout trains on pixels: use dataset = 'faces' with family = 'blackout'")
    widths = tuple(int(w) for w in cfg.widths.split(","))
    unet = PixelUNet(UNetConfig(data.tokenizer.image_size, data.tokenizer.channels, widths))
    return BlackoutModel(unet, BlackoutSchedule(weighting=cfg.blackout_weighting), data.tokenizer)


trains("judge")(build_judge)


def build_model(cfg: TrainConfig, data: TokenData):
    if cfg.family not in BUILDERS:
        raise ValueError(f"unknown model family {cfg.family!r}; known: {sorted(BUILDERS)}")
    return BUILDERS[cfg.family](cfg, data)

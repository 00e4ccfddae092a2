"""Denoisers, by the ``kind`` a checkpoint config names."""

from ggm_core.ggm.denoisers.base import Denoiser, SweepSession
from ggm_core.ggm.denoisers.classic import ClassicDenoiser
from ggm_core.ggm.denoisers.two_sided import TwoSidedDenoiser
from ggm_core.transformer import TransformerConfig

DENOISERS: dict[str, type[Denoiser]] = {ClassicDenoiser.kind: ClassicDenoiser, TwoSidedDenoiser.kind: TwoSidedDenoiser}


def build_denoiser(kind: str, config: TransformerConfig) -> Denoiser:
    if kind not in DENOISERS:
        raise ValueError(f"unknown denoiser kind {kind!r}; known: {sorted(DENOISERS)}")
    return DENOISERS[kind](config)


__all__ = [
    "DENOISERS",
    "ClassicDenoiser",
    "Denoiser",
    "SweepSession",
    "TransformerConfig",
    "TwoSidedDenoiser",
    "build_denoiser",
]

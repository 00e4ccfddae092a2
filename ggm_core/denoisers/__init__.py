"""Denoisers, by the ``kind`` a checkpoint config names."""

from ggm_core.denoisers.base import Denoiser, SweepSession
from ggm_core.denoisers.classic import ClassicDenoiser
from ggm_core.denoisers.transformer import TransformerConfig
from ggm_core.denoisers.two_sided import TwoSidedDenoiser

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

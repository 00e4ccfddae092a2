"""The denoiser interface the sampler and the training loop rely on.

A denoiser maps a context to ``h ∈ R^V`` at a visited position, with h ≈ log(P_t(a|u)/μ(a))
(docs/math.md). It provides its training contexts and h there, and, for sampling, a per-sweep session that
predicts ``h`` at the next position(s) from the live canvas. The training objective itself (the clean share,
the loss and its weighting) is one for all denoisers: ggm_core.ggm.objective.
"""

from abc import ABC, abstractmethod
from typing import ClassVar

import torch
from torch import nn

from ggm_core.ggm.noise import NoiseDistribution
from ggm_core.ggm.objective import TrainingDraw
from ggm_core.ggm.schedule import GlauberSchedule
from ggm_core.transformer import TransformerConfig


class SweepSession(ABC):
    """Predicts h during one reverse sweep.

    The sampler writes new tokens into the canvas it passed to ``Denoiser.begin_sweep``; a session
    reads that canvas, so when ``predict`` is called every position earlier in the reverse visiting
    order already holds its value for this sweep. ``network_calls`` counts the network passes made.
    """

    network_calls: int = 0

    @abstractmethod
    def predict(self, positions: list[int]) -> torch.Tensor:
        """h at ``positions`` (consecutive in reverse visiting order), shape (B, len(positions), V).

        One position is exact; several in one call is an approximation (the others are not yet
        updated when each is predicted).
        """


class Denoiser(nn.Module, ABC):
    """Base class of the denoisers; ``kind`` names it in checkpoint configs."""

    kind: ClassVar[str]
    calls_per_sweep: ClassVar[int] = 0  # network calls a sweep makes besides one per prediction

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config

    def add_input_embeddings(self, config: TransformerConfig) -> int:
        """The token, query (the hidden visited position) and position embeddings every denoiser reads; returns the
        width d."""
        d = config.d_model
        self.token_embedding = nn.Embedding(config.vocab_size, d)
        self.query_embedding = nn.Parameter(torch.randn(d) * 0.02)
        self.position_embedding = nn.Parameter(torch.randn(config.seq_len, d) * 0.02)
        return d

    @abstractmethod
    def training_draw(
        self,
        x0: torch.Tensor,
        schedule: GlauberSchedule,
        noise: NoiseDistribution,
        generator: torch.Generator | None = None,
    ) -> TrainingDraw:
        """The noisy contexts this denoiser supervises on clean sequences ``x0`` (B, L) (ggm_core.ggm.objective)."""

    @abstractmethod
    def training_h(self, draw: TrainingDraw, schedule: GlauberSchedule) -> tuple[torch.Tensor, torch.Tensor]:
        """h at the supervised positions of ``draw`` (..., V) and the tokens there (...), one network pass; rows
        ``draw.clean`` read the clean context."""

    @abstractmethod
    def begin_sweep(self, canvas: torch.Tensor, sweep: int, schedule: GlauberSchedule) -> SweepSession:
        """Start reverse sweep ``sweep`` over ``canvas`` (B, L), which the sampler updates in place."""

    def warm_up(self, schedule: GlauberSchedule) -> str:
        """Build a compiled sampling step for batch-1 runs, if the denoiser has one; one line on what happened."""
        return "no compiled path"

    @abstractmethod
    def predict_all(self, tokens: torch.Tensor, sweep: int, schedule: GlauberSchedule) -> torch.Tensor:
        """h at every position i of ``tokens`` (B, L), each read with the rest of ``tokens`` as its context at
        its visit in sweep ``sweep``, (B, L, V); one network call."""

"""A GGM model: a denoiser with its schedule, noise distribution and (optional) tokenizer."""

from dataclasses import dataclass, field
from typing import Any

import torch

from ggm_core.denoisers import Denoiser
from ggm_core.noise import NoiseDistribution
from ggm_core.sampler import sample
from ggm_core.schedule import GlauberSchedule


@dataclass
class GlauberModel:
    denoiser: Denoiser
    schedule: GlauberSchedule
    noise: NoiseDistribution
    tokenizer: Any = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        cfg = self.denoiser.config
        if cfg.seq_len != self.schedule.seq_len:
            raise ValueError(f"denoiser seq_len {cfg.seq_len} != schedule seq_len {self.schedule.seq_len}")
        if cfg.vocab_size != self.noise.vocab_size:
            raise ValueError(f"denoiser vocab_size {cfg.vocab_size} != noise vocab_size {self.noise.vocab_size}")
        if self.tokenizer is not None and self.tokenizer.vocab_size != cfg.vocab_size:
            raise ValueError(
                f"tokenizer vocab_size {self.tokenizer.vocab_size} != denoiser vocab_size {cfg.vocab_size}"
            )

    @property
    def network(self) -> torch.nn.Module:
        """The trained module (the training loop's view of every model family)."""
        return self.denoiser

    def loss(self, x0: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, int]:
        """Training loss on clean sequences (B, L) and the number of supervised positions."""
        return self.denoiser.training_loss(x0, self.schedule, self.noise, generator)

    def sample(self, sweeps: int | None = None, **kwargs):
        """The sampler's event stream (see :func:`ggm_core.sampler.sample`).

        ``sweeps`` other than the trained number runs the chain with another schedule: an approximation.
        """
        schedule = self.schedule if sweeps is None else self.schedule.with_sweeps(sweeps)
        return sample(self.denoiser, schedule, self.noise, **kwargs)

    def generate_tokens(self, count: int, seed: int) -> torch.Tensor:
        """``count`` exact unconditional samples, (count, L)."""
        *_, last = self.sample(batch_size=count, seed=seed)
        return last.tokens

    def save(self, folder, dtype: torch.dtype = torch.float32):
        """Write a checkpoint folder (see :func:`ggm_core.checkpoint.save_model`)."""
        from ggm_core.checkpoint import save_model  # checkpoint imports this module

        return save_model(self, folder, dtype)

"""A GGM model: a denoiser with its schedule, noise distribution and (optional) tokenizer."""

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from ggm_core.denoisers import Denoiser, build_denoiser
from ggm_core.denoisers.transformer import TransformerConfig
from ggm_core.events import SamplerEvent
from ggm_core.family import GenerativeModel, Knob, network_section
from ggm_core.forward import noising_events
from ggm_core.loss import classifier_logit
from ggm_core.noise import NoiseDistribution
from ggm_core.sampler import sample
from ggm_core.schedule import GlauberSchedule

MAX_POSITIONS_PER_CALL = 32


@dataclass
class GlauberModel(GenerativeModel):
    denoiser: Denoiser
    schedule: GlauberSchedule
    noise: NoiseDistribution
    tokenizer: Any = None
    metadata: dict = field(default_factory=dict)

    family = "ggm"
    chain_name = "heat-bath chain"
    clamping = "known tokens clamped (GGM's conditionals expect a noised context: docs/math.md, Infilling)"

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
        return self.denoiser

    @property
    def seq_len(self) -> int:
        return self.schedule.seq_len

    @property
    def vocab_size(self) -> int:
        return self.noise.vocab_size

    @property
    def label(self) -> str:
        return "GGM " + self.denoiser.kind.replace("_", "-")

    def loss(self, x0: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, int]:
        return self.denoiser.training_loss(x0, self.schedule, self.noise, generator)

    def knobs(self) -> tuple[Knob, ...]:
        trained = self.schedule.sweeps
        return (
            Knob("sweeps", "Sweeps (the trained number is exact)", 1, max(8, 2 * trained), trained,
                 "{value} sweep(s) instead of the trained {exact}"),
            Knob("positions_per_call", "Positions per network call (1 = exact)", 1,
                 min(MAX_POSITIONS_PER_CALL, self.seq_len), 1, "{value} positions per network call"),
        )  # fmt: skip

    def sample(self, *, sweeps: int | None = None, **kwargs) -> Iterator[SamplerEvent]:
        """The heat-bath chain's event stream (:func:`ggm_core.sampler.sample`).

        ``sweeps`` other than the trained number runs the chain with another schedule: an approximation.
        """
        schedule = self.schedule if sweeps is None else self.schedule.with_sweeps(sweeps)
        return sample(self.denoiser, schedule, self.noise, **kwargs)

    def noising(self, x0: torch.Tensor, seed: int = 0) -> Iterator[SamplerEvent]:
        """The forward Glauber process dissolving ``x0`` (L,), step by step (the literal simulator)."""
        return noising_events(x0, self.schedule, self.noise, seed)

    def knobs_for_budget(self, calls: int | None, n_free: int) -> dict:
        """The trained sweeps and the fewest positions per call whose run fits ``calls``.

        A sweep costs the denoiser's per-sweep overhead (the two-sided one encodes the right-hand context
        once) plus ceil(n_free / positions_per_call) calls; a budget below sweeps × (overhead + 1), the
        cheapest run, gets that run (one group of all the free positions per sweep). The value may exceed
        the UI slider's range.
        """
        knobs = self.exact_knobs()
        if calls is None or n_free == 0:
            return knobs
        sweeps, overhead = self.schedule.sweeps, self.denoiser.calls_per_sweep
        per_sweep = max(1, calls // sweeps - overhead)
        knobs["positions_per_call"] = min(n_free, max(1, math.ceil(n_free / per_sweep)))
        return knobs

    def describe(self) -> str:
        s = self.schedule
        return (
            f"GGM, {self.denoiser.kind.replace('_', '-')} denoiser: {s.seq_len} tokens, vocabulary "
            f"{self.vocab_size}, trained with {s.sweeps} sweeps ({s.num_steps} steps)"
        )

    def config_dict(self) -> dict:
        return {
            "denoiser": {"kind": self.denoiser.kind, **self.denoiser.config.to_dict()},
            "schedule": self.schedule.to_dict(),
            "noise": self.noise.to_dict(),
        }

    @classmethod
    def from_config(cls, config: dict, tokenizer, metadata: dict) -> "GlauberModel":
        kind, sizes = network_section(config)
        denoiser = build_denoiser(kind, TransformerConfig(**sizes))
        schedule = GlauberSchedule.from_dict(config["schedule"])
        noise = NoiseDistribution.from_dict(config["noise"])
        return cls(denoiser, schedule, noise, tokenizer, metadata)

    @torch.no_grad()
    def belief(self, tokens: torch.Tensor, sweep: int) -> torch.Tensor:
        """D_i = σ(h_i[x_i] + log(κ/(1−κ))) at every position i, (L,): the classifier's probability that the
        token at i is signal rather than fresh noise, reading the canvas as the context of sweep ``sweep``
        (docs/math.md, "What the model believes"). One network call."""
        tokens = torch.as_tensor(tokens, dtype=torch.long).reshape(1, -1)
        sweep = max(0, min(self.schedule.sweeps - 1, int(sweep)))  # a run with more sweeps than trained
        device = next(self.denoiser.parameters()).device
        self.denoiser.eval()
        h = self.denoiser.predict_all(tokens.to(device), sweep, self.schedule)[0].double().cpu()  # (L, V)
        steps = sweep * self.seq_len + self.schedule.rank
        logit = classifier_logit(h, self.schedule.kappa[steps])  # (L, V)
        return torch.sigmoid(logit.gather(1, tokens.reshape(-1, 1))).flatten()

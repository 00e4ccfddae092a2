"""A GGM model: a denoiser with its schedule, noise distribution and (optional) tokenizer."""

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from ggm_core.events import SamplerEvent
from ggm_core.family import GenerativeModel, Knob, network_section
from ggm_core.ggm.clean_context import CLEAN_KAPPA, CLEAN_SWEEP
from ggm_core.ggm.denoisers import Denoiser, build_denoiser
from ggm_core.ggm.forward import noising_events
from ggm_core.ggm.noise import NoiseDistribution
from ggm_core.ggm.objective import classifier_logit, training_loss
from ggm_core.ggm.sampler import sample
from ggm_core.ggm.schedule import GlauberSchedule
from ggm_core.registry import register_family
from ggm_core.transformer import TransformerConfig

MAX_POSITIONS_PER_CALL = 32
MAX_REFINE_SWEEPS = 16


@register_family
@dataclass
class GlauberModel(GenerativeModel):
    denoiser: Denoiser
    schedule: GlauberSchedule
    noise: NoiseDistribution
    tokenizer: Any = None
    metadata: dict = field(default_factory=dict)
    clean_share: float = 0.0  # share of training sequences given the clean context (> 0: refinement available)

    family = "ggm"
    hub_tags = ("discrete-diffusion", "glauber-generative-model")
    chain_name = "heat-bath chain"
    clamping = "known tokens clamped (GGM's conditionals expect a noised context: docs/math.md, Infilling)"
    max_batch = 8  # every row visits the same positions (eager, 8 face runs in one batch cost 2.2× one; once the
    # step is compiled, a batch runs it row by row, bit-identical to each run alone: ggm_core.ggm.denoisers.two_sided)

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
        return training_loss(self.denoiser, x0, self.schedule, self.noise, generator, self.clean_share)

    @property
    def refines(self) -> bool:
        """Whether the denoiser was trained with the clean context, so that refinement sweeps are offered."""
        return self.clean_share > 0

    def knobs(self) -> tuple[Knob, ...]:
        trained = self.schedule.sweeps
        return (
            Knob("sweeps", "Sweeps (the trained number is exact)", 1, max(8, 2 * trained), trained,
                 "{value} sweep(s) instead of the trained {exact}"),
            Knob("positions_per_call", "Positions per network call (1 = exact)", 1,
                 min(MAX_POSITIONS_PER_CALL, self.seq_len), 1, "{value} positions per network call"),
        ) + self.refine_knob()  # fmt: skip

    def refine_knob(self) -> tuple[Knob, ...]:
        """Refinement sweeps R, for a model trained with the clean context: infilling is exact as R → ∞, and
        an exact unconditional chain stays exact for any R (so R = 0 is listed as the knob's exact value). A UI
        starts at R = 0: refinement did not improve the shipped models' infills (docs/benchmarks.md)."""
        if not self.refines:
            return ()
        return (Knob("refine_sweeps", "Refinement sweeps (infilling: exact as R → ∞)", 0, MAX_REFINE_SWEEPS, 0,
                     "{value} refinement sweep(s)"),)  # fmt: skip

    def sample(self, *, sweeps: int | None = None, refine_sweeps: int = 0, **kwargs) -> Iterator[SamplerEvent]:
        """The heat-bath chain's event stream (:func:`ggm_core.ggm.sampler.sample`).

        ``sweeps`` other than the trained number runs the chain with another schedule: an approximation.
        ``refine_sweeps`` needs a model trained with the clean context (:attr:`refines`).
        """
        if refine_sweeps and not self.refines:
            raise ValueError("refinement sweeps need a model trained with the clean context (clean_share > 0)")
        schedule = self.schedule if sweeps is None else self.schedule.with_sweeps(sweeps)
        return sample(self.denoiser, schedule, self.noise, refine_sweeps=refine_sweeps, **kwargs)

    def approximations(self, temperature=1.0, top_p=1.0, clamped=False, restricted=False, **knobs) -> list[str]:
        """As :meth:`GenerativeModel.approximations`; refinement sweeps are not an approximation, and with known
        positions they make clamping exact in the limit (docs/math.md, "Infilling")."""
        refine = knobs.pop("refine_sweeps", 0)
        out = super().approximations(temperature, top_p, restricted=restricted, **knobs)
        if clamped:
            out.insert(0, self.clamping if not refine else (
                f"known tokens clamped, then {refine} refinement sweep(s): exact only as the sweeps → ∞"))  # fmt: skip
        return out

    def warm_up(self) -> str:
        """The denoiser's compiled step for batch 1 (:meth:`Denoiser.warm_up`): the same chain up to fp32 rounding."""
        return f"{self.label}: {self.denoiser.warm_up(self.schedule)}"

    def noising(self, x0: torch.Tensor, seed: int = 0) -> Iterator[SamplerEvent]:
        """The forward Glauber process dissolving ``x0`` (L,), step by step (the literal simulator)."""
        return noising_events(x0, self.schedule, self.noise, seed)

    def progress(self, event: SamplerEvent, noising: bool = False, **knobs) -> str:
        """The sweep a run is in (a refinement sweep r is ``sweep`` −1 − r, ggm_core.ggm.sampler), and its redraws."""
        if noising:
            return (
                f"forward step {event.updates_done} of {event.total_updates} (sweep {event.sweep + 1}): each visit "
                "keeps the token or replaces it by noise"
            )
        sweeps, refine = knobs.get("sweeps", self.schedule.sweeps), knobs.get("refine_sweeps", 0)
        if event.sweep < 0:
            where = f"refinement sweep {-event.sweep} of {refine}"
        else:
            where = f"sweep {sweeps - event.sweep} of {sweeps}"
        return f"{where} · {event.updates_done}/{event.total_updates} redraws"

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

    def network_calls(self, n_free: int, **knobs) -> int:
        """Each sweep (the trained ones or ``sweeps``, then ``refine_sweeps``): the denoiser's per-sweep overhead
        plus ceil(n_free / positions_per_call) calls."""
        sweeps = knobs.get("sweeps", self.schedule.sweeps) + knobs.get("refine_sweeps", 0)
        per_call = max(1, knobs.get("positions_per_call", 1))
        return sweeps * (self.denoiser.calls_per_sweep + math.ceil(n_free / per_call))

    def describe(self) -> str:
        s = self.schedule
        return (
            f"GGM, {self.denoiser.kind.replace('_', '-')} denoiser: {s.seq_len} tokens, vocabulary "
            f"{self.vocab_size}, trained with {s.sweeps} sweep(s) ({s.num_steps} steps)"
        )

    def config_dict(self) -> dict:
        config = {
            "denoiser": {"kind": self.denoiser.kind, **self.denoiser.config.to_dict()},
            "schedule": self.schedule.to_dict(),
            "noise": self.noise.to_dict(),
        }
        return config | ({"clean_share": self.clean_share} if self.refines else {})

    @classmethod
    def from_config(cls, config: dict, tokenizer, metadata: dict) -> "GlauberModel":
        kind, sizes = network_section(config)
        denoiser = build_denoiser(kind, TransformerConfig(**sizes))
        schedule = GlauberSchedule.from_dict(config["schedule"])
        noise = NoiseDistribution.from_dict(config["noise"])
        clean_share = float(config.get("clean_share", 0.0))
        if not 0.0 <= clean_share < 1.0:
            raise ValueError(f"clean_share must be in [0, 1), got {clean_share}")
        return cls(denoiser, schedule, noise, tokenizer, metadata, clean_share)

    @torch.no_grad()
    def conditional_log_probs(self, tokens: torch.Tensor, positions=None) -> torch.Tensor:
        """log P(x^i | x^{-i}) = log softmax(h + log μ) at x^i, every position, (B, L): with the clean context
        (a model trained with it) the data's full conditionals (ggm_core.ggm.clean_context); without, the canvas read
        as the final sweep's context, an approximation. One network call (``positions`` is not needed: every
        position comes from it)."""
        tokens = torch.as_tensor(tokens, dtype=torch.long).reshape(-1, self.seq_len)
        sweep = CLEAN_SWEEP if self.refines else 0
        device = next(self.denoiser.parameters()).device
        self.denoiser.eval()
        h = self.denoiser.predict_all(tokens.to(device), sweep, self.schedule).double().cpu()
        log_probs = torch.log_softmax(h + self.noise.log_probs, dim=-1)
        return log_probs.gather(-1, tokens[..., None])[..., 0]

    @torch.no_grad()
    def belief(self, tokens: torch.Tensor, sweep: int) -> torch.Tensor:
        """D_i = σ(h_i[x_i] + log(κ/(1−κ))) at every position i, (L,): the classifier's probability that the
        token at i is signal rather than fresh noise, reading the canvas as the context of sweep ``sweep``
        (docs/math.md, "What the model believes"); a refinement frame (``sweep`` < 0) of a model trained with the
        clean context reads the canvas as clean context, with κ* (ggm_core.ggm.clean_context). One network call."""
        tokens = torch.as_tensor(tokens, dtype=torch.long).reshape(1, -1)
        clean = int(sweep) < 0 and self.refines  # a refinement frame: the clean context, κ*
        last = self.schedule.sweeps - 1  # a run with more sweeps than trained reads as the trained first sweep
        sweep = CLEAN_SWEEP if clean else max(0, min(last, int(sweep)))
        device = next(self.denoiser.parameters()).device
        self.denoiser.eval()
        h = self.denoiser.predict_all(tokens.to(device), sweep, self.schedule)[0].double().cpu()  # (L, V)
        if clean:
            kappa = torch.full((self.seq_len,), CLEAN_KAPPA, dtype=torch.float64)
        else:
            kappa = self.schedule.kappa[sweep * self.seq_len + self.schedule.rank]
        logit = classifier_logit(h, kappa)  # (L, V)
        return torch.sigmoid(logit.gather(1, tokens.reshape(-1, 1))).flatten()

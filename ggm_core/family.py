"""The surface every model family offers (GGM with either denoiser, MD4, Blackout): what the app, the benchmarks,
the training loop and the checkpoint code talk to, so none of them needs to know which family it holds.

A family has its own sampler settings (``knobs``: GGM's sweeps and positions per call, MD4's step grid),
each with the value at which its chain is exact; a network-call budget maps to knob values
(``knobs_for_budget``); every sampler yields the same event stream (``ggm_core.events``); the token
samplers clamp known positions with one helper (``ggm_core.clamp``).
"""

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from ggm_core.events import SamplerEvent, run_to_end
from ggm_core.flop_count import counting_flops
from ggm_core.saving import save_model


def network_section(config: dict, kind: str | None = None) -> tuple[str, dict]:
    """The ``denoiser`` section of a family's config: its kind (which must be ``kind`` when given) and the
    rest, the network's sizes."""
    section = dict(config["denoiser"])
    found = section.pop("kind")
    if kind is not None and found != kind:
        raise ValueError(f"denoiser kind {found!r} is not {kind!r}")
    return found, section


@dataclass(frozen=True)
class Knob:
    """One of a family's own sampler settings, as a UI shows it: integer values in [minimum, maximum].

    ``exact`` is the value at which the chain is exact (the default); ``approximation`` formats the
    reason a run is approximate, with ``{value}`` and ``{exact}``.
    """

    name: str  # the keyword the family's ``sample`` takes
    label: str
    minimum: int
    maximum: int
    exact: int
    approximation: str
    default: int | None = None  # what a UI starts at, when not the exact value (a slow exact setting)

    @property
    def start(self) -> int:
        return self.exact if self.default is None else self.default

    def clean(self, value) -> int:
        """A UI or API value (None, floats, strings, junk) as a valid setting; junk gives the exact value."""
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            return self.exact
        if not math.isfinite(number):
            return self.exact
        return max(self.minimum, min(self.maximum, int(round(number))))

    def describe(self, value: int) -> str | None:
        """Why ``value`` makes a run approximate, or None at the exact value."""
        return None if value == self.exact else self.approximation.format(value=value, exact=self.exact)


def app_knobs(model: "GenerativeModel") -> dict:
    """The knob values a UI starts at (each knob's ``start``): what the app runs by default."""
    return {k.name: k.start for k in model.knobs()}


def app_budget(model: "GenerativeModel") -> int:
    """The network calls of a generation at :func:`app_knobs`: the budget at which ``knobs_for_budget`` gives the
    app's defaults back (a comparison at this budget is what the main panel runs)."""
    return model.network_calls(model.seq_len, **app_knobs(model))


class GenerativeModel(ABC):
    """A trained model of one family with its tokenizer: train, sample, describe, save (ggm_core.checkpoint)."""

    family: ClassVar[str]  # its name in checkpoints and in ggm_core.registry ("ggm", "md4", "blackout", …)
    chain_name: ClassVar[str]  # what the exact sampler is called ("heat-bath chain")
    clamping: ClassVar[str | None]  # why clamping known positions is an approximation; None when it is exact
    tempered: ClassVar[bool] = True  # whether temperature and top-p apply to its draws
    hub_tags: ClassVar[tuple[str, ...]] = ("discrete-diffusion",)  # what its Hub model card is tagged with
    # How many runs (a seed each) may share one sampler, each row's sample the one its seed gives alone, bit for bit
    # (ggm_app.batcher). 1: batching gains nothing on a CPU, or the rows' events differ.
    max_batch: ClassVar[int] = 1
    tokenizer: Any
    metadata: dict

    @staticmethod
    def event_row(event: SamplerEvent, row: int) -> SamplerEvent:
        """Row ``row`` of a batched run's event, as the event of that row's run alone (a family that batches
        redraws the same positions in every row, at the same calls)."""
        part = slice(row, row + 1)
        return dataclasses.replace(event, tokens=event.tokens[part], old=event.old[part], new=event.new[part])

    @property
    @abstractmethod
    def network(self) -> nn.Module:
        """The trained module (what the training loop optimises and a checkpoint stores)."""

    @property
    @abstractmethod
    def seq_len(self) -> int: ...

    @property
    @abstractmethod
    def vocab_size(self) -> int: ...

    @abstractmethod
    def loss(self, x0: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, int]:
        """Mean training loss on clean sequences (B, L), and the number of supervised positions."""

    @abstractmethod
    def knobs(self) -> tuple[Knob, ...]:
        """The family's own sampler settings, each with its exact value."""

    @abstractmethod
    def sample(
        self,
        *,
        batch_size: int = 1,
        seed: int = 0,
        known_tokens: torch.Tensor | None = None,
        known=None,
        temperature: float = 1.0,
        top_p: float = 1.0,
        start: torch.Tensor | None = None,
        allowed: torch.Tensor | None = None,
        **knobs,
    ) -> Iterator[SamplerEvent]:
        """The sampler's event stream; known positions are clamped; ``start`` (L,) is a starting canvas from
        :meth:`noising` instead of a fresh one; ``allowed`` (L, V) bool restricts the tokens each position
        may take (``ggm_core.clamp.restrict``). Stopping the iteration cancels the run."""

    @abstractmethod
    def noising(self, x0: torch.Tensor, seed: int = 0) -> Iterator[SamplerEvent]:
        """The family's forward process applied to ``x0`` (L,), as an event stream ending at the canvas its
        sampler starts from (pass that as ``sample(start=...)``)."""

    @abstractmethod
    def knobs_for_budget(self, calls: int | None, n_free: int) -> dict:
        """Knob values whose run over ``n_free`` unknown positions costs at most ``calls`` network calls
        (as close to it as the family allows); ``None`` gives the exact setting."""

    @abstractmethod
    def network_calls(self, n_free: int, **knobs) -> int:
        """The network calls a run over ``n_free`` unknown positions makes with these knob values (missing ones
        at their exact value), at most."""

    @abstractmethod
    def describe(self) -> str:
        """One line for a person: sizes, schedule, denoiser."""

    @abstractmethod
    def config_dict(self) -> dict:
        """The family's part of ``config.json`` (everything but weights, tokenizer and metadata)."""

    @classmethod
    @abstractmethod
    def from_config(cls, config: dict, tokenizer, metadata: dict) -> "GenerativeModel":
        """A model with fresh weights from :meth:`config_dict`'s output (KeyError / TypeError / ValueError if bad)."""

    # ------------------------------------------------------------------------------------------ shared
    @property
    def label(self) -> str:
        """A short name for tables and the app ("GGM two-sided", "MD4")."""
        return self.family.upper()

    def exact_knobs(self) -> dict:
        return {k.name: k.exact for k in self.knobs()}

    def clean_knobs(self, values: dict) -> dict:
        """Every knob from ``values`` (by name), cleaned; missing ones at their exact value."""
        return {k.name: k.clean(values.get(k.name, k.exact)) for k in self.knobs()}

    def approximations(
        self, temperature: float = 1.0, top_p: float = 1.0, clamped: bool = False, restricted: bool = False, **knobs
    ) -> list[str]:
        """Why a run with these settings is not exact (empty when it is); ``clamped``: with known positions,
        ``restricted``: with some positions held to a set of tokens."""
        out = [d for k in self.knobs() if (d := k.describe(knobs.get(k.name, k.exact)))]
        if clamped and self.clamping:
            out.append(self.clamping)
        if restricted:
            out.append("some positions held to a set of tokens")
        if temperature != 1.0:
            out.append(f"temperature {temperature:g}")
        if top_p != 1.0:
            out.append(f"top-p {top_p:g}")
        return out

    def save(self, folder, dtype: torch.dtype = torch.float32):
        """Write a checkpoint folder (:func:`ggm_core.saving.save_model`); ``ggm_core.load_model`` reads it."""
        return save_model(self, folder, dtype)

    def generate_tokens(self, count: int, seed: int, **knobs) -> torch.Tensor:
        """``count`` unconditional samples (exact knobs unless given), (count, L)."""
        return run_to_end(self.sample(batch_size=count, seed=seed, **knobs)).tokens

    def warm_up(self) -> str:
        """Build the family's fast sampling path for batch-1 runs (a compiled network step), if it has one, and
        say in one line what happened; sampling works before, during and without it."""
        return f"{self.label}: no compiled path"

    def flops_per_call(self, **knobs) -> float:
        """Counted FLOPs of one network call, averaged over a batch-1 unconditional sample."""
        with counting_flops() as counter:
            last = run_to_end(self.sample(batch_size=1, seed=0, **knobs))
        return counter.get_total_flops() / max(1, last.nfe)

    def conditional_log_probs(self, tokens: torch.Tensor, positions=None) -> torch.Tensor:
        """log P(x^i | x^{-i}) at each row of ``tokens`` (B, L), as (B, L) float64: the model's full conditionals,
        which score a flexible gap's length (ggm_core.text_infill); ``positions`` (a list) may limit the work to
        those positions (a family may then leave the others NaN)."""
        raise NotImplementedError(f"{self.label} has no full conditionals")

    def progress(self, event: SamplerEvent, noising: bool = False, **knobs) -> str:
        """Where a run stands, in the family's own words, for a UI's progress line: of its sampler run with these
        knob values, or (``noising``) of its forward process."""
        if noising:
            return f"forward step {event.updates_done} of {event.total_updates}"
        return f"{event.updates_done}/{event.total_updates} redraws"

    def belief(self, tokens: torch.Tensor, sweep: int) -> torch.Tensor | None:
        """Per position, the model's probability that its current token is signal, (L,); None if the family
        has no such reading."""
        return None

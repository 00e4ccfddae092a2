"""The MD4 family: the denoiser and an optional tokenizer, behind the interface of ``ggm_core.family``."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ggm_core.events import SamplerEvent
from ggm_core.family import GenerativeModel, Knob, network_section
from ggm_core.md4.forward import masking_events
from ggm_core.md4.loss import masked_diffusion_loss
from ggm_core.md4.network import MaskedDenoiser
from ggm_core.md4.sampler import sample_masked
from ggm_core.registry import register_family
from ggm_core.transformer import TransformerConfig

MAX_GRID_STEPS = 1024


@register_family
@dataclass
class MaskedDiffusionModel(GenerativeModel):
    denoiser: MaskedDenoiser
    tokenizer: Any = None
    metadata: dict = field(default_factory=dict)

    family = "md4"
    hub_tags = ("discrete-diffusion", "masked-diffusion", "md4")
    chain_name = "ancestral chain (one token per call)"
    clamping = None  # a masked model's context is clean by construction: clamping is exact

    def __post_init__(self) -> None:
        vocab = self.denoiser.config.vocab_size
        if self.tokenizer is not None and self.tokenizer.vocab_size != vocab:
            raise ValueError(f"tokenizer vocab_size {self.tokenizer.vocab_size} != denoiser vocab_size {vocab}")

    @property
    def network(self) -> nn.Module:
        return self.denoiser

    @property
    def seq_len(self) -> int:
        return self.denoiser.config.seq_len

    @property
    def vocab_size(self) -> int:
        return self.denoiser.config.vocab_size

    @property
    def mask_id(self) -> int:
        return self.denoiser.config.vocab_size

    def loss(self, x0: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, int]:
        """−ELBO per position on clean sequences (B, L), and the number of masked (supervised) positions."""
        return masked_diffusion_loss(self.denoiser, x0, generator)

    def knobs(self) -> tuple[Knob, ...]:
        return (
            Knob("steps", "Steps of the time grid (0 = exact: one token per call)", 0,
                 min(MAX_GRID_STEPS, self.seq_len), 0, "a grid of {value} steps"),
        )  # fmt: skip

    def sample(self, *, steps: int | None = None, start=None, **kwargs) -> Iterator[SamplerEvent]:
        """The ancestral sampler's event stream (:func:`ggm_core.md4.sampler.sample_masked`); ``steps``
        0 or None is the exact one-reveal-per-call chain. ``start``, if given, must be all masks (the end
        of :meth:`noising`): MD4 always starts there."""
        if start is not None and bool((torch.as_tensor(start) != self.mask_id).any()):
            raise ValueError("MD4 starts from the all-masked canvas; start holds other tokens")
        return sample_masked(self.denoiser, steps=steps or None, **kwargs)

    @torch.no_grad()
    def conditional_log_probs(self, tokens: torch.Tensor, positions=None) -> torch.Tensor:
        """log P(x^i | x^{-i}) at ``positions`` (default all) of each row, (B, L), NaN elsewhere: position i masked
        alone (t = 1/L, one mask in L), the network's p_θ(x_0^i | x_t) read at x^i. One network call of
        B·len(positions) rows."""
        tokens = torch.as_tensor(tokens, dtype=torch.long).reshape(-1, self.seq_len)
        B, L = tokens.shape
        at = torch.arange(L) if positions is None else torch.as_tensor(sorted(set(positions)), dtype=torch.long)
        n = len(at)
        rows = tokens.repeat_interleave(n, dim=0)
        rows[torch.arange(B * n), at.repeat(B)] = self.mask_id
        device = next(self.network.parameters()).device
        self.network.eval()
        logits = self.network(rows.to(device), torch.full((B * n,), 1.0 / L, device=device))
        picked = torch.log_softmax(logits[torch.arange(B * n), at.repeat(B)].double().cpu(), dim=-1)
        out = torch.full((B, L), float("nan"), dtype=torch.float64)
        out[:, at] = picked.gather(-1, tokens[:, at].reshape(-1, 1)).reshape(B, n)
        return out

    def noising(self, x0: torch.Tensor, seed: int = 0) -> Iterator[SamplerEvent]:
        """MD4's forward process on ``x0`` (L,): every token masked at an i.i.d. uniform time, latest last."""
        return masking_events(x0, self.mask_id, seed)

    def progress(self, event: SamplerEvent, noising: bool = False, **knobs) -> str:
        if noising:
            return f"{event.updates_done} of {event.total_updates} tokens masked, each at its own time"
        return f"{event.updates_done}/{event.total_updates} tokens revealed"

    def knobs_for_budget(self, calls: int | None, n_free: int) -> dict:
        """A grid of ``calls`` steps (at most that many calls); the exact chain when it costs no more."""
        if calls is None or calls >= n_free:
            return self.exact_knobs()
        return {"steps": max(1, calls)}

    def network_calls(self, n_free: int, **knobs) -> int:
        """One call a grid step, or one a revealed token for the exact chain (``steps`` 0)."""
        return min(knobs.get("steps") or n_free, n_free)

    def describe(self) -> str:
        c = self.denoiser.config
        return f"MD4 (masked diffusion, linear schedule): {c.seq_len} tokens, vocabulary {c.vocab_size}"

    def config_dict(self) -> dict:
        return {"denoiser": self.denoiser.config_dict()}

    @classmethod
    def from_config(cls, config: dict, tokenizer, metadata: dict) -> "MaskedDiffusionModel":
        _, sizes = network_section(config, MaskedDenoiser.kind)
        positions = sizes.pop("positions", "learned")  # checkpoints before rotary embeddings: learned
        return cls(MaskedDenoiser(TransformerConfig(**sizes), positions), tokenizer, metadata)

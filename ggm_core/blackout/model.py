"""The Blackout family: the U-Net, its observation grid and the pixel "tokenizer", behind ggm_core.family."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ggm_core.blackout.forward import thin
from ggm_core.blackout.loss import blackout_loss
from ggm_core.blackout.network import PixelUNet, UNetConfig
from ggm_core.blackout.sampler import sample_blackout
from ggm_core.blackout.schedule import BlackoutSchedule
from ggm_core.events import SamplerEvent
from ggm_core.family import GenerativeModel, Knob, network_section
from ggm_core.registry import register_family

DEFAULT_STEPS = 100  # the app's default budget: a tenth of the trained grid, about 2 s a face on one CPU thread
DEFAULT_FINISH = 50  # the app's default: the mean from survival 50% (docs/benchmarks.md, "Blackout's grain")


@register_family
@dataclass
class BlackoutModel(GenerativeModel):
    unet: PixelUNet
    schedule: BlackoutSchedule = field(default_factory=BlackoutSchedule)
    tokenizer: Any = None
    metadata: dict = field(default_factory=dict)

    family = "blackout"
    hub_tags = ("discrete-diffusion", "blackout-diffusion")
    chain_name = "binomial bridge on the trained grid"
    clamping = "known pixels replaced by their own forward path after every step (an approximation)"
    tempered = False  # no temperature or top-p: the births are binomial draws

    @property
    def network(self) -> nn.Module:
        return self.unet

    @property
    def seq_len(self) -> int:
        c = self.unet.config
        return c.image_size * c.image_size * c.channels

    @property
    def vocab_size(self) -> int:
        return 256

    @property
    def label(self) -> str:
        return "Blackout"

    def loss(self, x0: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, int]:
        """One observation time k per image (uniform), n_t by thinning, the weighted Poisson-type loss."""
        T = self.schedule.steps
        k = torch.randint(1, T + 1, (x0.shape[0],), generator=generator)
        p = self.schedule.survival[k]
        nt = thin(x0.cpu(), p[:, None], generator).to(x0.device)
        y = self.unet(nt, p.to(x0.device), (k / T).to(x0.device)).float()
        weight = self.schedule.weights[k - 1].to(x0.device, torch.float32)[:, None]
        return blackout_loss(y.clamp(min=1e-6), x0 - nt, weight).mean(), x0.numel()

    def knobs(self) -> tuple[Knob, ...]:
        T = self.schedule.steps
        return (
            Knob("bridge_steps", f"Bridge steps of the {T}-step grid (more is closer to exact)", 1, T, T,
                 "{value} of the {exact} trained steps", default=min(DEFAULT_STEPS, T)),
            Knob("finish_at", "Finish with the network's mean from survival (%; 100 = bridge to the end)", 1, 100, 100,
                 "finished with the network's mean n_t + ŷ from survival {value}%", default=DEFAULT_FINISH),
            Knob("mean_births", "Births at their rounded mean (1) or binomial (0)", 0, 1, 0,
                 "births at their rounded mean", default=1),
        )  # fmt: skip

    def approximations(self, temperature=1.0, top_p=1.0, clamped=False, restricted=False, **knobs) -> list[str]:
        """Blackout's bridge is exact only in the limit of small steps, so every run says so."""
        out = super().approximations(1.0, 1.0, clamped, restricted, **knobs)
        return out or ["the binomial bridge is exact only in the limit of small steps"]

    def sample(
        self,
        *,
        batch_size: int = 1,
        seed: int = 0,
        known_tokens=None,
        known=None,
        bridge_steps: int | None = None,
        finish_at: int = 100,
        mean_births: int = 0,
        start: torch.Tensor | None = None,
        allowed=None,
        **unused,
    ) -> Iterator[SamplerEvent]:
        """The binomial bridge's event stream (:func:`ggm_core.blackout.sampler.sample_blackout`); ``finish_at``
        below 100 (%) ends it with the network's mean from that survival on; ``start`` (the end of :meth:`noising`)
        replaces the black canvas."""
        if allowed is not None:
            raise ValueError("Blackout does not restrict counts to sets of tokens")
        device = next(self.unet.parameters()).device
        T = self.schedule.steps
        self.unet.eval()

        def predict(counts: torch.Tensor, k: int) -> torch.Tensor:
            b = counts.shape[0]
            p = torch.full((b,), float(self.schedule.survival[k]), device=device)
            return self.unet(counts.to(device), p, torch.full((b,), k / T, device=device)).cpu()

        return sample_blackout(
            predict, self.schedule, self.seq_len, batch_size=batch_size, steps=bridge_steps, known_counts=known_tokens,
            known=known, seed=seed, start=start,
            finish_at=None if finish_at >= 100 else finish_at / 100, mean_births=bool(mean_births),
        )  # fmt: skip

    def noising(self, x0: torch.Tensor, seed: int = 0) -> Iterator[SamplerEvent]:
        """The death process on ``x0`` (L,), observed at every 10th time of the grid: the image goes black."""
        generator = torch.Generator().manual_seed(seed)
        x = torch.as_tensor(x0, dtype=torch.long).reshape(1, -1).clone()
        grid = list(reversed(self.schedule.grid(max(1, self.schedule.steps // 10))))[1:]
        empty = torch.empty(1, 0, dtype=torch.long)
        yield SamplerEvent(x.clone(), (), empty, empty, 0, 0, 0, 0, len(grid))
        before = 1.0
        for i, k in enumerate(grid, start=1):
            p = float(self.schedule.survival[k])
            new = thin(x, p / before, generator)
            before = p
            positions = (new != x).any(0).nonzero().flatten()
            old, x = x[:, positions], new
            yield SamplerEvent(x.clone(), tuple(positions.tolist()), old, x[:, positions], k, 0, 0, i, len(grid))

    def progress(self, event: SamplerEvent, noising: bool = False, **knobs) -> str:
        if noising:
            return f"time {event.updates_done} of {event.total_updates}: each unit of intensity dies at its own time"
        return f"bridge step {event.updates_done} of {event.total_updates}"

    def knobs_for_budget(self, calls: int | None, n_free: int) -> dict:
        """``calls`` bridge steps, with births at their mean and finishing with the network's mean as the app does
        by default; None: the authors' binomial bridge over the whole trained grid (exact in the limit)."""
        if calls is None:
            return self.exact_knobs()
        return {"bridge_steps": max(1, min(self.schedule.steps, calls)), "finish_at": DEFAULT_FINISH, "mean_births": 1}

    def network_calls(self, n_free: int, **knobs) -> int:
        """One call a bridge step (the mean, when it finishes, the last of them), whatever is known."""
        return knobs.get("bridge_steps", self.schedule.steps)

    def describe(self) -> str:
        c = self.unet.config
        return (
            f"Blackout Diffusion: {c.image_size}×{c.image_size} pixels × {c.channels} channels (counts 0..255), "
            f"a U-Net of widths {list(c.widths)}, {self.schedule.steps} observation times"
        )

    def config_dict(self) -> dict:
        return {
            "denoiser": {"kind": PixelUNet.kind, **self.unet.config.to_dict()},
            "schedule": self.schedule.to_dict(),
        }

    @classmethod
    def from_config(cls, config: dict, tokenizer, metadata: dict) -> "BlackoutModel":
        _, sizes = network_section(config, PixelUNet.kind)
        unet = PixelUNet(UNetConfig.from_dict(sizes))
        return cls(unet, BlackoutSchedule.from_dict(config["schedule"]), tokenizer, metadata)

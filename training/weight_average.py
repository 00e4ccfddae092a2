"""Exponential moving average (EMA) of a network's weights, the weights we validate, sample and export.

At batch 16 the raw weights wander from step to step: on the face model, seven snapshots 50 steps apart
at the final learning rate gave samples whose mean pixel value swung between 75 and 92 (real faces: 83),
while the snapshots' average gave 83 (docs/benchmarks.md). The average is, after n updates,

    w̄ ← d_n · w̄ + (1 − d_n) · w,   d_n = min(decay, (1 + n) / (10 + n)),

the warm-up d_n letting a short run (or one resumed from a checkpoint without an average) forget its
starting point quickly. ``decay = 0`` makes the average the raw weights.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


class WeightAverage:
    """EMA of every floating-point tensor in ``network.state_dict()``; other tensors are copied."""

    def __init__(self, network: nn.Module, decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"ema_decay must lie in [0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        self.weights = {name: value.detach().clone() for name, value in network.state_dict().items()}

    @torch.no_grad()
    def update(self, network: nn.Module) -> None:
        """One EMA step towards the network's current weights."""
        keep = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for name, value in network.state_dict().items():
            if value.is_floating_point():
                self.weights[name].lerp_(value, 1.0 - keep)
            else:
                self.weights[name].copy_(value)
        self.updates += 1

    @contextmanager
    def applied(self, network: nn.Module) -> Iterator[None]:
        """Run the body with the averaged weights loaded into ``network``; the raw weights come back after."""
        raw = {name: value.detach().clone() for name, value in network.state_dict().items()}
        network.load_state_dict(self.weights)
        try:
            yield
        finally:
            network.load_state_dict(raw)

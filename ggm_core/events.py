"""The event stream every family's sampler yields, and the helper that runs one to its end."""

from collections.abc import Iterable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SamplerEvent:
    """One network call's worth of a trajectory (the first event, with no positions, is the start).

    ``tokens``: the canvas after the update, (B, L); ``positions``: the positions just redrawn;
    ``old`` / ``new``: their tokens before and after, (B, len(positions)); ``step``: the family's step
    index (GGM: the forward step t of the first redrawn position, T for the start); ``sweep``: GGM's
    reverse sweep k (0 for families without sweeps); ``nfe``: network calls so far;
    ``updates_done`` / ``total_updates``: progress of the run; ``final``: whether the tokens just drawn are the
    sample's, unless a later event redraws them (False for GGM's sweeps before the last: a view shows them as
    still noise).
    """

    tokens: torch.Tensor
    positions: tuple[int, ...]
    old: torch.Tensor
    new: torch.Tensor
    step: int
    sweep: int
    nfe: int
    updates_done: int
    total_updates: int
    final: bool = True


def run_to_end(stream: Iterable[SamplerEvent]) -> SamplerEvent:
    """Exhaust a sampler's event stream and return its last event (the final canvas and call count)."""
    last = None
    for last in stream:  # noqa: B007 (the loop keeps the last event)
        pass
    if last is None:
        raise ValueError("the sampler yielded no event")
    return last

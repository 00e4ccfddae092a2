"""A seed per row (ggm_core.draws.RowSeeds): a row of a batch draws what a batch of one with its seed draws, so
the app can batch visitors' runs and each still gets the sample its seed names."""

import pytest
import torch

from ggm_core import run_to_end
from ggm_core.draws import RowSeeds
from tests.test_family import KINDS, make

SEEDS = [3, 11, 5]


def blackout():
    from ggm_core.blackout import BlackoutModel, BlackoutSchedule, PixelUNet, UNetConfig

    torch.manual_seed(0)
    return BlackoutModel(PixelUNet(UNetConfig(image_size=8, widths=(8, 8))), BlackoutSchedule(steps=20))


def model_of(kind: str):
    return blackout() if kind == "blackout" else make(kind)


def knob_sets(kind: str) -> list[dict]:
    return {
        "classic": [{}, {"positions_per_call": 3, "temperature": 0.8}],
        "two_sided": [{}, {"top_p": 0.9}],
        "md4": [{}, {"steps": 4}],
        "blackout": [{}, {"bridge_steps": 6}],
    }[kind]


def known_of(model) -> dict:
    known = torch.zeros(model.seq_len, dtype=torch.bool)
    known[::3] = True
    tokens = torch.randint(model.vocab_size, (model.seq_len,), generator=torch.Generator().manual_seed(9))
    return {"known": known, "known_tokens": tokens}


@pytest.mark.parametrize("kind", [*KINDS, "blackout"])
@pytest.mark.parametrize("infill", [False, True])
def test_a_row_samples_what_its_seed_samples_alone(kind, infill):
    model = model_of(kind)
    for knobs in knob_sets(kind):
        knobs = knobs | (known_of(model) if infill else {})
        batched = [e.tokens for e in model.sample(batch_size=len(SEEDS), seed=SEEDS, **knobs)]
        for row, seed in enumerate(SEEDS):
            alone = run_to_end(model.sample(batch_size=1, seed=seed, **knobs)).tokens
            assert torch.equal(batched[-1][row], alone[0]), (kind, knobs, seed)
            assert torch.equal(run_to_end(model.sample(batch_size=1, seed=[seed], **knobs)).tokens, alone)


def test_ggm_rows_share_their_events():
    """GGM visits the same positions in every row, so a row's trajectory is the run's alone, event for event."""
    model = make("two_sided")
    batched = list(model.sample(batch_size=2, seed=[4, 8]))
    alone = list(model.sample(batch_size=1, seed=8))
    assert len(batched) == len(alone)
    for b, a in zip(batched, alone, strict=True):
        assert b.positions == a.positions and b.nfe == a.nfe and torch.equal(b.tokens[1], a.tokens[0])


def test_one_seed_per_row_is_required():
    with pytest.raises(ValueError, match="one per row"):
        RowSeeds([1, 2], batch_size=3)


def test_rows_draw_in_their_own_order():
    draws = RowSeeds([7, 7, 8], batch_size=3)
    u = draws.rand_rows(torch.tensor([0, 0, 1, 2, 2, 2]))
    assert torch.equal(u[:2], torch.rand(2, dtype=torch.float64, generator=torch.Generator().manual_seed(7)))
    assert u[2] == u[0] and u[3] == torch.rand(1, dtype=torch.float64, generator=torch.Generator().manual_seed(8))

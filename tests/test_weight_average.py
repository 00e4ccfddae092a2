"""The weight average (EMA) the training script validates, samples and exports, and its place in the state."""

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from training.train_state import load_state, save_state
from training.weight_average import WeightAverage


def set_weights(network: nn.Module, value: float) -> None:
    with torch.no_grad():
        for p in network.parameters():
            p.fill_(value)


def test_average_follows_the_warmed_up_recurrence():
    network = nn.Linear(3, 2)
    set_weights(network, 0.0)
    average = WeightAverage(network, decay=0.9)
    expected = 0.0
    for n, value in enumerate([1.0, 2.0, -4.0, 8.0, 0.5] * 4):
        set_weights(network, value)
        average.update(network)
        keep = min(0.9, (1 + n) / (10 + n))
        expected = keep * expected + (1 - keep) * value
    assert average.updates == 20
    for tensor in average.weights.values():
        torch.testing.assert_close(tensor, torch.full_like(tensor, expected))


def test_zero_decay_is_the_raw_weights_and_bad_decays_are_refused():
    network = nn.Linear(3, 2)
    average = WeightAverage(network, decay=0.0)
    set_weights(network, 7.0)
    average.update(network)
    assert all(torch.equal(average.weights[k], v) for k, v in network.state_dict().items())
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match="ema_decay"):
            WeightAverage(network, decay=bad)


def test_applied_swaps_the_average_in_and_the_raw_weights_back_even_on_error():
    network = nn.Linear(3, 2)
    set_weights(network, 1.0)
    average = WeightAverage(network, decay=0.5)
    set_weights(network, 5.0)
    with average.applied(network):
        assert torch.equal(network.weight, torch.ones(2, 3))
    assert torch.equal(network.weight, torch.full((2, 3), 5.0))
    with pytest.raises(RuntimeError, match="boom"), average.applied(network):
        raise RuntimeError("boom")
    assert torch.equal(network.weight, torch.full((2, 3), 5.0))


def make_state(tmp_path):
    network = nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(network.parameters())
    network(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    average = WeightAverage(network, decay=0.9)
    set_weights(network, 3.0)
    average.update(network)
    rngs = {"data": torch.Generator().manual_seed(1)}
    path = tmp_path / "state.safetensors"
    save_state(path, network, average, optimizer, [{k: g.get_state() for k, g in rngs.items()}], {"step": 1})
    return path, network, average, optimizer, rngs


def test_state_round_trips_the_average(tmp_path):
    path, network, average, optimizer, rngs = make_state(tmp_path)
    fresh = nn.Linear(3, 2)
    fresh_average = WeightAverage(fresh, decay=0.9)
    record = load_state(path, fresh, fresh_average, torch.optim.AdamW(fresh.parameters()), rngs)
    assert record["step"] == 1 and fresh_average.updates == 1
    for name, tensor in average.weights.items():
        assert torch.equal(fresh_average.weights[name], tensor), name
    assert not torch.equal(fresh_average.weights["weight"], fresh.weight.detach())  # average ≠ raw here


def test_a_checkpoint_without_an_average_starts_it_from_its_weights(tmp_path):
    path, network, *_ = make_state(tmp_path)
    with safe_open(path, "pt") as fh:
        record = json.loads(fh.metadata()["record"])
    del record["ema_updates"]
    old = tmp_path / "old.safetensors"
    save_file(
        {k: v for k, v in load_file(path).items() if not k.startswith("ema.")},
        old,
        metadata={"record": json.dumps(record)},
    )
    fresh = nn.Linear(3, 2)
    fresh_average = WeightAverage(fresh, decay=0.9)
    load_state(old, fresh, fresh_average, torch.optim.AdamW(fresh.parameters()), {"data": torch.Generator()})
    assert fresh_average.updates == 0
    for name, tensor in network.state_dict().items():
        assert torch.equal(fresh_average.weights[name], tensor), name

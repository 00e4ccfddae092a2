"""Resumable training state in one safetensors file: weights, their average, optimiser, RNG states and a
JSON record; the record is also written beside it as ``record.json`` so a run can be published without
its (large) state file."""

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open

from ggm_core.atomic import atomic_save_safetensors, atomic_write_bytes
from training.weight_average import WeightAverage

STATE_FILE = "state.safetensors"
PREVIOUS_FILE = "state.previous.safetensors"  # the checkpoint before the last: the fallback if that one is bad
CORRUPT_FILE = "state.unreadable.safetensors"  # an unreadable state, kept aside for inspection
RECORD_FILE = "record.json"


def save_state(
    path: Path,
    model: torch.nn.Module,
    average: WeightAverage,
    optimizer: torch.optim.Optimizer,
    rng_states: list[dict],
    record: dict,
) -> None:
    """Write the state; ``rng_states`` holds every rank's generator states ({name: state}, rank by rank), so that
    each process of a multi-process run resumes its own random streams."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors.update({f"ema.{k}": v for k, v in average.weights.items()})
    opt = optimizer.state_dict()
    for index, state in opt["state"].items():
        for name, value in state.items():
            tensors[f"optim.{index}.{name}"] = torch.as_tensor(value)
    for rank, states in enumerate(rng_states):
        tensors.update({f"rng.{rank}.{name}": state for name, state in states.items()})
    state_record = {**record, "param_groups": opt["param_groups"], "ema_updates": average.updates}
    if path.is_file():  # keep the last good state until the new one is complete
        os.replace(path, path.with_name(PREVIOUS_FILE))
    atomic_save_safetensors(tensors, path, metadata={"record": json.dumps(state_record)})
    atomic_write_bytes(path.parent / RECORD_FILE, json.dumps(record).encode())  # after the state it describes


def training_record(state_dir: Path) -> dict:
    """The run's record (step, losses, positions seen, wall time) from ``record.json``, or from the state
    file's metadata for runs saved before ``record.json`` was written."""
    if (state_dir / RECORD_FILE).is_file():
        return json.loads((state_dir / RECORD_FILE).read_text())
    if not (state_dir / STATE_FILE).is_file():
        raise FileNotFoundError(f"{state_dir}: neither {RECORD_FILE} nor {STATE_FILE}")
    with safe_open(state_dir / STATE_FILE, "pt") as fh:
        return json.loads(fh.metadata()["record"])


def load_state(
    path: Path,
    model: torch.nn.Module,
    average: WeightAverage,
    optimizer: torch.optim.Optimizer,
    rngs: dict,
    rank: int = 0,
) -> dict:
    """Restore everything saved by :func:`save_state` (the generators in ``rngs`` to ``rank``'s saved states) and
    return the JSON record; if the state at ``path`` is missing or unreadable (a kill while it was renamed, a
    truncated copy), the previous one is used, with a message.

    A checkpoint written before weight averaging existed starts the average from its weights; one written
    before per-rank random states gives rank 0 its single saved state. A rank the checkpoint has no state for
    (a resume with more processes) keeps its freshly seeded generators, with a message.
    """
    previous = path.with_name(PREVIOUS_FILE)
    try:
        return _load_state(path, model, average, optimizer, rngs, rank)
    except (OSError, SafetensorError, ValueError, KeyError) as err:
        if not previous.is_file():
            raise SystemExit(f"{path}: cannot be read ({err}) and there is no {PREVIOUS_FILE} to fall back to") from err
        if path.exists():  # aside, so the next checkpoint does not rotate it over the good previous one
            os.replace(path, path.with_name(CORRUPT_FILE))
        print(f"{path}: cannot be read ({err}); resuming from the checkpoint before it, {previous}")
        record = _load_state(previous, model, average, optimizer, rngs, rank)
        os.replace(previous, path)  # it is the latest good state now
        return record


def _load_state(path, model, average, optimizer, rngs, rank) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no training checkpoint to resume from")
    with safe_open(path, "pt") as fh:
        record = json.loads(fh.metadata()["record"])
    tensors = load_file(path)
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    for name, value in model.state_dict().items():
        average.weights[name].copy_(tensors.get(f"ema.{name}", value))
    average.updates = record.pop("ema_updates", 0)
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": record.pop("param_groups")})
    for name, generator in rngs.items():
        saved = tensors.get(f"rng.{rank}.{name}", tensors.get(f"rng.{name}") if rank == 0 else None)
        if saved is None:
            print(f"{path}: no saved {name!r} random state for rank {rank}; it continues from a fresh seed")
        else:
            generator.set_state(saved)
    return record

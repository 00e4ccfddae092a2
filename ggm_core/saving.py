"""Writing a checkpoint folder: ``model.safetensors`` + ``config.json`` (+ tokenizer files), atomically.

Kept apart from loading (``ggm_core.checkpoint``, which knows every family) so that a family can save
itself without an import cycle.
"""

import hashlib
import json
import os
import shutil
from pathlib import Path

import torch

from ggm_core.atomic import atomic_save_safetensors, atomic_write_bytes

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT_VERSION = 1


def save_model(model, folder: str | Path, dtype: torch.dtype = torch.float32) -> Path:
    """Write the checkpoint folder (weights, tokenizer, then config). ``dtype=torch.float16`` halves the size."""
    folder = Path(folder)
    weights = {k: v.to(dtype) if v.is_floating_point() else v for k, v in model.network.state_dict().items()}
    metadata = {"format": "ggm", "config_sha256": config_digest(model.config_dict())}
    atomic_save_safetensors(weights, folder / WEIGHTS_FILE, metadata=metadata)
    if model.tokenizer is not None:
        model.tokenizer.save(folder)
    config = {"format_version": FORMAT_VERSION, "family": model.family, **model.config_dict()}
    config |= {
        "tokenizer": {"kind": model.tokenizer.kind if model.tokenizer is not None else "none"},
        "metadata": model.metadata,
    }
    atomic_write_bytes(folder / CONFIG_FILE, json.dumps(config, indent=1).encode())
    return folder


def config_digest(family_config: dict) -> str:
    """SHA-256 of a family's config (sorted JSON): stored with the weights, so an edited config.json is caught."""
    return hashlib.sha256(json.dumps(family_config, sort_keys=True).encode()).hexdigest()


def replace_model_folder(model, folder: str | Path, dtype: torch.dtype = torch.float32) -> Path:
    """Write the checkpoint into a fresh folder beside ``folder``, then swap it in: a kill leaves the old
    export or the new one whole, never weights of one step with the config of another."""
    folder = Path(folder)
    fresh, old = folder.with_name(folder.name + ".new"), folder.with_name(folder.name + ".old")
    if not folder.exists():  # killed between the two renames last time: put the complete export back
        for candidate in (fresh, old):
            if (candidate / CONFIG_FILE).is_file():
                os.replace(candidate, folder)
                break
    for leftover in (fresh, old):
        shutil.rmtree(leftover, ignore_errors=True)
    model.save(fresh, dtype)  # any family's (and the judge's) own save
    if folder.exists():
        os.replace(folder, old)
    os.replace(fresh, folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder

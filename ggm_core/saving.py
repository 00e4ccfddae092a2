"""Writing a checkpoint folder: ``model.safetensors`` + ``config.json`` (+ tokenizer files), atomically.

Kept apart from loading (``ggm_core.checkpoint``, which knows every family) so that a family can save
itself without an import cycle.
"""

import json
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
    atomic_save_safetensors(weights, folder / WEIGHTS_FILE, metadata={"format": "ggm"})
    if model.tokenizer is not None:
        model.tokenizer.save(folder)
    config = {"format_version": FORMAT_VERSION, "family": model.family, **model.config_dict()}
    config |= {
        "tokenizer": {"kind": model.tokenizer.kind if model.tokenizer is not None else "none"},
        "metadata": model.metadata,
    }
    atomic_write_bytes(folder / CONFIG_FILE, json.dumps(config, indent=1).encode())
    return folder

"""Checkpoint folders: ``model.safetensors`` + ``config.json`` (+ tokenizer files), local or on the Hub.

config.json holds the model family (a name in ggm_core.registry: "ggm", the default when absent, "md4",
"blackout", or one registered outside the project), the family's own part (``GenerativeModel.config_dict``: the denoiser kind and sizes, for GGM
the schedule and μ), the tokenizer kind and free-form metadata. Weights are read with safetensors only
(never pickle). Files are written atomically.
"""

import json
import re
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open

from ggm_core.family import GenerativeModel
from ggm_core.registry import FAMILIES, TOKENIZERS
from ggm_core.saving import CONFIG_FILE, FORMAT_VERSION, WEIGHTS_FILE, config_digest, save_model

__all__ = [
    "CONFIG_FILE",
    "FAMILIES",
    "WEIGHTS_FILE",
    "CheckpointError",
    "load_model",
    "resolve_checkpoint",
    "save_model",
]

_REPO_ID = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+)(@(?P<revision>[\w./-]+))?$")  # owner/name or owner/name@rev


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, or does not match the rest of the checkpoint."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path


def resolve_checkpoint(path_or_repo: str | Path) -> Path:
    """A local folder as is; otherwise a Hub repo id (``owner/name``, or ``owner/name@revision`` for a branch,
    tag or commit), downloaded with ``huggingface_hub``. A missing path whose first folder exists here is a
    mistyped local path, not a Hub id, and is reported as one."""
    local = Path(path_or_repo).expanduser()
    if local.is_dir():
        return local
    if local.exists():
        raise CheckpointError(local, "is a file; expected a checkpoint folder")
    match = _REPO_ID.match(str(path_or_repo))
    if not match:
        raise CheckpointError(local, "no such checkpoint folder (and not a Hub repo id like 'owner/name')")
    if Path(local.parts[0]).is_dir():
        raise CheckpointError(
            local,
            f"no such checkpoint folder (the folder {local.parts[0]}/ exists here, so this is not taken for a Hub id)",
        )
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id=match["repo"], revision=match["revision"]))
    except Exception as err:  # the hub raises many types; keep the cause attached
        raise CheckpointError(
            Path(str(path_or_repo)), f"no such local folder, and could not download it from the Hugging Face Hub: {err}"
        ) from err


def _read_config(folder: Path) -> dict:
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(path, "missing")
    try:
        config = json.loads(path.read_text())
        version = config["format_version"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as err:
        raise CheckpointError(path, f"not a GGM config ({err.__class__.__name__}: {err})") from err
    if version != FORMAT_VERSION:
        raise CheckpointError(path, f"format_version {version} is not supported (expected {FORMAT_VERSION})")
    return config


def load_tokenizer(kind: str, folder: Path):
    """The tokenizer stored in a checkpoint folder, by its registered kind (ggm_core.registry), or None for
    "none"."""
    if kind == "none":
        return None
    if kind not in TOKENIZERS:
        raise CheckpointError(folder / CONFIG_FILE, f"unknown tokenizer kind {kind!r}; known: {sorted(TOKENIZERS)}")
    try:
        return TOKENIZERS[kind].load(folder)
    except (OSError, ValueError) as err:
        raise CheckpointError(folder, f"{kind} tokenizer: {err}") from err


def load_model(path_or_repo: str | Path, device: str | torch.device = "cpu") -> GenerativeModel:
    """Load a checkpoint folder or Hub repo; raises :class:`CheckpointError` naming the bad file."""
    folder = resolve_checkpoint(path_or_repo)
    config = _read_config(folder)
    config_path = folder / CONFIG_FILE
    family = config.get("family", "ggm")
    try:
        if family not in FAMILIES:
            raise ValueError(f"unknown model family {family!r}; known: {', '.join(map(repr, FAMILIES))}")
        tokenizer_kind = config["tokenizer"]["kind"]
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(config_path, f"invalid config ({err.__class__.__name__}: {err})") from err
    tokenizer = load_tokenizer(tokenizer_kind, folder)
    try:
        model = FAMILIES[family].from_config(config, tokenizer, config.get("metadata", {}))
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(config_path, f"invalid config ({err.__class__.__name__}: {err})") from err
    denoiser = model.network
    weights_path = folder / WEIGHTS_FILE
    if not weights_path.is_file():
        raise CheckpointError(weights_path, "missing")
    try:
        state = load_file(weights_path)
        with safe_open(weights_path, "pt") as fh:
            digest = (fh.metadata() or {}).get("config_sha256")
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(weights_path, f"corrupt or not a safetensors file ({err})") from err
    expected = denoiser.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            weights_path, f"does not match config.json: missing {missing[:5]}, unexpected {unexpected[:5]}"
        )
    bad = [name for name, tensor in state.items() if tensor.is_floating_point() and not bool(tensor.isfinite().all())]
    if bad:
        raise CheckpointError(weights_path, f"holds non-finite weights (NaN or inf) in {bad[:3]}: a diverged run")
    for name, tensor in state.items():
        if tensor.shape != expected[name].shape:
            raise CheckpointError(
                weights_path,
                f"tensor {name!r} has shape {tuple(tensor.shape)}, config.json implies {tuple(expected[name].shape)}",
            )
    family_part = {k: v for k, v in config.items() if k not in ("format_version", "family", "tokenizer", "metadata")}
    if digest is not None and digest != config_digest(family_part):  # checkpoints before the digest have none
        raise CheckpointError(
            config_path, f"was edited after {WEIGHTS_FILE} was written (the sizes, schedule or noise differ)"
        )
    denoiser.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})
    denoiser.to(device).eval()
    return model

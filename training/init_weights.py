"""Start a run from a trained checkpoint's weights (``init_from``): fine-tuning, e.g. teaching a shipped GGM
the clean context of the refinement sweeps (docs/math.md, "Infilling")."""

import shutil
from pathlib import Path

import torch

from ggm_core.checkpoint import CheckpointError, load_model

MAX_NOISE_TV = 1e-3  # a μ recomputed from the same data differs by rounding (faces: TV 1.1e-5)


def copy_tokenizer(folder: Path, tokenizer_dir: Path) -> None:
    """Give a text run the checkpoint's BPE (a run trains its own only when none is there)."""
    source = folder / "tokenizer.json"
    if source.is_file() and not (tokenizer_dir / "tokenizer.json").is_file():
        tokenizer_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, tokenizer_dir / "tokenizer.json")


def gains_document_tokens(model, source) -> bool:
    """Whether ``model`` is ``source`` with END and PAD added to its BPE (the same GGM but for two more ids)."""
    mine, theirs = model.config_dict(), source.config_dict()
    if model.family != "ggm" or source.family != "ggm" or not getattr(model.tokenizer, "has_document_tokens", False):
        return False
    if getattr(source.tokenizer, "has_document_tokens", True):
        return False
    grown = {**theirs["denoiser"], "vocab_size": theirs["denoiser"]["vocab_size"] + 2}
    return mine["denoiser"] == grown and mine["schedule"] == theirs["schedule"]


def initialise_from(model, folder: Path) -> None:
    """Copy the weights of the checkpoint in ``folder`` into ``model.network``, and a GGM's noise μ with them (the
    weights' h are relative to it); SystemExit naming what differs when the checkpoint's family, network, schedule
    or noise (beyond the rounding of a re-prepared data set, TV ≥ 1e-3) is not the run's, or naming the bad file when
    it cannot be loaded.

    A text GGM whose run adds END and PAD to the checkpoint's BPE (``windows = "documents"``) keeps its own μ (the
    new windows' unigram) and gets two new rows in the token embedding (the mean row) and the output layer (zero, so
    their h starts at 0: P = μ); the fine-tune learns them and the shift of the other h to the new μ."""
    try:
        source = load_model(folder)
    except CheckpointError as err:
        raise SystemExit(f"--init-from {folder}: the checkpoint cannot be loaded: {err}") from err
    if gains_document_tokens(model, source):
        model.network.load_state_dict(grown_state(source.network.state_dict(), model.network.state_dict()))
        return
    mine, theirs = model.config_dict(), source.config_dict()
    differ = [key for key in ("denoiser", "schedule") if mine.get(key) != theirs.get(key)]
    if source.family != model.family:
        differ.insert(0, "family")
    elif "noise" in mine and 0.5 * float((model.noise.probs - source.noise.probs).abs().sum()) >= MAX_NOISE_TV:
        differ.append("noise")
    if differ:
        raise SystemExit(
            f"--init-from {folder}: the checkpoint does not match this run's config in: {', '.join(differ)}"
        )
    if "noise" in mine:
        model.noise = source.noise
    state = {name: value.float() for name, value in source.network.state_dict().items()}
    model.network.load_state_dict(state)


def grown_state(source: dict, target: dict) -> dict:
    """``source``'s tensors in ``target``'s shapes: a tensor with more rows keeps the source's rows first, then
    the mean row (an embedding) or zeros (an output layer's weight and bias)."""
    out = {}
    for name, value in source.items():
        value = value.float()
        extra = target[name].shape[0] - value.shape[0]
        if extra > 0:
            fill = value.mean(0, keepdim=True) if "embedding" in name else value.new_zeros(1, *value.shape[1:])
            value = torch.cat([value, fill.expand(extra, *value.shape[1:])])
        out[name] = value
    return out

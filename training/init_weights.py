"""Start a run from a trained checkpoint's weights (``init_from``): fine-tuning, e.g. teaching a shipped GGM
the clean context of the refinement sweeps (docs/math.md, "Infilling")."""

import shutil
from pathlib import Path

import torch

from ggm_core.checkpoint import load_model


def copy_tokenizer(folder: Path, tokenizer_dir: Path) -> None:
    """Give a text run the checkpoint's BPE (a run trains its own only when none is there)."""
    source = folder / "tokenizer.json"
    if source.is_file() and not (tokenizer_dir / "tokenizer.json").is_file():
        tokenizer_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, tokenizer_dir / "tokenizer.json")


def initialise_from(model, folder: Path) -> None:
    """Copy the weights of the checkpoint in ``folder`` into ``model.network``; SystemExit naming what differs
    when the checkpoint's family, network, schedule or noise is not the run's."""
    source = load_model(folder)
    mine, theirs = model.config_dict(), source.config_dict()
    differ = [key for key in ("denoiser", "schedule") if mine.get(key) != theirs.get(key)]
    if source.family != model.family:
        differ.insert(0, "family")
    elif "noise" in mine and not torch.allclose(
        torch.tensor(mine["noise"]["probs"]), torch.tensor(theirs["noise"]["probs"]), rtol=1e-6, atol=1e-9
    ):
        differ.append("noise")
    if differ:
        raise SystemExit(f"--init-from {folder}: its {', '.join(differ)} differ from this run's config")
    state = {name: value.float() for name, value in source.network.state_dict().items()}
    model.network.load_state_dict(state)

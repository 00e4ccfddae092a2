"""Start a run from a trained checkpoint's weights (``init_from``): fine-tuning, e.g. teaching a shipped GGM
the clean context of the refinement sweeps (docs/math.md, "Infilling")."""

import shutil
from pathlib import Path

from ggm_core.checkpoint import CheckpointError, load_model

MAX_NOISE_TV = 1e-3  # a μ recomputed from the same data differs by rounding (faces: TV 1.1e-5)


def copy_tokenizer(folder: Path, tokenizer_dir: Path) -> None:
    """Give a text run the checkpoint's BPE (a run trains its own only when none is there)."""
    source = folder / "tokenizer.json"
    if source.is_file() and not (tokenizer_dir / "tokenizer.json").is_file():
        tokenizer_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, tokenizer_dir / "tokenizer.json")


def initialise_from(model, folder: Path) -> None:
    """Copy the weights of the checkpoint in ``folder`` into ``model.network``, and a GGM's noise μ with them (the
    weights' h are relative to it); SystemExit naming what differs when the checkpoint's family, network, schedule
    or noise (beyond the rounding of a re-prepared data set, TV ≥ 1e-3) is not the run's, or naming the bad file when
    it cannot be loaded."""
    try:
        source = load_model(folder)
    except CheckpointError as err:
        raise SystemExit(f"--init-from {folder}: the checkpoint cannot be loaded: {err}") from err
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

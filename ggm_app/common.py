"""Shared pieces: checkpoint specs and loading (any family), token state labels and colours, export folders."""

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ggm_core import CheckpointError, GenerativeModel, load_model

# Labels and Okabe-Ito colours of the token states of ggm_app.session (NOISE, CHANGED, SETTLED, KNOWN).
STATE_LABELS = ("noise", "just changed", "settled", "known")
STATE_COLORS = ("#D9D9D9", "#E69F00", "#56B4E9", "#009E73")  # light grey, orange, sky blue, bluish green
COLOR_MAP = dict(zip(STATE_LABELS, STATE_COLORS, strict=True))
STATE_HELP = (
    "**noise**: not yet redrawn in the final sweep · **just changed**: redrawn since the last frame · "
    "**settled**: redrawn in the final sweep, so final · **known**: your text, clamped, never changes"
)


# ---------------------------------------------------------------------------------------------- checkpoints
@dataclass
class ModelSlot:
    """The checkpoints of one tab: loaded models by display name, and why the others did not load."""

    models: dict[str, GenerativeModel] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return list(self.models)

    def pick(self, name) -> tuple[str, GenerativeModel]:
        """The model called ``name``, else the first (the API may send anything)."""
        name = name if name in self.models else self.names[0]
        return name, self.models[name]


def split_specs(values: list[str] | None, env_value: str | None, default: str | list[str]) -> tuple[list[str], bool]:
    """Checkpoint specs from command-line values, else the env var (comma-separated), else the default(s).

    Returns (specs, is_default).
    """
    specs = [s.strip() for v in values or [] for s in v.split(",") if s.strip()]
    if not specs and env_value:
        specs = [s.strip() for s in env_value.split(",") if s.strip()]
    return (specs, False) if specs else ([default] if isinstance(default, str) else list(default), True)


def load_slot(specs: list[str], tokenizer_kind: str | tuple[str, ...], is_default: bool = False) -> ModelSlot:
    """Load every spec (local folder or Hub repo id); keep those with the right tokenizer, explain the rest.

    A default spec that is not a local folder is never looked up on the Hub, so a fresh checkout starts
    without any outside request.
    """
    slot = ModelSlot()
    for spec in specs:
        if is_default and not Path(spec).expanduser().is_dir():
            slot.errors.append(f"no checkpoint at `{spec}` (the default)")
            continue
        try:
            model = load_model(spec)
        except (CheckpointError, OSError, RuntimeError) as err:
            slot.errors.append(f"`{spec}`: {err}")
            continue
        kind = getattr(model.tokenizer, "kind", "none")
        kinds = (tokenizer_kind,) if isinstance(tokenizer_kind, str) else tokenizer_kind
        if kind not in kinds:
            wanted = " or ".join(map(repr, kinds))
            slot.errors.append(f"`{spec}`: its tokenizer is {kind!r}, this tab needs {wanted}")
            continue
        local = Path(spec).expanduser()
        name = (
            (f"{local.parent.name}/{local.name}" if local.name == "model" else local.name) if local.is_dir() else spec
        )
        while name in slot.models:
            name += "'"
        slot.models[name] = model
    return slot


def model_summary(name: str, model: GenerativeModel) -> str:
    return f"`{name}`: {model.describe()}."


def export_dir(max_age_s: float = 3600.0) -> Path:
    """A fresh folder under the system temp dir (which Gradio may serve) for a trajectory download.

    Folders older than ``max_age_s`` are removed (Gradio has copied their files to its cache by then).
    """
    import shutil
    import tempfile

    base = Path(tempfile.gettempdir()) / "ggm_app"
    base.mkdir(exist_ok=True)
    now = time.time()
    for old in base.iterdir():
        try:
            if old.is_dir() and now - old.stat().st_mtime > max_age_s:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:  # another worker removed it first
            pass
    return Path(tempfile.mkdtemp(dir=base))


def sweep_cache(folder: Path, max_age_s: float, keep_before: float, max_bytes: float = float("inf")) -> int:
    """Delete the files under ``folder`` made after ``keep_before`` (a timestamp) and older than ``max_age_s``,
    then, while those left exceed ``max_bytes`` in all, the oldest of them, and the folders they leave empty;
    returns how many files went. Files made before ``keep_before`` (the page's own: example thumbnails) stay."""
    now, removed, kept = time.time(), 0, []
    for base, _, names in os.walk(folder):
        for name in names:
            path = Path(base, name)
            try:
                made = path.lstat()
                if made.st_ctime <= keep_before:
                    continue
                if made.st_ctime < now - max_age_s:
                    path.unlink()
                    removed += 1
                else:
                    kept.append((made.st_ctime, made.st_size, path))
            except OSError:  # gone already (Gradio's own clean-up, another worker)
                continue
    total = sum(size for _, size, _ in kept)
    for _, size, path in sorted(kept, key=lambda run_file: run_file[0]):  # the oldest run files first
        if total <= max_bytes:
            break
        with contextlib.suppress(OSError):
            path.unlink()
            removed += 1
        total -= size
    for base, _, _ in os.walk(folder, topdown=False):  # the deepest folders first
        if Path(base) != folder:
            with contextlib.suppress(OSError):
                Path(base).rmdir()  # only if empty
    return removed


def start_cache_sweeper(folder: Path, max_age_s: float, max_bytes: float = float("inf")) -> threading.Thread:
    """Sweep Gradio's file cache (:func:`sweep_cache`) every sixth of ``max_age_s``, at least once a minute, in
    a daemon thread (streamed frames and downloads would otherwise pile up on a long-lived server; Gradio's own
    ``delete_cache`` missed about half the frames)."""
    keep_before = time.time()

    def loop() -> None:
        while True:
            time.sleep(min(60.0, max(1.0, max_age_s / 6)))
            sweep_cache(folder, max_age_s, keep_before, max_bytes)

    thread = threading.Thread(target=loop, name="ggm-cache-sweeper", daemon=True)
    thread.start()
    return thread

"""Shared pieces: checkpoint specs and loading, token states and their colours, frame pacing, readouts."""

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ggm_core import CheckpointError, GlauberModel, load_model

# Token states, shown with the Okabe-Ito palette (colour-blind safe; the four differ in lightness too).
NOISE, CHANGED, SETTLED, KNOWN = 0, 1, 2, 3
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

    models: dict[str, GlauberModel] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return list(self.models)


def split_specs(values: list[str] | None, env_value: str | None, default: str) -> tuple[list[str], bool]:
    """Checkpoint specs from command-line values, else the env var (comma-separated), else the default.

    Returns (specs, is_default).
    """
    specs = [s.strip() for v in values or [] for s in v.split(",") if s.strip()]
    if not specs and env_value:
        specs = [s.strip() for s in env_value.split(",") if s.strip()]
    return (specs, False) if specs else ([default], True)


def load_slot(specs: list[str], tokenizer_kind: str, is_default: bool = False) -> ModelSlot:
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
        if not isinstance(model, GlauberModel):
            slot.errors.append(f"`{spec}`: a {type(model).__name__} checkpoint; the app runs GGM checkpoints only")
            continue
        kind = getattr(model.tokenizer, "kind", "none")
        if kind != tokenizer_kind:
            slot.errors.append(f"`{spec}`: its tokenizer is {kind!r}, this tab needs {tokenizer_kind!r}")
            continue
        local = Path(spec).expanduser()
        name = (
            (f"{local.parent.name}/{local.name}" if local.name == "model" else local.name) if local.is_dir() else spec
        )
        while name in slot.models:
            name += "'"
        slot.models[name] = model
    return slot


def model_summary(name: str, model: GlauberModel) -> str:
    s = model.schedule
    return (
        f"`{name}`: {s.seq_len} tokens, vocabulary {model.noise.vocab_size}, trained with {s.sweeps} sweeps "
        f"({s.num_steps} steps), {model.denoiser.kind} denoiser."
    )


# ---------------------------------------------------------------------------------------------- run settings
def clean_seed(value) -> int:
    """A seed from the seed box or the API (None, floats, negatives, junk → a valid seed; junk → 0)."""
    for cast in (int, lambda v: int(float(v))):  # int first: float(2**63 - 1) would round
        try:
            return abs(cast(value)) % (2**63)
        except (TypeError, ValueError, OverflowError):
            pass
    return 0


def next_seed(value) -> int:
    """The seed box after a run: one past the seed the run used, so the next click draws a new sample."""
    return (clean_seed(value) + 1) % (2**63)


@dataclass(frozen=True)
class RunSettings:
    """Sampler settings from the Advanced panel, cleaned up (the API may send None or floats)."""

    sweeps: int
    positions_per_call: int
    temperature: float
    top_p: float
    seed: int

    @classmethod
    def clean(cls, model: GlauberModel, sweeps, ppc, temperature, top_p, seed) -> "RunSettings":
        def num(x, default, cast=float):
            try:
                return cast(x) if x is not None else default
            except (TypeError, ValueError):
                return default

        return cls(
            sweeps=max(1, min(64, num(sweeps, model.schedule.sweeps, lambda v: int(round(float(v)))))),
            positions_per_call=max(1, min(model.schedule.seq_len, num(ppc, 1, lambda v: int(round(float(v)))))),
            temperature=max(0.05, min(5.0, num(temperature, 1.0))),
            top_p=max(0.01, min(1.0, num(top_p, 1.0))),
            seed=clean_seed(seed),
        )

    def approximations(self, model: GlauberModel) -> list[str]:
        """Why the run is not the exact chain (empty when it is)."""
        out = []
        if self.sweeps != model.schedule.sweeps:
            out.append(f"{self.sweeps} sweeps instead of the trained {model.schedule.sweeps}")
        if self.positions_per_call != 1:
            out.append(f"{self.positions_per_call} positions per network call")
        if self.temperature != 1.0:
            out.append(f"temperature {self.temperature:g}")
        if self.top_p != 1.0:
            out.append(f"top-p {self.top_p:g}")
        return out

    def sample_kwargs(self) -> dict:
        return {
            "sweeps": self.sweeps,
            "positions_per_call": self.positions_per_call,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "seed": self.seed,
        }


def readout(nfe: int, seconds: float, generated: int, approximations: list[str], seed: int) -> str:
    """The line shown after a run: network calls, seconds, tokens per second, exactness, the seed used."""
    rate = generated / seconds if seconds > 0 else float("inf")
    exact = "**exact** heat-bath chain" if not approximations else "**approximate**: " + ", ".join(approximations)
    return f"{nfe} network calls · {seconds:.2f} s · {generated} tokens generated · {rate:,.0f} tokens/s · {exact} · seed {seed}"


# ---------------------------------------------------------------------------------------------- trajectory
class StateTracker:
    """Token states along a run: noise until redrawn in the final sweep (sweep 0), then settled; known stays known."""

    def __init__(self, known: np.ndarray) -> None:
        self.known = np.asarray(known, dtype=bool)
        self.final = np.zeros_like(self.known)  # redrawn in the final sweep

    def update(self, positions, sweep: int) -> None:
        if sweep == 0 and len(positions):
            self.final[list(positions)] = True

    def states(self, changed=()) -> np.ndarray:
        s = np.where(self.final, SETTLED, NOISE).astype(np.int8)
        if len(changed):
            s[list(changed)] = CHANGED
        s[self.known] = KNOWN
        return s


@dataclass
class Trajectory:
    """Every event of a run: tokens (after the event), token states and network calls so far."""

    tokens: list[np.ndarray] = field(default_factory=list)
    states: list[np.ndarray] = field(default_factory=list)
    nfe: list[int] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # what rendering needs (known mask, original image, …)

    def add(self, tokens: np.ndarray, states: np.ndarray, nfe: int) -> None:
        self.tokens.append(np.asarray(tokens, dtype=np.int32))
        self.states.append(np.asarray(states, dtype=np.int8))
        self.nfe.append(int(nfe))

    def __len__(self) -> int:
        return len(self.tokens)

    def index(self, frame) -> int:
        """A slider value (any number or None) → a valid frame index (the last by default)."""
        try:
            i = int(round(float(frame)))
        except (TypeError, ValueError):
            i = len(self) - 1
        return max(0, min(len(self) - 1, i))

    def subsample(self, max_frames: int) -> list[int]:
        """At most ``max_frames`` frame indices, evenly spaced, always with the first and the last."""
        n = len(self)
        if n <= max_frames:
            return list(range(n))
        return sorted(set(np.linspace(0, n - 1, max_frames).round().astype(int).tolist()))


class FramePacer:
    """Decides when to show a frame: about ``fps`` per second, but at least ``min_frames`` over a run."""

    def __init__(self, total_updates: int, fps: float = 10.0, min_frames: int = 24) -> None:
        self.interval = 1.0 / fps
        self.every = max(1, total_updates // min_frames)
        self.last_time = time.perf_counter()
        self.last_update = 0

    def due(self, updates_done: int) -> bool:
        now = time.perf_counter()
        if now - self.last_time >= self.interval or updates_done - self.last_update >= self.every:
            self.last_time, self.last_update = now, updates_done
            return True
        return False


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

"""Where the app's network calls run: in this process (a laptop, a CPU Basic Space), or on a ZeroGPU Space in the
GPU worker that `spaces` forks for each call of a function decorated with ``@spaces.GPU``.

Every network call of the app goes through the functions below: a run's sampler (each Compare column's too), a
flexible gap's length choice and the belief overlay. On ZeroGPU (``SPACES_ZERO_GPU`` set) each runs under ``spaces.GPU``
with a duration estimated from the work; in a forked worker only what a function yields or returns comes back
(sampler events, a gap choice, a belief: tensors and plain values), so the app keeps its state (trajectories,
readouts, exports, Stop) in the main process, and closing a stream ends the worker. Models are passed by key:
:func:`key` registers them (the app does so at start-up, before any worker is forked, so every worker holds them).
Elsewhere the decorator does nothing and the functions run in the caller's thread.
"""

import os

ZERO_GPU = os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")
if ZERO_GPU:
    import spaces  # before torch (app.py imports this module first): ZeroGPU patches torch's CUDA

# isort: split
import math  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402

import torch  # noqa: E402

from ggm_core.family import GenerativeModel  # noqa: E402
from ggm_core.text_infill import GapChoice, choose_gap_lengths, plan_infill  # noqa: E402

MODELS: dict[str, GenerativeModel] = {}
SECONDS_PER_CALL = 0.01  # a generous GPU time per network call of these small models (not measured on ZeroGPU)
OVERHEAD_S = 5  # a worker's start and the events' trip back


def key(model: GenerativeModel) -> str:
    """The model's key in :data:`MODELS`, registering it on first use."""
    for name, known in MODELS.items():
        if known is model:
            return name
    name = f"{model.family}-{len(MODELS)}"
    MODELS[name] = model
    return name


def _calls(model: GenerativeModel, kwargs: dict) -> int:
    """The network calls a run of ``model.sample(**kwargs)`` makes, at most."""
    known = torch.as_tensor(kwargs.get("known", []))
    n_free = model.seq_len - (int(known.sum()) if known.dtype == torch.bool else known.numel())
    return model.network_calls(n_free, **{k.name: kwargs[k.name] for k in model.knobs() if k.name in kwargs})


def run_seconds(model_key: str, kwargs: dict) -> int:
    """The GPU time to ask for a run of :func:`sample_events`."""
    return math.ceil(OVERHEAD_S + SECONDS_PER_CALL * _calls(MODELS[model_key], kwargs))


def sample_events(model_key: str, kwargs: dict) -> Iterator:
    """The sampler's events of one run (``model.sample(**kwargs)``)."""
    yield from MODELS[model_key].sample(**kwargs)


def choose_lengths(model_key: str, text: str, write_on: bool, sample_kwargs: dict) -> GapChoice:
    """The flexible gaps' lengths for ``text`` (ggm_core.text_infill.choose_gap_lengths)."""
    model = MODELS[model_key]

    def plan_for(lengths):
        return plan_infill(text, model.tokenizer, model.seq_len, write_on=write_on, lengths=lengths)

    return choose_gap_lengths(model, plan_for, len(plan_for(None).flexible), **sample_kwargs)


def belief(model_key: str, tokens: torch.Tensor, sweep: int) -> torch.Tensor | None:
    """What the model believes of a frame (``GenerativeModel.belief``): one network call."""
    return MODELS[model_key].belief(tokens, sweep)


RAW = {f.__name__: f for f in (sample_events, choose_lengths, belief)}
DURATIONS = {"sample_events": run_seconds, "choose_lengths": 15, "belief": 5}


def install(wrap: Callable[[Callable, object], Callable]) -> None:
    """Bind each function above to ``wrap(function, duration)`` (``duration``: seconds, or a function of the same
    arguments giving them). ZeroGPU installs ``spaces.GPU``; the tests install a forked worker like it."""
    for name, function in RAW.items():
        globals()[name] = wrap(function, DURATIONS[name])


def in_process(function: Callable, duration) -> Callable:
    """No wrapping: the function runs in the caller's thread."""
    return function


def on_zero_gpu(function: Callable, duration) -> Callable:
    return spaces.GPU(function, duration=duration)


install(on_zero_gpu if ZERO_GPU else in_process)

"""One run of any family, owned by a session object: the event stream, Stop, token states, frame pacing,
the trajectory and the readout. No Gradio here, so a run can be driven (and tested) without a server.

    session = RunSession(model, "text_austen", RunSettings.clean(model, {}, 1, 1, 0), known, tokens)
    for frame in session.frames():      # paced: about 10 a second, at least 24 a run, and the last
        show(frame.tokens, frame.states, frame.progress)
    session.readout                     # calls, seconds, tokens per second, exact or why not, seed
"""

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from ggm_app import batcher, device
from ggm_core import GenerativeModel
from ggm_core.events import SamplerEvent

# Token states, shown with the Okabe-Ito palette (colour-blind safe; the four differ in lightness too).
NOISE, CHANGED, SETTLED, KNOWN = 0, 1, 2, 3
MAX_SEED = 2**53  # integers below this survive a browser's number box exactly


# ---------------------------------------------------------------------------------------------- settings
def clean_seed(value) -> int:
    """A seed from the seed box or the API (None, floats, negatives, junk → a valid seed; junk → 0): the
    absolute value modulo 2^53, so the readout names a seed that can be typed back."""
    for cast in (int, lambda v: int(float(v))):  # int first: float of a large int would round
        try:
            return abs(cast(value)) % MAX_SEED
        except (TypeError, ValueError, OverflowError):
            pass
    return 0


def next_seed(value) -> int:
    """The seed box after a run: one past the seed the run used, so the next click draws a new sample."""
    return (clean_seed(value) + 1) % MAX_SEED


def _number(value, default: float, low: float, high: float) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        return default
    return default if x != x else max(low, min(high, x))  # NaN → default


@dataclass(frozen=True)
class RunSettings:
    """Sampler settings from the UI or the API, cleaned: the family's knobs, temperature, top-p, seed."""

    knobs: dict
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int = 0

    @classmethod
    def clean(cls, model: GenerativeModel, knobs: dict, temperature=1.0, top_p=1.0, seed=0) -> "RunSettings":
        if not model.tempered:  # a family whose draws have no temperature (Blackout's binomial births)
            temperature = top_p = 1.0
        return cls(
            knobs=model.clean_knobs(knobs or {}),
            temperature=_number(temperature, 1.0, 0.05, 5.0),
            top_p=_number(top_p, 1.0, 0.01, 1.0),
            seed=clean_seed(seed),
        )

    @classmethod
    def for_budget(cls, model: GenerativeModel, calls, n_free: int, seed=0) -> "RunSettings":
        """The family's knobs for a network-call budget (0 or None: its exact setting)."""
        budget = int(_number(calls, 0, 0, 1e9))
        return cls(knobs=model.knobs_for_budget(budget or None, n_free), seed=clean_seed(seed))

    def approximations(self, model: GenerativeModel, clamped: bool = False, restricted: bool = False) -> list[str]:
        """Why the run is not the family's exact chain (empty when it is); ``clamped``: known positions,
        ``restricted``: positions held to a set of tokens."""
        return model.approximations(self.temperature, self.top_p, clamped=clamped, restricted=restricted, **self.knobs)

    def sample_kwargs(self) -> dict:
        return {**self.knobs, "temperature": self.temperature, "top_p": self.top_p, "seed": self.seed}


def readout(nfe: int, seconds: float, generated: int, approximations: list[str], seed: int, chain: str) -> str:
    """The line shown after a run: network calls, seconds, tokens per second, exactness, the seed used."""
    rate = generated / seconds if seconds > 0 else float("inf")
    exact = f"**exact** {chain}" if not approximations else "**approximate**: " + ", ".join(approximations)
    return (
        f"{nfe} network calls · {seconds:.2f} s · {generated} tokens generated · {rate:,.0f} tokens/s · "
        f"{exact} · seed {seed}"
    )


# ---------------------------------------------------------------------------------------------- trajectory
class StateTracker:
    """Token states along a run: noise until drawn by a ``final`` event (ggm_core.events.SamplerEvent: for GGM the
    last reverse sweep; for the other families every draw), then settled; known stays known."""

    def __init__(self, known: np.ndarray) -> None:
        self.known = np.asarray(known, dtype=bool)
        self.final = np.zeros_like(self.known)  # redrawn in the final sweep

    def update(self, positions, final: bool) -> None:
        if final and len(positions):
            self.final[list(positions)] = True

    def states(self, changed=()) -> np.ndarray:
        s = np.where(self.final, SETTLED, NOISE).astype(np.int8)
        if len(changed):
            s[list(changed)] = CHANGED
        s[self.known] = KNOWN
        return s


@dataclass
class Trajectory:
    """Every event of a run: tokens (after the event), token states, network calls and sweep so far."""

    tokens: list[np.ndarray] = field(default_factory=list)
    states: list[np.ndarray] = field(default_factory=list)
    nfe: list[int] = field(default_factory=list)
    sweeps: list[int] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # what rendering needs (known mask, original image, …)

    def add(self, tokens: np.ndarray, states: np.ndarray, nfe: int, sweep: int = 0) -> None:
        """One frame; ``tokens`` last, since ``len`` counts them: a reader in another thread (Stop's export)
        never sees a frame without its states."""
        self.states.append(np.asarray(states, dtype=np.int8))
        self.nfe.append(int(nfe))
        self.sweeps.append(int(sweep))
        self.tokens.append(np.asarray(tokens, dtype=np.int32))

    def __len__(self) -> int:
        return len(self.tokens)

    def index(self, frame) -> int:
        """A slider value (any number or None) → a valid frame index (the last by default)."""
        try:
            i = int(round(float(frame)))
        except (TypeError, ValueError, OverflowError):
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

    def __init__(self, total_updates: int, fps: float = 10.0, min_frames: int = 8) -> None:
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


# ---------------------------------------------------------------------------------------------- the run
@dataclass
class RunPlan:
    """What a tab's inputs mean for one model: known positions, the notices, or why nothing can run."""

    known: np.ndarray | None = None
    known_tokens: torch.Tensor | None = None
    extra: dict = field(default_factory=dict)  # what the view needs (the user's image, …)
    notices: list[str] = field(default_factory=list)  # worth a pop-up
    notes: list[str] = field(default_factory=list)  # for the status line
    error: str | None = None
    noise_from: torch.Tensor | None = None  # "noise it": the input the forward process dissolves
    allowed: torch.Tensor | None = None  # (L, V) bool: the tokens each position may take (None: any)
    restriction: str = ""  # what ``allowed`` holds the positions to, in the tab's words (the readout names it)
    first_outputs: tuple = ()  # values for the tab's extra outputs (a UI's), sent with the first frame
    error_outputs: tuple = ()  # … and with an error


@dataclass
class Frame:
    """What to show: the canvas, the states of positions changed since the last frame, a progress line."""

    tokens: np.ndarray
    states: np.ndarray
    progress: str
    final: bool = False
    forward: bool = False  # a frame of the forward process ("noise it")


class RunSession:
    """A run of ``model`` with ``settings``; known positions (``known`` bool (L,)) hold ``known_tokens``.

    ``events`` yields after every network call (for side-by-side runs); ``frames`` yields the paced
    frames of a run on its own. ``stop`` ends the run at its next event; the trajectory keeps what ran.
    ``start`` (L,) replaces the family's random starting canvas (the "noise it" view), when the family
    accepts one.
    """

    def __init__(
        self,
        model: GenerativeModel,
        name: str,
        settings: RunSettings,
        known: np.ndarray | None = None,
        known_tokens=None,
        extra: dict | None = None,
        noise_from: torch.Tensor | None = None,
        allowed: torch.Tensor | None = None,
        restriction: str = "",
    ) -> None:
        self.model, self.name, self.settings = model, name, settings
        self.known = np.zeros(model.seq_len, bool) if known is None else np.asarray(known, bool)
        self.trajectory = Trajectory(extra={"known": self.known, "model": name, **(extra or {})})
        self.tracker = StateTracker(self.known)
        self._kwargs = settings.sample_kwargs()
        if self.known.any():
            self._kwargs |= {"known_tokens": torch.as_tensor(known_tokens), "known": torch.from_numpy(self.known)}
        if allowed is not None:
            self._kwargs["allowed"] = allowed
        self.restriction = restriction
        self._forward = None if noise_from is None else model.noising(noise_from, settings.seed)
        self._redrawn = np.zeros(model.seq_len, bool)  # by the forward process ("noise it")
        self.seconds = 0.0  # time spent waiting for the sampler's events (a queued run's wait included)
        self.ticket: batcher.Ticket | None = None  # the run's place among the visitors' runs (ggm_app.batcher)
        self.stopped = self.finished = False
        self.stopped_outputs: tuple | None = None  # what the app shows for this run once stopped (built once)
        self.export_path = None  # the run's download once written (ggm_app.controls)
        self.stop_lock = threading.Lock()  # held while those outputs are built (Stop and the run may ask at once)
        self.last: SamplerEvent | None = None
        self._since: set[int] = set()
        self._changed = threading.Condition()  # the sampler's thread records events under it; notified per event

    @classmethod
    def from_plan(cls, model: GenerativeModel, name: str, settings: RunSettings, plan: RunPlan) -> "RunSession":
        """The run a tab's plan asks for (ggm_app.view.Planner)."""
        return cls(model, name, settings, plan.known, plan.known_tokens, plan.extra, plan.noise_from, plan.allowed,
                   plan.restriction)  # fmt: skip

    @property
    def n_free(self) -> int:
        return int((~self.known).sum())

    @property
    def running(self) -> bool:
        return not (self.stopped or self.finished)

    @property
    def progress(self) -> float:
        """Share of the run's redraws done, in [0, 1]."""
        ev = self.last
        return 1.0 if self.finished else (ev.updates_done / ev.total_updates if ev and ev.total_updates else 0.0)

    def stop(self) -> bool:
        """End the run at its next event; True if it was still running."""
        was = self.running
        self.stopped = True
        with self._changed:  # a frame stream waiting for the next event ends now
            self._changed.notify_all()
        return was

    @property
    def noising(self) -> bool:
        """True while the forward process of a "noise it" run is still dissolving the input."""
        return self._forward is not None

    def _forward_states(self, changed) -> np.ndarray:
        """During the forward process: still the input (settled), replaced by noise, or just replaced."""
        states = np.where(self._redrawn, NOISE, SETTLED).astype(np.int8)
        states[list(changed)] = CHANGED
        return states

    def _forward_events(self) -> Iterator[SamplerEvent]:
        for ev in self._forward:
            if self.stopped:
                return
            self._redrawn[list(ev.positions)] = True
            states = self._forward_states(ev.positions)
            self.last = ev
            self.trajectory.add(ev.tokens[0].numpy(), states, 0, ev.sweep)
            self._since.update(ev.positions)
            yield ev
        self._kwargs["start"] = self.last.tokens[0]
        self._forward = None

    def events(self) -> Iterator[SamplerEvent]:
        """Advance the run one network call at a time, recording each event; ends on Stop or at the end.

        A "noise it" run first yields the forward process's steps (no network calls)."""
        try:
            yield from self._run_events()
        finally:  # a run that ends any other way (an error, a closed stream) is not left "running"
            if not self.finished:
                self.stopped = True

    def _run_events(self) -> Iterator[SamplerEvent]:
        if self._forward is not None:
            yield from self._forward_events()
        self.ticket = batcher.shared.ticket(device.key(self.model), self._kwargs)
        stream = self.ticket.events(lambda: self.stopped)
        try:
            while self.running:
                began = time.perf_counter()
                try:
                    ev = next(stream)
                except StopIteration:  # the sampler's end, or a Stop that ended a queued run's wait
                    self.finished = not self.stopped
                    return
                finally:
                    self.seconds += time.perf_counter() - began
                if self.stopped:
                    return
                self.record(ev)
                yield ev
        finally:  # ends the sampler (on ZeroGPU its worker) however the run ends
            stream.close()

    def record(self, ev: SamplerEvent) -> None:
        """Take one of the sampler's events into the run: its states, its trajectory, the latest frame."""
        with self._changed:
            self.last = ev
            self.tracker.update(ev.positions, ev.final)
            self.trajectory.add(ev.tokens[0].numpy(), self.tracker.states(ev.positions), ev.nfe, ev.sweep)
            self._since.update(ev.positions)

    @property
    def sample_kwargs(self) -> dict:
        """What the run's sampler is called with (settings, known positions, allowed tokens)."""
        return dict(self._kwargs)

    def frame(self) -> Frame:
        """The current canvas, with the positions changed since the previous frame marked."""
        changed = sorted(self._since)
        states = self._forward_states(changed) if self.noising else self.tracker.states(changed)
        self._since = set()
        tokens = self.trajectory.tokens[-1]
        return Frame(tokens, states, self.progress_line(), final=self.finished, forward=self.noising)

    def progress_line(self) -> str:
        ev = self.last
        if ev is None:
            return "Starting…"
        words = self.model.progress(ev, self.noising, **self.settings.knobs)
        if self.noising:
            return f"Noising… {words}; no network calls"
        return f"Sampling… {words} · {ev.nfe} network calls"

    def frames(self) -> Iterator[Frame]:
        """The run on its own: the first event, paced frames, then the final frame (not after Stop).

        The reverse chain samples in a thread of its own while the caller draws and sends the latest frame, so
        rendering does not hold the sampler up; the forward steps of "noise it" (no network calls) stay in
        step with their frames."""
        events = self.events()
        pacer = None
        for ev in events:
            if not self.noising:  # the reverse chain's first event
                yield from self._sampled_frames(events)
                return
            if pacer is None or (pacer.due(ev.updates_done) and ev.updates_done < ev.total_updates):
                pacer = pacer or FramePacer(ev.total_updates)
                yield self.frame()
        if self.finished:
            yield self.final_frame()

    def _sampled_frames(self, events: Iterator[SamplerEvent]) -> Iterator[Frame]:
        """The current frame, then ``events`` drained in a sampling thread: the latest frame whenever the pacer
        says so, and the final one. The thread is joined however this generator ends (a closed stream stops
        the run first)."""
        failure: list[BaseException] = []

        def sample() -> None:
            try:
                for _ in events:
                    with self._changed:
                        self._changed.notify_all()
            except BaseException as error:  # re-raised in the caller's thread
                failure.append(error)
            finally:
                with self._changed:
                    self._changed.notify_all()

        first, pacer = self.frame(), FramePacer(self.last.total_updates, batcher.shared.frames_per_second())
        sampler = threading.Thread(target=sample, name=f"sampler-{self.name}-{id(self):x}", daemon=True)
        sampler.start()
        try:
            yield first
            while (frame := self._next_frame(pacer)) is not None:
                yield frame
            sampler.join()
            if failure:
                raise failure[0]
            if self.finished:
                yield self.final_frame()
        finally:
            if self.running:
                self.stop()
            if sampler is not threading.current_thread():
                sampler.join()

    def _next_frame(self, pacer: FramePacer) -> Frame | None:
        """The next paced frame of a run sampled in another thread, or None once the run ends. Sleeps until an
        event has changed something, then until the pacer's interval has passed or its count of redraws is done."""
        with self._changed:
            while self.running:
                ev = self.last
                if not self._since or ev.updates_done >= ev.total_updates:  # nothing new, or only the end to come
                    self._changed.wait()
                    continue
                left = pacer.last_time + pacer.interval - time.perf_counter()
                if left > 0 and ev.updates_done - pacer.last_update < pacer.every:
                    self._changed.wait(left)
                    continue
                pacer.due(ev.updates_done)  # records this frame's time and redraw count
                return self.frame()
            return None

    def final_frame(self) -> Frame:
        """The last canvas with no "just changed" highlight."""
        states = self.trajectory.states[-1].copy()
        states[states == CHANGED] = SETTLED
        return Frame(self.trajectory.tokens[-1], states, self.readout, final=True)

    @property
    def queued_s(self) -> float:
        """Seconds the run waited for others to join it and for a free lane (ggm_app.batcher)."""
        return self.ticket.queued_s if self.ticket is not None else 0.0

    @property
    def readout(self) -> str:
        nfe = self.trajectory.nfe[-1] if len(self.trajectory) else 0
        restricted = "allowed" in self._kwargs
        reasons = self.settings.approximations(
            self.model, clamped=bool(self.known.any()), restricted=restricted and not self.restriction
        ) + ([self.restriction] if restricted and self.restriction else [])
        seconds = self.seconds - self.queued_s
        line = readout(nfe, seconds, self.n_free, reasons, self.settings.seed, self.model.chain_name)
        others = self.ticket.batch_size - 1 if self.ticket is not None else 0
        if others:
            line += f" · each network call shared with {others} other visitor run(s), one row each"
        if self.queued_s >= 0.5:
            line += f" · queued {self.queued_s:.1f} s for a free core"
        return line

    @property
    def summary(self) -> str:
        """The readout in plain text (for exports)."""
        return self.readout.replace("**", "")


def run_side_by_side(sessions: list[RunSession], fps: float = 10.0) -> Iterator[list[RunSession]]:
    """Run several sessions at once, each sampling in a thread of its own on a lane of the visitors' batcher (on a
    2-core host two columns sample in parallel; on ZeroGPU each is a GPU task), and yield the sessions once every
    run has its starting canvas, then about ``fps`` times a second, and once at the end (not after Stop). Each
    session's ``seconds`` count only its own sampler's time. (One stream advancing every column in turn took
    21.8 s for the faces' three families at their app defaults, whose runs one by one take 9.4 s.)"""
    failures: list[BaseException] = []

    def drain(session: RunSession) -> None:
        try:
            for _ in session.events():
                pass
        except BaseException as error:  # re-raised in the caller's thread
            failures.append(error)
            for other in sessions:
                other.stop()

    threads = [threading.Thread(target=drain, args=(s,), name=f"compare-{s.name}", daemon=True) for s in sessions]
    for thread in threads:
        thread.start()
    try:
        while any(s.running and len(s.trajectory) == 0 for s in sessions):
            time.sleep(0.01)
        if all(len(s.trajectory) for s in sessions):  # (a run that failed may end without its starting canvas)
            yield sessions
            while True:
                time.sleep(1.0 / fps)
                if not any(s.running for s in sessions):
                    break
                yield sessions
    finally:  # a stopped or abandoned comparison ends every run (on ZeroGPU its worker) here
        for s in sessions:
            if s.running:
                s.stop()
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]
    if not any(s.stopped for s in sessions):
        yield sessions

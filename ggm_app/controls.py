"""Gradio pieces both tabs share: the Advanced panel (each family's own knobs), the seed box, and the run
controller that wires a tab's runs, Stop, scrubbing, the belief overlay, exports and Compare.

A tab supplies a view (``ggm_app.text.TextView`` / ``ggm_app.faces.FaceView``: how a canvas is shown) and a
planner (what its inputs mean: known positions, notices, errors); everything else is here, once.
"""

import contextlib
import dataclasses
import functools
import inspect
import math
import random
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import gradio as gr
import torch
from PIL import Image

from ggm_app import batcher, device
from ggm_app.common import ModelSlot, model_summary
from ggm_app.outputs import NamedOutputs
from ggm_app.session import RunSession, RunSettings, clean_seed, next_seed, run_side_by_side
from ggm_app.view import Planner, TabView
from ggm_core.family import app_budget

BUDGET_INFO = "It starts at what the main panel runs for this model (its default settings)."
FORWARD_FRAME_S = 0.04  # a "noise it" forward frame stays this long on screen (the forward chain is instant)
HIDE = {"visible": False}


def plain(message: str) -> str:
    """Toasts do not render Markdown: drop the backticks."""
    return message.replace("`", "")


def status(lines: list[str]) -> str:
    return "\n\n".join(line for line in lines if line)


def bullets(items: list[str]) -> str:
    return "\n".join(f"- {n}" for n in items)


def with_parameters(fn: Callable, names: list[str]) -> Callable:
    """``fn(*args, request)`` with a signature naming its inputs, so the API lists them by name; Gradio passes
    the ``gr.Request`` (whose ``session_hash`` names the browser tab or API client) last."""
    params = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None) for n in names]
    params.append(
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=gr.Request)
    )
    fn.__signature__ = inspect.Signature(params)
    fn.__annotations__ = {"request": gr.Request}  # Gradio reads the type hints, not the signature
    return fn


@dataclass
class LiveRun:
    """A run in progress for one visitor: its sessions, and set once the run's handler has sent its last output."""

    sessions: list[RunSession]
    done: threading.Event = field(default_factory=threading.Event)


NOTHING_RUNNING = "Nothing is running."
STOP_WAIT_S = 10.0  # how long Stop waits for the run to send its last output (one network call, normally)


# ---------------------------------------------------------------------------------------------- advanced panel
@dataclass
class Advanced:
    model: gr.Dropdown
    knobs: dict[str, gr.Slider]
    temperature: gr.Slider
    top_p: gr.Slider
    seed: gr.Number

    @property
    def inputs(self) -> list:
        return [self.model, *self.knobs.values(), self.temperature, self.top_p, self.seed]

    @property
    def names(self) -> list[str]:
        return ["model", *self.knobs, "temperature", "top_p", "seed"]


def refuse_unreadable_seeds(preprocess: Callable) -> Callable:
    """The seed box's ``preprocess``, refusing a value that is not a number (only the API can send one) with a
    message naming the seed, as a ``gr.Error`` Gradio prints no traceback for (a plain Number's ``round`` raises
    a TypeError, which Gradio logs in full for every such call). Wrapped on the instance: a subclass of a
    Gradio component makes Gradio write a ``.pyi`` stub beside this file."""

    def checked(payload):
        try:
            return preprocess(payload)
        except (TypeError, ValueError) as err:
            message = f"Seed {str(payload)[:40]!r} is not a number: use a whole number, e.g. 0 or 42"
            raise gr.Error(message, print_exception=False) from err

    return checked


def pass_junk_on(preprocess: Callable) -> Callable:
    """A slider's ``preprocess`` that hands a value which is not a number (only the API can send one) on as it
    came, so the run uses the setting's default and says so (:meth:`TabController._settings`); Gradio's own
    raises a TypeError and logs its traceback. A number out of the slider's range is still refused."""

    def checked(payload):
        try:
            return preprocess(payload)
        except gr.Error:  # out of range (a ValueError too)
            raise
        except (TypeError, ValueError):
            return payload

    return checked


def refuse_unreadable_images(preprocess: Callable) -> Callable:
    """The image editor's ``preprocess``, refusing a file Pillow cannot read (only the API can send one) with a
    message naming it, as a ``gr.Error`` without a traceback (Gradio's own raises and logs it in full)."""

    def checked(payload):
        try:
            return preprocess(payload)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
            name = getattr(getattr(payload, "background", None), "orig_name", None) or "image"
            message = (
                f"The editor's image {str(name)[:60]!r} (or a layer) is not an image Pillow can read "
                f"({err.__class__.__name__}): send a PNG or JPEG"
            )
            raise gr.Error(message, print_exception=False) from err

    return checked


def not_a_number(value) -> bool:
    """True for a setting that is no finite number (None, "abc", NaN): the run then uses the default."""
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError, OverflowError):
        return True


def random_seed() -> int:
    return random.randrange(2**31)


def seed_box(prefix: str) -> gr.Number:
    """The seed, drawn anew at every page load (from 0 for every visitor, each one's first sample was the same)."""
    with gr.Row():
        seed = gr.Number(
            value=random_seed,
            precision=0,
            label="Seed",
            info="A run uses this seed (a whole number below 2^53, so it can be typed back), then moves it on by "
            "one, so the next click draws a new sample. Each page load starts at a random seed.",
            scale=3,
            elem_id=f"{prefix}-seed",
        )
        dice = gr.Button("Random seed", scale=1, size="sm")
    seed.preprocess = refuse_unreadable_seeds(seed.preprocess)
    dice.click(random_seed, None, seed, api_name=f"random_seed_{prefix}", queue=False)
    return seed


def knob_union(slot: ModelSlot) -> dict:
    """Every knob of the tab's models by name, in first-seen order: the first model's label and start, the
    widest range of any (the API checks a value against the slider's range; each model clamps it to its own)."""
    union = {}
    for model in slot.models.values():
        for knob in model.knobs():
            seen = union.setdefault(knob.name, knob)
            low, high = min(seen.minimum, knob.minimum), max(seen.maximum, knob.maximum)
            union[knob.name] = dataclasses.replace(seen, minimum=low, maximum=high)
    return union


def advanced_panel(prefix: str, slot: ModelSlot) -> Advanced:
    """Model choice, the chosen family's own knobs (the others hidden), temperature, top-p, seed."""
    first = slot.models[slot.names[0]]
    own = {k.name for k in first.knobs()}
    with gr.Accordion("Advanced", open=False, elem_id=f"{prefix}-advanced"):
        model = gr.Dropdown(
            slot.names, value=slot.names[0], label="Model", visible=len(slot.names) > 1, elem_id=f"{prefix}-model"
        )
        info = gr.Markdown(model_summary(slot.names[0], first))
        with gr.Row():
            knobs = {
                name: gr.Slider(
                    k.minimum,
                    k.maximum,
                    value=k.start,
                    step=1,
                    label=k.label,
                    visible=name in own,
                    elem_id=f"{prefix}-{name.replace('_', '-')}",
                )  # fmt: skip
                for name, k in knob_union(slot).items()
            }
        with gr.Row():
            temperature = gr.Slider(
                0.1, 2.0, value=1.0, step=0.05, label="Temperature (1 = exact)", visible=first.tempered
            )
            top_p = gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="Top-p (1 = exact)", visible=first.tempered)
        seed = seed_box(prefix)
    for slider in (*knobs.values(), temperature, top_p):
        slider.preprocess = pass_junk_on(slider.preprocess)

    def on_model(name):
        name, m = slot.pick(name)
        mine = {k.name: k for k in m.knobs()}
        updates = [
            gr.update(visible=True, minimum=mine[n].minimum, maximum=mine[n].maximum, value=mine[n].start)
            if n in mine
            else gr.update(visible=False)
            for n in knobs
        ]
        tempered = gr.update(visible=m.tempered, value=1.0)
        return model_summary(name, m), *updates, tempered, tempered

    model.change(on_model, model, [info, *knobs.values(), temperature, top_p], api_name=False)
    return Advanced(model, knobs, temperature, top_p, seed)


# ---------------------------------------------------------------------------------------------- the controller
@dataclass
class RunOutputs:
    """The components a tab's runs write: the canvas view, status, scrubber, download, frame line, state."""

    view: gr.components.Component
    status: gr.Markdown
    scrub: gr.Slider
    download: gr.DownloadButton
    frame_info: gr.Markdown
    belief: gr.Checkbox
    extra: list = field(default_factory=list)  # tab-specific outputs of a run (the faces tab's mask view)


@dataclass
class CompareParts:
    models: list[gr.Dropdown]
    budgets: list[gr.Slider]
    views: list[gr.components.Component]
    readouts: list[gr.Markdown]


class TabController:
    """Runs, Stop, scrub, belief, export and Compare for one tab, for any family: the tab gives its view and its
    planner (the protocols of ggm_app.view); every event's outputs are named (ggm_app.outputs)."""

    def __init__(self, slot: ModelSlot, view: TabView, planner: Planner, advanced: Advanced, outputs: RunOutputs):
        self.slot, self.view, self.planner, self.advanced, self.out = slot, view, planner, advanced, outputs
        self.session = gr.State(None)
        self.live: dict[str, LiveRun] = {}  # by session hash: what Stop stops (never a stale gr.State)
        self.latest = weakref.WeakValueDictionary()  # by session hash: the visitor's latest run (while Gradio holds it)

    # ---------------------------------------------------------------------------------------- named outputs
    @functools.cached_property
    def run_outputs(self) -> NamedOutputs:
        """A run's outputs (the seed moves on when the run starts)."""
        out = self.out
        return NamedOutputs(extra=out.extra, view=out.view, status=out.status, frame_info=out.frame_info,
                            scrub=out.scrub, download=out.download, session=self.session, seed=self.advanced.seed)  # fmt: skip

    @functools.cached_property
    def stop_outputs(self) -> NamedOutputs:
        return NamedOutputs(
            status=self.out.status, scrub=self.out.scrub, download=self.out.download, session=self.session
        )

    @functools.cached_property
    def frame_outputs(self) -> NamedOutputs:
        """The scrubber's and the belief toggle's."""
        return NamedOutputs(view=self.out.view, frame_info=self.out.frame_info)

    # ---------------------------------------------------------------------------------------- a run
    def _settings(self, model, values: list) -> tuple[RunSettings, list[str]]:
        """The run's settings, and a notice for every value that is not a number or is outside the chosen model's
        range (each is replaced by what the run uses)."""
        knob_values = dict(zip(self.advanced.knobs, values[: len(self.advanced.knobs)], strict=True))
        temperature, top_p, seed = values[len(self.advanced.knobs) :]
        settings = RunSettings.clean(model, knob_values, temperature, top_p, seed)
        notices = []
        for knob in model.knobs():
            raw, used = knob_values.get(knob.name), settings.knobs[knob.name]
            if not_a_number(raw):
                notices.append(f"{knob.label}: {str(raw)[:40]!r} is not a number; used {used}.")
            elif isinstance(raw, int | float) and raw != used:
                notices.append(
                    f"{knob.label}: {raw:g} is outside this model's range {knob.minimum}–{knob.maximum}; used {used}."
                )
        sampling = (("Temperature", temperature, settings.temperature), ("Top-p", top_p, settings.top_p))
        notices += [
            f"{label}: {str(raw)[:40]!r} is not a number; used {used:g}."
            for label, raw, used in sampling
            if model.tempered and not_a_number(raw)
        ]
        return settings, notices

    def _stream(self, mode: str, tab_inputs: list, name, settings_values: list, visitor: str):
        name, model = self.slot.pick(name)
        settings, range_notices = self._settings(model, settings_values)
        plan = self.planner(mode, tab_inputs, model, settings)
        plan.notices[:0] = range_notices
        run = self.run_outputs
        if plan.error:
            gr.Warning(plain(plan.error))
            message = status([f"⚠️ {plan.error}", bullets(plan.notices)])
            yield run.update(extra=plan.error_outputs or None, status=message, seed=settings.seed)  # the seed stays
            return
        for notice in plan.notices:
            gr.Info(plain(notice))
        notes = bullets(plan.notices + plan.notes)
        session = RunSession.from_plan(model, name, settings, plan)
        self.latest[visitor] = session
        with self._registered(visitor, [session]):
            last, first = None, True
            for frame in session.frames():
                shown = self.view.frame(model, frame.tokens, frame.states, session.trajectory.extra)
                # the seed moves on with the run's first output; every output sends it (a gr.skip() for the seed box
                # made Gradio keep a copy of it for the session, without the seed's refusal of junk)
                seed = next_seed(settings.seed)
                if frame.final:  # the result; the export (a GIF: about 0.6 s for a face) is the next event's
                    yield run.update(view=shown, status=status([session.readout, notes]), frame_info="",
                                     scrub=self._scrubber(session), download=gr.update(**HIDE), session=session,
                                     seed=seed)  # fmt: skip
                    return
                yield run.update(
                    extra=(plan.first_outputs or None) if first else None,
                    view=gr.skip() if shown == last else shown,  # (a face's frame is its PNG's path, named by content)
                    status=status([frame.progress, notes]),
                    frame_info="" if first else gr.skip(),  # the previous run's "Frame N of M" line goes
                    scrub=gr.update(**HIDE),
                    download=gr.update(**HIDE),
                    session=session,
                    seed=seed,
                )
                first, last = False, shown
                if frame.forward:
                    time.sleep(FORWARD_FRAME_S)
            if session.stopped:  # the run's own last output; Stop sends the same one (either may arrive last)
                ran = len(session.trajectory) > 0
                shown = self.view.frame(model, *_current(session), session.trajectory.extra) if ran else gr.skip()
                yield run.update(view=shown, **self._stopped(session), seed=next_seed(settings.seed))

    @contextlib.contextmanager
    def _registered(self, visitor: str, sessions: list[RunSession]):
        """Hold ``sessions`` as ``visitor``'s live run while the handler streams, so Stop finds them; on the way
        out tell a waiting Stop that the last output has been sent."""
        live = self.live[visitor] = LiveRun(sessions)
        try:
            yield
        finally:
            live.done.set()
            if self.live.get(visitor) is live:
                del self.live[visitor]

    def export(self, session, request: gr.Request):
        """The finished run's download, written once, as the event after the run: the run's own event ends with its
        result, so a click just after the result starts a new run (while the run's event was still writing a
        face's GIF, about 0.6 s, Gradio dropped the click). Nothing once the visitor has started another run."""
        if not isinstance(session, RunSession) or not session.finished:
            return gr.skip()
        if self.latest.get(visitor_of(request)) is not session:
            return gr.skip()
        with session.stop_lock:  # written once, whoever asks (the export event, an API client's second call)
            if session.export_path is None:
                session.export_path = self.view.export(session.trajectory, session.model, session.summary)
        return gr.update(visible=True, value=str(session.export_path))

    @staticmethod
    def _scrubber(session: RunSession):
        """The scrubber over the run's frames, at its last frame; hidden while there is one frame (a run stopped at
        its start: a slider needs two ends)."""
        last = len(session.trajectory) - 1
        if last < 1:
            return gr.update(visible=False)
        return gr.update(visible=True, maximum=last, label=f"Scrub through the run ({last + 1} frames)", value=last)

    def _stopped(self, session: RunSession) -> dict:
        """Status, frame line, scrubber, download and state of a stopped run, by output name: the same whoever sends
        them (the run's handler or Stop, which may ask at once), from one export written once under the session's
        lock. (Fresh updates each time: Gradio consumes what it sends.)"""
        if len(session.trajectory) == 0:  # stopped while it waited for a free core: nothing ran
            message = "Stopped before its first network call (it was waiting for a free core)."
            hide = gr.update(**HIDE)
            return {
                "status": message,
                "frame_info": "",
                "scrub": hide,
                "download": gr.update(**HIDE),
                "session": session,
            }
        with session.stop_lock:
            if session.stopped_outputs is None:
                message = f"Stopped after {session.trajectory.nfe[-1]} network calls. Scrub or download what ran."
                path = self.view.export(session.trajectory, session.model, "stopped: " + session.summary)
                session.stopped_outputs = (message, path)
        message, path = session.stopped_outputs
        download = gr.update(visible=True, value=str(path))
        return {"status": message, "frame_info": "", "scrub": self._scrubber(session), "download": download,
                "session": session}  # fmt: skip

    def run_handler(self, mode: str, tab_names: list[str]) -> Callable:
        n = len(tab_names)

        def handler(*values):
            *values, request = values
            yield from self._stream(mode, list(values[:n]), values[n], list(values[n + 1 :]), visitor_of(request))

        handler.__name__ = f"{mode}_handler"
        return with_parameters(handler, [*tab_names, *self.advanced.names])

    def wire_run(self, trigger, mode: str, tab_inputs: list, tab_names: list[str], api_name) -> None:
        event = trigger(
            self.run_handler(mode, tab_names),
            [*tab_inputs, *self.advanced.inputs],
            self.run_outputs.list,
            api_name=api_name,
            concurrency_id="sampler",
            show_progress="minimal",
        )
        export_name = f"{api_name}_export" if api_name else False
        event.then(self.export, self.session, self.out.download, api_name=export_name, show_progress="hidden")

    # ---------------------------------------------------------------------------------------- stop, scrub
    def stop(self, request: gr.Request):
        """Flag this visitor's run, wait until it has sent its last output, and send the same one. With nothing
        running (Stop just as a run ended) a notice says so and the status keeps the run's readout."""
        live = self.live.get(visitor_of(request))
        if live is None or not any([session.stop() for session in live.sessions]):  # a list: flag every one
            gr.Info(NOTHING_RUNNING)
            return self.stop_outputs.update()
        live.done.wait(STOP_WAIT_S)
        if len(live.sessions) > 1:
            return self.stop_outputs.update(status=f"Stopped the side-by-side run ({len(live.sessions)} runs).")
        stopped = self._stopped(live.sessions[0])
        return self.stop_outputs.update(**{name: stopped[name] for name in self.stop_outputs.components})

    def show_frame(self, frame, session, show_belief):
        """The scrubbed frame; with the belief overlay on, one network call reads it (never during a run)."""
        shown = self.frame_outputs
        if not isinstance(session, RunSession) or len(session.trajectory) == 0:
            return shown.update(frame_info="")
        traj, model = session.trajectory, session.model
        i = traj.index(frame)
        info = f"Frame {i} of {len(traj) - 1}: {traj.nfe[i]} network calls so far."
        if show_belief and session.running:
            return shown.update(frame_info=info + " The belief overlay is read when the run has ended.")
        if show_belief:
            with batcher.shared.lane():
                belief = device.belief(device.key(model), torch.from_numpy(traj.tokens[i]).long(), traj.sweeps[i])
            if belief is not None:
                info += f" Shaded by what the model believes: {self.view.belief_legend}"
                return shown.update(view=self.view.belief(model, traj.tokens[i], belief, traj.extra), frame_info=info)
            info += f" {model.label} has no signal-vs-noise classifier: nothing to overlay."
        return shown.update(view=self.view.frame(model, traj.tokens[i], traj.states[i], traj.extra), frame_info=info)

    def wire_common(self, stop_btn, prefix: str) -> None:
        """Stop, scrub and the belief toggle."""
        stop_btn.click(  # no cancels: a cancelled generator could not send its stopped state (a race)
            self.stop,
            None,
            self.stop_outputs.list,
            api_name=f"stop_{prefix}",
        )
        shown = self.frame_outputs.list
        inputs = [self.out.scrub, self.session, self.out.belief]
        # always_last: a drag sends many inputs while one is served; "once" (Gradio's default) dropped them, so the
        # frame shown stayed at an earlier slider value (3 of 6 fast drags)
        common = {"show_progress": "hidden", "concurrency_id": "sampler", "trigger_mode": "always_last"}
        self.out.scrub.input(self.show_frame, inputs, shown, api_name=f"scrub_{prefix}", **common)
        self.out.belief.input(self.show_frame, inputs, shown, api_name=f"belief_{prefix}", **common)

    # ---------------------------------------------------------------------------------------- compare
    def compare_outputs(self, parts: CompareParts) -> NamedOutputs:
        return NamedOutputs(views=parts.views, readouts=parts.readouts, seed=self.advanced.seed)

    def compare_handler(self, mode: str, tab_names: list[str], parts: CompareParts) -> Callable:
        n, columns, out = len(tab_names), len(parts.models), self.compare_outputs(parts)

        def handler(*values):
            *values, request = values
            tab_inputs, seed = list(values[:n]), values[n]
            picks = values[n + 1 :]
            sessions, notes = [], []
            for name, budget in zip(picks[:columns], picks[columns:], strict=True):
                name, model = self.slot.pick(name)
                plan = self.planner(mode, tab_inputs, model, RunSettings.for_budget(model, budget, model.seq_len, seed))
                if plan.error:
                    gr.Warning(plain(plan.error))
                    yield out.update(seed=clean_seed(seed))
                    return
                n_free = int((~plan.known).sum()) if plan.known is not None else model.seq_len
                settings = RunSettings.for_budget(model, budget, n_free, seed)
                if not_a_number(budget):
                    notes.append(f"Budget {str(budget)[:40]!r} is not a number: {name} ran its exact setting.")
                notes += [x for x in plan.notices if x not in notes]
                sessions.append(RunSession.from_plan(model, name, settings, plan))
            for notice in notes:
                gr.Info(plain(notice))
            shown, began = [None] * columns, time.perf_counter()
            with self._registered(visitor_of(request), sessions):
                for group in run_side_by_side(sessions):
                    views = [self.view.frame(s.model, *_current(s), s.trajectory.extra) for s in group]
                    ended = not any(s.running for s in group)  # the last update carries every column (for the API)
                    lines = [f"**{s.name}** · " + _line(s) for s in group]
                    if ended:  # one time for every column (read per column, two readouts once differed)
                        took = f"\n\nThe comparison took {time.perf_counter() - began:.1f} s."
                        lines = [line + took for line in lines]
                    sent = [gr.skip() if not ended and v == old else v for v, old in zip(views, shown, strict=True)]
                    shown = views
                    yield out.update(views=sent, readouts=lines, seed=next_seed(seed))  # moved on with the first update
                if any(s.stopped for s in sessions):
                    yield out.update(readouts=[f"**{s.name}** · " + _line(s) for s in sessions], seed=next_seed(seed))

        return with_parameters(handler, [*tab_names, "seed", *(f"model_{i}" for i in range(columns)),
                                         *(f"budget_{i}" for i in range(columns))])  # fmt: skip

    def wire_compare(self, trigger, mode: str, tab_inputs, tab_names, parts: CompareParts, api_name) -> None:
        trigger(
            self.compare_handler(mode, tab_names, parts),
            [*tab_inputs, self.advanced.seed, *parts.models, *parts.budgets],
            self.compare_outputs(parts).list,
            api_name=api_name,
            concurrency_id="sampler",
            show_progress="minimal",
        )


def compare_columns(prefix: str, slot: ModelSlot, count: int, make_view: Callable) -> CompareParts:
    """``count`` side-by-side columns, each a model choice, a network-call budget (starting at what the main panel
    runs for that model, ``app_budget``), its canvas and readout."""
    names = slot.names
    parts = CompareParts([], [], [], [])
    with gr.Row(equal_height=False):
        for i in range(count):
            with gr.Column(min_width=220):
                name = names[min(i, len(names) - 1)]
                choice = gr.Dropdown(names, value=name, label=f"Model {i + 1}", elem_id=f"{prefix}-compare-model-{i}")
                budget = gr.Slider(0, 1024, value=app_budget(slot.models[name]), step=1,
                                   label="Network-call budget (0 = its exact setting)", info=BUDGET_INFO,
                                   elem_id=f"{prefix}-compare-budget-{i}")  # fmt: skip
                budget.preprocess = pass_junk_on(budget.preprocess)
                choice.change(lambda n: app_budget(slot.pick(n)[1]), choice, budget, api_name=False, queue=False)
                parts.models.append(choice)
                parts.budgets.append(budget)
                parts.views.append(make_view(f"{prefix}-compare-view-{i}"))
                parts.readouts.append(
                    gr.Markdown("", label=f"Readout {i + 1}", elem_id=f"{prefix}-compare-readout-{i}")
                )
    return parts


def visitor_of(request: gr.Request | None) -> str:
    """Who a handler runs for: the browser tab's or API client's session hash ("" when Gradio gives none)."""
    return str(getattr(request, "session_hash", "") or "")


def _line(session: RunSession) -> str:
    if session.finished:
        return session.readout
    if session.stopped:
        return f"stopped after {session.trajectory.nfe[-1] if len(session.trajectory) else 0} network calls"
    return session.progress_line()


def _current(session: RunSession) -> tuple:
    """The session's last canvas and its states (the final states once it has finished)."""
    frame = session.final_frame() if session.finished else session.frame()
    return frame.tokens, frame.states

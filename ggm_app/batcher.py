"""Visitors' runs served side by side: at most ``lanes`` samplers at once (one CPU thread each), and runs of one
model with the same settings that arrive together share one sampler, a row each.

A run takes a :class:`Ticket` and reads its events from it. The first run of a kind opens a group, which waits
``window_s`` for others and then, while every lane is busy, for a free lane; everyone who joined by then (at most
the family's ``max_batch``) is sampled in one batch, or one per free lane, with a seed per row
(``ggm_core.draws.RowSeeds``), so each run draws what it would draw alone; each receives its own row's events.
A run that stops leaves its group; when the last one has left, the sampler ends. The other network calls
(Compare, a gap's length choice, the belief overlay) hold a lane with :meth:`Batcher.lane`.

On ZeroGPU every run is a GPU task of its own (``ggm_app.device.sample_events``), sampled in the context of the
visitor's request, as ``spaces`` needs to charge the visitor's quota.
"""

import contextlib
import contextvars
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator

import torch

from ggm_app import device
from ggm_core.events import SamplerEvent

WINDOW_S = 0.03  # how long a new group waits for runs that arrive with it
POLL_S = 0.1  # how often a waiting run checks whether it has been stopped
HANDOFF_S = 0.02  # events are handed to the runs in bundles at most this often (the page shows 10 frames a second)
_END = object()


def batch_key(model_key: str, kwargs: dict) -> tuple:
    """What runs must share to be sampled together: the model and every sampler argument but the seed (tensors by
    value)."""
    parts = []
    for name, value in sorted(kwargs.items()):
        if name == "seed":
            continue
        if isinstance(value, torch.Tensor):
            value = (str(value.dtype), tuple(value.shape), value.cpu().numpy().tobytes())
        parts.append((name, value))
    return (model_key, tuple(parts))


class _Group:
    """Runs sampled as one batch: their seeds, the queue each reads its events from, and who has left."""

    def __init__(self, model_key: str, kwargs: dict, limit: int) -> None:
        self.model_key, self.kwargs, self.limit = model_key, kwargs, limit
        self.seeds: list[int] = []
        self.queues: list[queue.SimpleQueue] = []
        self.left: set[int] = set()
        self.batch_of: dict[int, int] = {}  # row → the size of the batch it was sampled in
        self.closed = False  # sampling has begun: no one joins now
        self.started = float("nan")  # when sampling began (perf_counter)

    @property
    def full(self) -> bool:
        return self.closed or len(self.seeds) >= self.limit

    def join(self, seed: int) -> int:
        self.seeds.append(seed)
        self.queues.append(queue.SimpleQueue())
        return len(self.seeds) - 1


class Ticket:
    """One run's place in a group: its events (:meth:`events`), how long it queued, how many shared its calls."""

    def __init__(self, batcher: "Batcher", group: _Group, row: int, asked: float) -> None:
        self.batcher, self.group, self.row, self.asked = batcher, group, row, asked

    @property
    def queued_s(self) -> float:
        """Seconds from asking to the group's first network call (the window, and any wait for a lane)."""
        return max(0.0, self.group.started - self.asked) if self.group.closed else 0.0

    @property
    def batch_size(self) -> int:
        """How many runs shared this run's network calls (1 until it has been sampled)."""
        return self.group.batch_of.get(self.row, 1)

    def events(self, cancelled: Callable[[], bool] = lambda: False) -> Iterator[SamplerEvent]:
        """This run's events; ends early (leaving the group) when ``cancelled()`` turns true or the caller closes it."""
        inbox = self.group.queues[self.row]
        try:
            while True:
                try:
                    item = inbox.get(timeout=POLL_S)
                except queue.Empty:
                    if cancelled():
                        return
                    continue
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield from item
        finally:
            self.batcher.leave(self.group, self.row)


class Batcher:
    """Groups runs and serves the groups on ``lanes`` lanes (see the module's docstring)."""

    def __init__(self, lanes: int, window_s: float = WINDOW_S, batches: bool = True) -> None:
        self.lanes, self.window_s, self.batches = lanes, window_s, batches
        self._free = threading.Semaphore(lanes)
        self._lock = threading.Lock()
        self._open: dict[tuple, _Group] = {}
        self.active = 0  # runs holding a ticket they have not finished reading

    def frames_per_second(self, alone: float = 10.0, least: float = 2.0) -> float:
        """A run's frame rate: ``alone`` while the runs fit the lanes, shared out beyond (drawing a face's frame
        costs about 20 ms of CPU: eight visitors at 10 frames/s took more than a core from the samplers)."""
        return max(least, alone * self.lanes / max(self.lanes, self.active))

    @contextlib.contextmanager
    def lane(self):
        """Hold a lane for a network call outside a run (Compare, a length choice, a belief)."""
        with self._free:
            yield

    def ticket(self, model_key: str, kwargs: dict) -> Ticket:
        """A place for a run of ``device.MODELS[model_key].sample(**kwargs)``; runs with a ``start`` canvas of their
        own, or of a family that does not batch, get a group of their own."""
        asked = time.perf_counter()
        limit = 1 if "start" in kwargs or not self.batches else device.MODELS[model_key].max_batch
        key = batch_key(model_key, kwargs)
        with self._lock:
            group = self._open.get(key)
            new = group is None or group.full
            if new:
                group = _Group(model_key, {k: v for k, v in kwargs.items() if k != "seed"}, limit)
                if limit > 1:
                    self._open[key] = group
            row = group.join(int(kwargs.get("seed", 0)))
            self.active += 1
        if new:  # the group samples in the context of the run that opened it (ZeroGPU reads the visitor's request)
            context = contextvars.copy_context()
            threading.Thread(target=context.run, args=(self._serve, group, key), name="ggm-batch", daemon=True).start()
        return Ticket(self, group, row, asked)

    def leave(self, group: _Group, row: int) -> None:
        with self._lock:
            group.left.add(row)
            self.active -= 1

    def _close(self, group: _Group, key: tuple) -> list[int]:
        """No one joins ``group`` from now on; the rows still waiting for it."""
        with self._lock:
            group.closed = True
            group.started = time.perf_counter()
            if self._open.get(key) is group:
                del self._open[key]
            return [r for r in range(len(group.seeds)) if r not in group.left]

    def _serve(self, group: _Group, key: tuple) -> None:
        """Wait the window and for a lane, then sample the group's rows as one batch, split over every lane that is
        free too (two batches of 4 on two cores finish before one of 8 on one), and hand each run its events."""
        if group.limit > 1:
            time.sleep(self.window_s)
        with self._free:
            rows = self._close(group, key)
            lanes = 1
            while lanes < len(rows) and self._free.acquire(blocking=False):
                lanes += 1
            chunks = [rows[i::lanes] for i in range(lanes)]
            helpers = [threading.Thread(target=self._sample_on_lane, args=(group, c), daemon=True) for c in chunks[1:]]
            for helper in helpers:
                helper.start()
            if rows:
                self._sample(group, chunks[0])

    def _sample_on_lane(self, group: _Group, rows: list[int]) -> None:
        """:meth:`_sample` on a lane acquired for it by :meth:`_serve`, released at the end."""
        try:
            self._sample(group, rows)
        finally:
            self._free.release()

    def _sample(self, group: _Group, rows: list[int]) -> None:
        """Sample ``rows`` of ``group`` as one batch, a seed each, and put each row's events in its queue."""
        for row in rows:
            group.batch_of[row] = len(rows)
        kwargs = group.kwargs | {"batch_size": len(rows), "seed": [group.seeds[r] for r in rows]}
        model = device.MODELS[group.model_key]
        stream = device.sample_events(group.model_key, kwargs)
        pending: dict[int, list] = {row: [] for row in rows}
        sent = -1.0  # the first event (the starting canvas) goes at once

        def flush() -> None:
            for row, events in pending.items():
                if events and row not in group.left:
                    group.queues[row].put(events)
                pending[row] = []

        try:
            for event in stream:
                for i, row in enumerate(rows):
                    pending[row].append(model.event_row(event, i) if len(rows) > 1 else event)
                if time.perf_counter() - sent >= HANDOFF_S:  # a handoff per event woke every run's thread 500
                    flush()  # times a face, and their contention for the interpreter slowed the sampler
                    sent = time.perf_counter()
                if group.left.issuperset(rows):
                    return
            flush()
        except BaseException as error:  # every run of the batch sees the sampler's failure
            flush()
            for row in rows:
                group.queues[row].put(error)
        finally:
            stream.close()
            for row in rows:
                group.queues[row].put(_END)


def for_this_host() -> Batcher:
    """One lane per core (``GGM_LANES``); on ZeroGPU each run is a GPU task of its own, charged to its visitor's
    quota, so runs are neither batched nor held to the host's cores."""
    if device.ZERO_GPU:
        return Batcher(lanes=64, window_s=0.0, batches=False)
    return Batcher(int(os.environ.get("GGM_LANES", os.cpu_count() or 1)))


shared = for_this_host()

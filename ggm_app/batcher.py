"""Visitors' runs served side by side: at most ``lanes`` samplers at once (one CPU thread each), and runs of one
model with the same settings that arrive together share one sampler, a row each.

A run takes a :class:`Ticket` and reads its events from it. The first run of a kind opens a group, which waits
``window_s`` for others and then, while every lane is busy, for a free lane; everyone who joined by then is
sampled as one batch (at most the family's ``max_batch`` rows) with a seed per row
(``ggm_core.draws.RowSeeds``), so each run draws what it would draw alone; each receives its own row's events.
A run that stops leaves its group; when the last one has left, the sampler ends. The other network calls
(Compare, a gap's length choice, the belief overlay) hold a lane with :meth:`Batcher.lane`.

On ZeroGPU a group is one GPU task (``ggm_app.device.sample_events``).
"""

import contextlib
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
        return len(self.group.seeds)

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
                yield item
        finally:
            self.batcher.leave(self.group, self.row)


class Batcher:
    """Groups runs and serves the groups on ``lanes`` lanes (see the module's docstring)."""

    def __init__(self, lanes: int, window_s: float = WINDOW_S) -> None:
        self.lanes, self.window_s = lanes, window_s
        self._free = threading.Semaphore(lanes)
        self._lock = threading.Lock()
        self._open: dict[tuple, _Group] = {}

    @contextlib.contextmanager
    def lane(self):
        """Hold a lane for a network call outside a run (Compare, a length choice, a belief)."""
        with self._free:
            yield

    def ticket(self, model_key: str, kwargs: dict) -> Ticket:
        """A place for a run of ``device.MODELS[model_key].sample(**kwargs)``; runs with a ``start`` canvas of their
        own, or of a family that does not batch, get a group of their own."""
        asked = time.perf_counter()
        limit = 1 if "start" in kwargs else device.MODELS[model_key].max_batch
        key = batch_key(model_key, kwargs)
        with self._lock:
            group = self._open.get(key)
            new = group is None or group.full
            if new:
                group = _Group(model_key, {k: v for k, v in kwargs.items() if k != "seed"}, limit)
                if limit > 1:
                    self._open[key] = group
            row = group.join(int(kwargs.get("seed", 0)))
        if new:
            threading.Thread(target=self._serve, args=(group, key), name="ggm-batch", daemon=True).start()
        return Ticket(self, group, row, asked)

    def leave(self, group: _Group, row: int) -> None:
        with self._lock:
            group.left.add(row)

    def _close(self, group: _Group, key: tuple) -> list[int]:
        """No one joins ``group`` from now on; the rows still waiting for it."""
        with self._lock:
            group.closed = True
            group.started = time.perf_counter()
            if self._open.get(key) is group:
                del self._open[key]
            return [r for r in range(len(group.seeds)) if r not in group.left]

    def _serve(self, group: _Group, key: tuple) -> None:
        """Wait the window and for a lane, then sample the group's rows as one batch and hand each its events."""
        if group.limit > 1:
            time.sleep(self.window_s)
        with self._free:
            if not self._close(group, key):
                return
            batch = len(group.seeds)
            kwargs = group.kwargs | {"batch_size": batch, "seed": group.seeds}
            model = device.MODELS[group.model_key]
            stream = device.sample_events(group.model_key, kwargs)
            try:
                for event in stream:
                    for row, inbox in enumerate(group.queues):
                        if row not in group.left:
                            inbox.put(model.event_row(event, row) if batch > 1 else event)
                    if len(group.left) == batch:
                        return
            except BaseException as error:  # every run of the group sees the sampler's failure
                for inbox in group.queues:
                    inbox.put(error)
            finally:
                stream.close()
                for inbox in group.queues:
                    inbox.put(_END)


shared = Batcher(int(os.environ.get("GGM_LANES", os.cpu_count() or 1)))

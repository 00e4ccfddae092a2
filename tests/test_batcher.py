"""The visitors' batcher (ggm_app.batcher): runs that arrive together share one sampler and each still gets the
sample its seed gives alone; lanes bound how many samplers run at once; a stopped run leaves without holding
anyone up."""

import contextlib
import threading
import time

import pytest
import torch

from ggm_app import batcher, device
from ggm_core import run_to_end
from tests.test_family import make


def tokens_of(events) -> torch.Tensor:
    return run_to_end(events).tokens


def concurrently(*calls):
    """Run the calls in threads started together; their results in order."""
    results = [None] * len(calls)

    def run(i, call):
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.parametrize("lanes, batches", [(1, [4]), (2, [2, 2])])
def test_runs_that_arrive_together_share_a_batch_and_keep_their_samples(lanes, batches):
    """Four runs that arrive together form one group, sampled as one batch, or split over the free lanes."""
    model = make("two_sided")
    key, seeds = device.key(model), [4, 9, 2, 7]
    pool = batcher.Batcher(lanes=lanes, window_s=0.2)
    tickets = [pool.ticket(key, {"seed": s, "positions_per_call": 2}) for s in seeds]
    assert {t.group for t in tickets} == {tickets[0].group}
    got = concurrently(*[lambda t=t: [e for e in t.events()] for t in tickets])
    assert sorted(t.batch_size for t in tickets) == sorted(b for b in batches for _ in range(b))
    for seed, events in zip(seeds, got, strict=True):
        alone = list(model.sample(seed=seed, positions_per_call=2))
        assert [e.tokens.tolist() for e in events] == [e.tokens.tolist() for e in alone]
        assert [e.positions for e in events] == [e.positions for e in alone]
    assert pool.active == 0


def test_different_settings_or_families_that_do_not_batch_run_apart():
    ggm, md4 = make("two_sided"), make("md4")
    pool = batcher.Batcher(lanes=2, window_s=0.2)
    a = pool.ticket(device.key(ggm), {"seed": 1})
    b = pool.ticket(device.key(ggm), {"seed": 2, "temperature": 0.9})
    c, d = (pool.ticket(device.key(md4), {"seed": s}) for s in (1, 2))
    assert len({a.group, b.group, c.group, d.group}) == 4
    got = concurrently(*[lambda t=t: tokens_of(t.events()) for t in (a, b, c, d)])
    assert torch.equal(got[2], tokens_of(md4.sample(seed=1))) and torch.equal(
        got[1], tokens_of(ggm.sample(seed=2, temperature=0.9))
    )


@contextlib.contextmanager
def most_calls_at_once(network: torch.nn.Module):
    """The most forward calls of ``network`` in flight at once, while the block runs (each call made to last)."""
    inside, most, lock = [0], [0], threading.Lock()

    def enter(*_):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.01)  # long enough for another lane's call to overlap it

    def leave(*_):
        with lock:
            inside[0] -= 1

    hooks = [network.register_forward_pre_hook(enter), network.register_forward_hook(leave)]
    try:
        yield most
    finally:
        for hook in hooks:
            hook.remove()


def test_lanes_bound_the_samplers_running_at_once():
    model = make("md4")
    for lanes in (1, 2):
        pool = batcher.Batcher(lanes=lanes, window_s=0.0)
        with most_calls_at_once(model.network) as most:
            tickets = [pool.ticket(device.key(model), {"seed": s}) for s in range(3)]
            concurrently(*[lambda t=t: tokens_of(t.events()) for t in tickets])
        assert most[0] == lanes
        assert max(t.queued_s for t in tickets) > 0.05  # the third waited for a lane


def test_a_run_stopped_while_it_queues_ends_at_once_and_the_others_finish():
    model = make("two_sided")
    pool = batcher.Batcher(lanes=1, window_s=0.0)
    with pool.lane():  # every lane busy: the ticket waits
        ticket = pool.ticket(device.key(model), {"seed": 3})
        stopped = threading.Event()
        began = time.perf_counter()
        threading.Timer(0.2, stopped.set).start()
        assert list(ticket.events(stopped.is_set)) == []
        assert time.perf_counter() - began < 2.0
    pool = batcher.Batcher(lanes=1, window_s=0.2)
    leaving, staying = (pool.ticket(device.key(model), {"seed": s}) for s in (5, 6))
    stream = leaving.events()
    next(stream), next(stream)
    stream.close()  # leaves its group mid-run
    assert torch.equal(tokens_of(staying.events()), tokens_of(model.sample(seed=6)))


def test_a_sampler_failure_reaches_every_run_of_the_group():
    model = make("two_sided")
    pool = batcher.Batcher(lanes=1, window_s=0.1)
    tickets = [pool.ticket(device.key(model), {"seed": s, "positions_per_call": 0}) for s in (1, 2)]
    errors = concurrently(*[lambda t=t: _error_of(t) for t in tickets])
    assert all(isinstance(e, ValueError) and "positions_per_call" in str(e) for e in errors)


def _error_of(ticket):
    try:
        list(ticket.events())
    except ValueError as error:
        return error
    return None


def test_a_group_samples_in_the_context_of_the_run_that_opened_it(monkeypatch):
    """ZeroGPU's decorator reads the visitor's request from a context variable: the group's thread must see it."""
    import contextvars

    visitor = contextvars.ContextVar("visitor", default=None)
    seen = []
    real = device.sample_events

    def recording(model_key, kwargs):
        seen.append(visitor.get())
        yield from real(model_key, kwargs)

    monkeypatch.setattr(device, "sample_events", recording)
    model = make("two_sided")
    visitor.set("visitor-1")
    tokens_of(batcher.Batcher(lanes=1, window_s=0.0).ticket(device.key(model), {"seed": 1}).events())
    assert seen == ["visitor-1"]


def test_without_batching_every_run_is_its_own_task():
    model = make("two_sided")
    pool = batcher.Batcher(lanes=4, window_s=0.1, batches=False)
    tickets = [pool.ticket(device.key(model), {"seed": s}) for s in (1, 2)]
    assert tickets[0].group is not tickets[1].group
    concurrently(*[lambda t=t: tokens_of(t.events()) for t in tickets])
    assert [t.batch_size for t in tickets] == [1, 1]

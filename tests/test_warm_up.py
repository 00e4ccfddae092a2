"""The background build of the compiled paths (ggm_app.warm_up): one thread at the lowest CPU priority with the
compiler kept on it, the main thread untouched, and a page line that goes once every path is ready."""

import os
import sys
import threading

import pytest

from ggm_app.warm_up import LOWEST_PRIORITY, WarmUp


class SlowToCompile:
    """A model whose warm-up waits to be released and records how it ran."""

    def __init__(self) -> None:
        self.release, self.seen = threading.Event(), {}

    def warm_up(self) -> str:
        import torch._inductor.config as inductor_config

        self.seen = {"nice": os.getpriority(os.PRIO_PROCESS, threading.get_native_id()),
                     "compile_threads": inductor_config.compile_threads}  # fmt: skip
        self.release.wait(10)
        return "compiled"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_the_paths_build_at_low_priority_on_one_thread_and_the_page_says_when_ready():
    first, second = SlowToCompile(), SlowToCompile()
    main_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    warm = WarmUp([("faces", first), ("text", second)]).start()
    assert "faces, text" in warm.notice() and not warm.ready
    first.release.set()
    second.release.set()
    warm.thread.join(10)
    assert first.seen == {"nice": LOWEST_PRIORITY, "compile_threads": 1} and second.seen == first.seen
    assert warm.ready and warm.notice() == ""
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main_nice  # only the builder's thread


def test_nothing_to_build_shows_no_line():
    assert WarmUp([]).start().notice() == ""


def test_inductors_one_fx_trace_is_made_before_the_background_build():
    """An FX trace patches torch.nn.Module.__call__ for every thread: Inductor's one trace (cached per process) is
    made by ``start`` in the caller's thread, so the build in the background never makes it while a visitor's
    network call runs."""
    from torch._inductor.loop_body import InterpreterShim

    InterpreterShim._dummy_gm.cache_clear()
    model = SlowToCompile()
    warm = WarmUp([("faces", model)]).start()
    assert InterpreterShim._dummy_gm.cache_info().currsize == 1
    model.release.set()
    warm.thread.join(10)

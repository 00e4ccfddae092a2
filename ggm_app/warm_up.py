"""The compiled sampling paths, built after start-up without starving the first visitors.

One background thread builds them (:meth:`GenerativeModel.warm_up`) at the lowest CPU priority (nice 19 for that
thread alone, on Linux) with the compiler kept on it (Inductor's pool of compile workers took both cores for about
3 minutes, and runs made meanwhile took 10× longer); the eager path serves until each model's is ready, and the
page says so (:meth:`WarmUp.notice`).
"""

import os
import threading
import time

from ggm_core import GenerativeModel

LOWEST_PRIORITY = 19


def lower_this_thread() -> bool:
    """Give the calling thread the lowest CPU priority (Linux: a thread is a task with a nice value of its own)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOWEST_PRIORITY)
    except (AttributeError, OSError):  # not Linux, or not allowed
        return False
    return True


def trace_inductors_shim_here() -> None:
    """Make, in the calling thread, the one torch.fx trace Inductor runs per process (of a dummy function:
    ``InterpreterShim._dummy_gm`` in torch/_inductor/loop_body.py, cached). An FX trace patches
    ``torch.nn.Module.__call__`` for every thread while it runs: made by the background build, it failed a visitor's
    network call of that moment (``NameError: module is not installed as a submodule``; 1 run of 150 in a soak)."""
    from torch._inductor.loop_body import InterpreterShim

    InterpreterShim._dummy_gm()


class WarmUp:
    """Builds the compiled paths of ``models`` (name, model) one after another in a low-priority thread
    (:meth:`start`)."""

    def __init__(self, models: list[tuple[str, GenerativeModel]]) -> None:
        self.models = models
        self.pending = [name for name, _ in models]
        self.thread: threading.Thread | None = None

    @property
    def ready(self) -> bool:
        return not self.pending

    def notice(self) -> str:
        """The page's line while some path is still being built ("" once all are ready)."""
        if self.ready:
            return ""
        return (
            f"Building the fast sampling path of {', '.join(self.pending)} in the background (one core, low "
            "priority; a minute or two). Runs work meanwhile on the slower eager path."
        )

    def start(self) -> "WarmUp":
        if self.models:
            trace_inductors_shim_here()
        self.thread = threading.Thread(target=self._build, name="ggm-warm-up", daemon=True)
        self.thread.start()
        return self

    def _build(self) -> None:
        import torch._inductor.config as inductor_config

        lower_this_thread()
        with inductor_config.patch(compile_threads=1):  # compile in this thread, not in a pool of workers
            for name, model in self.models:
                began = time.perf_counter()
                print(f"[ggm app] {name}: {model.warm_up()} ({time.perf_counter() - began:.1f} s)", flush=True)
                self.pending.remove(name)

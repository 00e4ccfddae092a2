"""A ZeroGPU worker on this CPU: a function run the way ``spaces`` 0.51 runs an ``@spaces.GPU`` call on a ZeroGPU
Space. The call's arguments are pickled to a forked process ('fork' context), which runs the function and sends
each yielded value (or the return value, or the error) back pickled through a queue; closing the caller's
generator sets a stop event that the worker checks after each value, and the worker is ended. Nothing the worker
changes in memory reaches the caller."""

import inspect
import multiprocessing
import pickle
import traceback

import torch

CONTEXT = multiprocessing.get_context("fork")
WORKERS: list = []  # every worker started, so a test can check they have ended


def _worker(function, payload: bytes, results, stop) -> None:
    torch.set_num_threads(1)  # OpenMP's thread pool does not survive a fork
    args, kwargs = pickle.loads(payload)
    try:
        if inspect.isgeneratorfunction(function):
            generator = function(*args, **kwargs)
            for value in generator:
                if stop.is_set():
                    generator.close()
                    break
                results.put(("value", pickle.dumps(value)))
        else:
            results.put(("value", pickle.dumps(function(*args, **kwargs))))
    except Exception as error:  # noqa: BLE001 (sent back and raised in the caller, as spaces does)
        results.put(("error", pickle.dumps(RuntimeError(f"{error!r}\n{traceback.format_exc()}"))))
    results.put(("end", None))


def _start(function, args, kwargs):
    results, stop = CONTEXT.SimpleQueue(), CONTEXT.Event()
    process = CONTEXT.Process(target=_worker, args=(function, pickle.dumps((args, kwargs)), results, stop), daemon=True)
    process.start()
    WORKERS.append(process)
    return process, results, stop


def _received(results):
    kind, data = results.get()
    if kind == "error":
        raise pickle.loads(data)
    return kind, None if data is None else pickle.loads(data)


def forked(function, duration):
    """``function`` run in a forked worker (``duration`` is ignored, as no GPU is scheduled here)."""
    if inspect.isgeneratorfunction(function):

        def stream(*args, **kwargs):
            process, results, stop = _start(function, args, kwargs)
            try:
                while True:
                    kind, value = _received(results)
                    if kind == "end":
                        return
                    yield value
            finally:  # a closed stream (Stop) or its end: the worker stops and goes
                stop.set()
                process.join(0.5)
                if process.is_alive():
                    process.terminate()
                    process.join()

        return stream

    def call(*args, **kwargs):
        process, results, _ = _start(function, args, kwargs)
        try:
            return _received(results)[1]
        finally:
            process.join()

    return call

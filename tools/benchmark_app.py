"""The app's speed budget with the shipped checkpoints and default (exact) settings, as a visitor sees it.

    python -m tools.benchmark_app [--text-model assets/text_austen] [--face-model assets/faces] [--repeats 3]
    python -m tools.benchmark_app --visitors 8 [--runs-at-once 1]

Launches the app on a free local port and drives it over HTTP as a page does (``tools.app_driver``: one
kept-alive connection, every shown picture fetched; not ``gradio_client``, which adds about 80 ms a job and
takes CPU from the server): seconds from the click to
the first streamed frame, and to the final result, for a text sample, a text infill, a face sample and a
face infill; then Compare (two text columns, three face columns, each at its own budget; and the faces' three
families at the app's defaults, as Compare opens) against the sum of the same runs made one by one; then the belief overlay: seconds and network passes per scrubbed frame
(counted with a forward hook on the denoiser). Each model's compiled sampling path is built first, as the app
does at start-up (its time printed; ``GGM_COMPILE=0`` measures the eager path), and sampling runs on one thread.
Each run's share of time outside the sampler (the readout's own seconds) is printed. Prints markdown tables
(medians over the repeats).

``--visitors N`` measures visitors at once instead: for each tab, N clients (a session each) click "Generate" at
the same moment with seeds 0..N−1, against one client alone; it prints when the last of them had its result on
screen, as a multiple of the lone run's time, and whether each sample is the one its seed gives alone (the same
picture or tokens). ``--runs-at-once 1`` serves one run at a time (the app's queue before the batcher).
"""

import argparse
import multiprocessing
import re
import socket
import statistics
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import app
from ggm_app import batcher
from ggm_core.family import app_knobs
from tools.app_driver import AppDriver

DEFAULTS = {"temperature": 1.0, "top_p": 1.0, "positions_per_call": 1}
COMPARE_BUDGETS = {"text": (0, 64), "face": (0, 64, 32)}  # network calls per column; 0 = exact (16 calls would
# need 37 positions a call, past the slider that the one-by-one runs go through)


VIEW_INDEX = {"text": 0, "face": 1}  # where a run's canvas is among generate_<tab>'s outputs (faces: mask first)
SAMPLER_SECONDS = re.compile(r"network calls · ([0-9.]+) s ·")  # the readout: time inside the sampler
SHARED_WITH = re.compile(r"shared with ([0-9]+) other")  # the readout of a batched run


def timed(driver: AppDriver, api_name: str, **kwargs) -> tuple[float, float, float, float]:
    """Seconds to the first streamed update, to the result on screen (the first update with the readout, its
    picture fetched), to the end of the job (the export ready), and inside the sampler (the readout's own
    seconds). A run that ends without a readout (the app refused it) raises."""
    start = time.perf_counter()
    first = shown = None
    for update in driver.stream(api_name, **kwargs):
        now = time.perf_counter() - start
        found = [float(m.group(1)) for v in update if isinstance(v, str) for m in SAMPLER_SECONDS.finditer(v)]
        first = first or now
        if found and shown is None:
            shown, sampler = now, sum(found)
    total = time.perf_counter() - start
    if shown is None:
        raise RuntimeError(f"/{api_name} {kwargs} ended without a readout")
    return first, shown, total, sampler


def face_editor(driver: AppDriver, folder: Path) -> dict:
    """An example face with the eyes brushed over (a band across the upper middle)."""
    face = np.asarray(
        Image.open(sorted((Path(app.__file__).parent / "ggm_app" / "examples").glob("*.png"))[0]).convert("RGB")
    )
    layer = np.zeros((*face.shape[:2], 4), np.uint8)
    layer[20:32, 10:54] = (213, 94, 0, 153)
    Image.fromarray(face).save(folder / "face.png")
    Image.fromarray(layer).save(folder / "layer.png")
    face_file = driver.upload(folder / "face.png")
    return {"background": face_file, "layers": [driver.upload(folder / "layer.png")], "composite": face_file}


def median_times(driver: AppDriver, api_name: str, repeats: int, **kwargs) -> tuple[float, ...]:
    results = [timed(driver, api_name, seed=seed, **kwargs) for seed in range(repeats)]
    return tuple(statistics.median(r[i] for r in results) for i in range(4))


def compare_rows(driver: AppDriver, tab: str, name: str, model, repeats: int) -> list[str]:
    """Compare at the tab's budgets against the sum of the same runs one by one (medians over the seeds)."""
    budgets = COMPARE_BUDGETS[tab]
    columns = {f"model_{i}": name for i in range(len(budgets))} | {f"budget_{i}": b for i, b in enumerate(budgets)}
    together = median_times(driver, f"compare_generate_{tab}", repeats, **columns)[2]
    alone = 0.0
    for budget in budgets:
        knobs = model.knobs_for_budget(budget or None, model.seq_len)
        alone += median_times(driver, f"generate_{tab}", repeats, model=name, **DEFAULTS | knobs)[2]
    label = " + ".join("exact" if b == 0 else f"{b} calls" for b in budgets)
    return [f"| {tab}: Compare {label} | {together:.2f} s | {alone:.2f} s | {together / alone:.2f} |"]


def defaults_compare_row(driver: AppDriver, tab: str, slot, repeats: int) -> str:
    """Compare with every loaded model of the tab in its own column at the budget it opens with (the model's app
    default), against the same runs one by one."""
    names = slot.names[:3]
    columns = {f"model_{i}": name for i, name in enumerate(names)}
    together = median_times(driver, f"compare_generate_{tab}", repeats, **columns)[2]
    alone = sum(
        median_times(driver, f"generate_{tab}", repeats, model=name, **DEFAULTS | app_knobs(slot.models[name]))[2]
        for name in names
    )
    return f"| {tab}: Compare at the app's defaults ({', '.join(names)}) | {together:.2f} s | {alone:.2f} s | {together / alone:.2f} |"


def belief_row(driver: AppDriver, tab: str, name: str, model, frames: list[int]) -> str:
    """A run, then the belief overlay on ``frames``: seconds and denoiser passes per shown frame."""
    timed(driver, f"generate_{tab}", model=name, seed=0, **DEFAULTS)
    passes = []
    handle = model.network.register_forward_hook(lambda *_: passes.append(1))
    seconds = []
    try:
        for frame in frames:
            began = time.perf_counter()
            driver.call(f"belief_{tab}", frame=frame, show_belief=True)
            seconds.append(time.perf_counter() - began)
    finally:
        handle.remove()
    per_frame = len(passes) / len(frames)
    return f"| {tab} | {len(frames)} | {statistics.median(seconds):.3f} s | {per_frame:g} |"


def final_view(driver: AppDriver, tab: str, seed: int) -> tuple[float, str, int]:
    """Seconds to the result on screen of a generation with ``seed``, its canvas (tokens or picture path), and how
    many runs shared its network calls (the readout says)."""
    start, shown, view, batch = time.perf_counter(), None, None, 1
    for update in driver.stream(f"generate_{tab}", seed=seed, **DEFAULTS):
        readouts = [v for v in update if isinstance(v, str) and SAMPLER_SECONDS.search(v)]
        if shown is None and readouts:
            shown, value = time.perf_counter() - start, update[VIEW_INDEX[tab]]
            view = value.get("path") if isinstance(value, dict) and "path" in value else repr(value)
            batch += sum(int(n) for n in SHARED_WITH.findall(readouts[0]))
    if shown is None:
        raise RuntimeError(f"generate_{tab} with seed {seed} ended without a readout")
    return shown, view, batch


def visit_together(url: str, tab: str, visitors: int) -> tuple[list, list]:
    """Each of ``visitors`` clients generating alone with seeds 0..N−1, one after another, then all at once (a
    barrier): their :func:`final_view` results."""
    drivers = [AppDriver(url) for _ in range(visitors)]
    try:
        alone = [final_view(drivers[0], tab, seed) for seed in range(visitors)]
        results: list = [None] * visitors
        barrier = threading.Barrier(visitors)

        def visit(i: int) -> None:
            barrier.wait()
            results[i] = final_view(drivers[i], tab, i)

        threads = [threading.Thread(target=visit, args=(i,)) for i in range(visitors)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for d in drivers:
            d.close()
    return alone, results


def visitors_row(url: str, tab: str, visitors: int) -> str:
    """``visitors`` clients generating at once against one alone: the last result's time, and identical samples.
    The clients run in a process of their own, as visitors' browsers do (in the server's process their parsing and
    picture fetches held the interpreter a fifth of the time)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as clients:
        alone, results = clients.submit(visit_together, url, tab, visitors).result()
    one = statistics.median(t for t, _, _ in alone)
    last = max(t for t, _, _ in results)
    same = sum(view == solo for (_, view, _), (_, solo, _) in zip(results, alone, strict=True))
    batches = "+".join(str(b) for b in sorted({b for _, _, b in results}, reverse=True))
    return (f"| {tab} | {visitors} | {one:.2f} s | {last:.2f} s | {last / one:.1f}× | {batches} "
            f"| {same} of {visitors} |")  # fmt: skip


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text-model", default="assets/text_austen")
    parser.add_argument("--face-model", default="assets/faces")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--visitors", type=int, help="measure this many visitors generating at once instead")
    parser.add_argument("--runs-at-once", type=int, help="handlers streaming at once (1: the queue before batching)")
    args = parser.parse_args(argv)
    if args.runs_at_once:
        app.RUNS_AT_ONCE = args.runs_at_once
    torch.set_num_threads(app.SAMPLING_THREADS)
    extra_faces = [str(app.ROOT / p) for p in app.DEFAULT_EXTRA_FACE_MODELS if (app.ROOT / p).is_dir()]
    text_slot = app.load_slot([args.text_model], "bpe")
    face_slot = app.load_slot([args.face_model, *extra_faces], app.IMAGE_TOKENIZERS)  # MD4, Blackout: Compare
    for slot in (text_slot, face_slot):
        for name, model in slot.models.items():
            began = time.perf_counter()
            print(f"start-up: {name}: {model.warm_up()} (wall {time.perf_counter() - began:.1f} s)", flush=True)
    demo = app.with_queue(app.build_demo(text_slot, face_slot, app.faces.find_examples([app.SHIPPED_EXAMPLES])))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(**(app.launch_kwargs() | {"server_port": port, "prevent_thread_lock": True, "quiet": True}))
    if args.visitors:
        rows = [visitors_row(f"http://127.0.0.1:{port}/", tab, args.visitors) for tab in ("text", "face")]
        demo.close()
        print(
            f"\n| visitors at once ({app.RUNS_AT_ONCE} runs at once, {batcher.shared.lanes} lanes) | visitors "
            "| one alone | the last of them | ratio | batch sizes | samples as alone |\n|---|---|---|---|---|---|---|\n"
            + "\n".join(rows)
        )
        return
    driver = AppDriver(f"http://127.0.0.1:{port}/")
    sentence = "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a [___]."
    rows, compare, belief = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        editor = {"editor": face_editor(driver, Path(tmp))}
        for tab, slot, cases in (
            ("text", text_slot, [("generate from nothing", "generate_text", {}),
                                 ("fill one 8-token gap", "infill_text", {"text": sentence, "write_on": False})]),
            ("face", face_slot, [("generate a face", "generate_face", {}),
                                 ("repaint the eyes", "infill_face", editor)]),
        ):  # fmt: skip
            if not slot.models:
                continue
            name, model = slot.pick(None)
            common = {"model": name, "sweeps": model.schedule.sweeps, **DEFAULTS}
            for label, api_name, kwargs in cases:
                first, shown, total, sampler = median_times(driver, api_name, args.repeats, **common, **kwargs)
                rows.append(
                    f"| {tab}: {label} | {first:.2f} s | {shown:.2f} s | {sampler:.2f} s | {1 - sampler / shown:.0%} "
                    f"| {total:.2f} s |"
                )
                print(rows[-1], flush=True)
            compare += compare_rows(driver, tab, name, model, args.repeats)
            if len(slot.models) > 1:
                compare.append(defaults_compare_row(driver, tab, slot, args.repeats))
            print("\n".join(compare[-2:]), flush=True)
            belief.append(belief_row(driver, tab, name, model, [0, 10, 100, 200, 250]))
            print(belief[-1], flush=True)
    driver.close()
    demo.close()
    print(
        "\n| run (exact defaults) | first streamed frame | result on screen | of it in the sampler "
        "| outside the sampler | export ready |\n|---|---|---|---|---|---|\n" + "\n".join(rows)
    )
    print(
        "\n| side by side | Compare | the runs one by one, summed | ratio |\n|---|---|---|---|\n" + "\n".join(compare)
    )
    print("\n| belief overlay | frames shown | seconds a frame | denoiser passes a frame |\n|---|---|---|---|\n"
          + "\n".join(belief))  # fmt: skip


if __name__ == "__main__":
    main()

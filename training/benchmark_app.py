"""The app's speed budget with the shipped checkpoints and default (exact) settings, as a visitor sees it.

    python -m training.benchmark_app [--text-model assets/text_austen] [--face-model assets/faces] [--repeats 3]

Launches the app on a free local port and drives it with ``gradio_client``: seconds from the click to
the first streamed frame, and to the final result, for a text sample, a text infill, a face sample and a
face infill. Prints a markdown table (medians over the repeats).
"""

import argparse
import socket
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from gradio_client import Client, handle_file
from PIL import Image

import app

DEFAULTS = {"temp": 1.0, "p": 1.0, "n_ppc": 1}


def timed(client: Client, api_name: str, *args, **kwargs) -> tuple[float, float]:
    """Seconds to the first streamed update and to the end of the job."""
    start = time.perf_counter()
    job = client.submit(*args, api_name=api_name, **kwargs)
    first = None
    for _ in job:
        first = first or time.perf_counter() - start
    return first or float("nan"), time.perf_counter() - start


def face_editor(folder: Path) -> dict:
    """An example face with the eyes brushed over (a band across the upper middle)."""
    face = np.asarray(
        Image.open(sorted((Path(app.__file__).parent / "ggm_app" / "examples").glob("*.png"))[0]).convert("RGB")
    )
    layer = np.zeros((*face.shape[:2], 4), np.uint8)
    layer[20:32, 10:54] = (213, 94, 0, 153)
    Image.fromarray(face).save(folder / "face.png")
    Image.fromarray(layer).save(folder / "layer.png")
    return {
        "background": handle_file(folder / "face.png"),
        "layers": [handle_file(folder / "layer.png")],
        "composite": handle_file(folder / "face.png"),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text-model", default="assets/text_austen")
    parser.add_argument("--face-model", default="assets/faces")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    demo = app.create_app([args.text_model], [args.face_model])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(**(app.launch_kwargs() | {"server_port": port, "prevent_thread_lock": True, "quiet": True}))
    client = Client(f"http://127.0.0.1:{port}/", verbose=False)
    cases = []
    if Path(args.text_model).is_dir():
        text_name = Path(args.text_model).name
        sweeps = app.load_slot([args.text_model], "bpe").models[text_name].schedule.sweeps
        common = {"name": text_name, "n_sweeps": sweeps, **DEFAULTS}
        cases.append(("text: generate from nothing", "/generate_text", (), common))
        sentence = "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a [___]."
        cases.append(("text: fill one 8-token gap", "/infill_text", (), {"text": sentence, "gap": 8, **common}))
    with tempfile.TemporaryDirectory() as tmp:
        if Path(args.face_model).is_dir():
            face_name = Path(args.face_model).name
            sweeps = app.load_slot([args.face_model], "vq").models[face_name].schedule.sweeps
            common = {"name": face_name, "n_sweeps": sweeps, **DEFAULTS}
            cases.append(("faces: generate a face", "/generate_face", (), common))
            cases.append(("faces: repaint the eyes", "/infill_face", (face_editor(Path(tmp)),), common))
        rows = []
        for label, api_name, positional, kwargs in cases:
            results = [timed(client, api_name, *positional, seed_value=seed, **kwargs) for seed in range(args.repeats)]
            first = statistics.median(r[0] for r in results)
            total = statistics.median(r[1] for r in results)
            rows.append(f"| {label} | {first:.2f} s | {total:.2f} s |")
            print(rows[-1], flush=True)
    demo.close()
    print("\n| run (exact defaults) | first streamed frame | whole run |\n|---|---|---|\n" + "\n".join(rows))


if __name__ == "__main__":
    main()

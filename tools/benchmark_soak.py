"""Soak the app: many mixed runs through ``gradio_client``, several at a time, against a server on this machine.

    python -m tools.benchmark_soak [--runs 300] [--clients 8] [--cache-age 60]

Starts ``app.py`` (the shipped checkpoints, or ``--text-model`` / ``--face-model``) in a subprocess with its own
Gradio cache folder and ``GGM_CACHE_MAX_AGE_S=--cache-age``, then ``--clients`` threads each submit runs drawn in
turn from a fixed mix: text infill and generation, face generation with each family, Compare (faces and text),
Noise it (faces and text), a run stopped at a random moment, a run then its scrubbed frame with the belief overlay
and its download, and bad inputs (overlong
and non-ASCII text, a gap at the very start, a junk seed, a missing image) that must come back as clear refusals.
Prints failures (anything raised that is not a refusal), the Gradio cache's size and file count before and after,
the server's memory (RSS) every 25 runs, and what the server logged: its lines and any tracebacks, by exception.
The server's output goes to a file (a pipe nobody reads fills after ~64 KB and blocks the server's next write).
"""

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from gradio_client import Client, handle_file

ROOT = Path(__file__).resolve().parents[1]
FAST = {"positions_per_call": 4, "temperature": 1.0, "top_p": 1.0}


def folder_size(folder: Path) -> tuple[float, int]:
    """MB and files under ``folder`` (the app's sweeper may remove some while they are counted)."""
    size, count = 0, 0
    for base, _, names in os.walk(folder):
        for name in names:
            try:
                size, count = size + os.stat(os.path.join(base, name)).st_size, count + 1
            except FileNotFoundError:
                continue
    return size / 2**20, count


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def mix(client: Client, kind: str, seed: int) -> str:
    """One run of the mix; returns "ok", "refused" (a clear message came back) or raises."""
    if kind == "infill_text":
        *_, final = client.submit(text="She was [___] and [4] at home.", write_on=False, seed=seed, **FAST,
                                  api_name="/infill_text")  # fmt: skip
        return "ok" if "network calls" in final[1] else "refused"
    if kind == "generate_text":
        client.submit(seed=seed, **FAST, api_name="/generate_text").result()
        return "ok"
    if kind == "generate_face":
        client.submit(seed=seed, **FAST, api_name="/generate_face").result()
        return "ok"
    if kind == "stop":
        job = client.submit(seed=seed, positions_per_call=1, api_name="/generate_face")
        time.sleep(random.Random(seed).uniform(0.0, 2.0))  # at a random moment: before, during or after the run
        message = client.predict(api_name="/stop_face")[0]
        job.result()
        return "ok" if message == {"__type__": "update"} or message.startswith("Stopped") else "refused"
    if kind == "bad_text":
        text = ["", "[3]" + "ü" * 5000, "🙂[___]日本[2]", "[0][0][0]"][seed % 4]
        outputs = client.submit(text=text, write_on=False, seed=seed, **FAST, api_name="/infill_text").result()
        return "refused" if "⚠️" in str(outputs) else "ok"
    if kind == "bad_seed":
        try:
            client.submit(seed="abc", **FAST, api_name="/generate_text").result()
        except Exception as err:  # the seed box refuses it before the handler runs, naming the seed
            if "is not a number" in str(err) and "Seed" in str(err):
                return "refused"
            raise
        return "ok"
    if kind == "compare_face":  # the three face families at their app defaults
        *_, final = client.submit(seed=seed, model_0="faces", model_1="md4_faces", model_2="blackout_faces",
                                  api_name="/compare_generate_face")  # fmt: skip
        return "ok" if all("network calls" in r for r in final[3:6]) else "refused"
    if kind == "compare_text":
        *_, final = client.submit(text="It was a [___] day.", write_on=False, seed=seed,
                                  api_name="/compare_infill_text")  # fmt: skip
        return "ok" if all("network calls" in r for r in final[2:4]) else "refused"
    if kind == "noise_face":
        *_, final = client.submit(EXAMPLE_EDITOR, seed=seed, **FAST, api_name="/noise_face")
        return "ok" if "network calls" in final[2] else "refused"
    if kind == "noise_text":
        *_, final = client.submit(text="Emma Woodhouse, handsome, clever, and rich", write_on=False, seed=seed,
                                  **FAST, api_name="/noise_text")  # fmt: skip
        return "ok" if "network calls" in final[1] else "refused"
    if kind == "md4_face":
        *_, final = client.submit(model="md4_faces", seed=seed, steps=32, api_name="/generate_face")
        return "ok" if "network calls" in final[2] else "refused"
    if kind == "blackout_face":
        *_, final = client.submit(model="blackout_faces", seed=seed, bridge_steps=50, api_name="/generate_face")
        return "ok" if "network calls" in final[2] else "refused"
    if kind == "scrub_belief_export":  # a run, then a scrubbed frame with the overlay, then its download
        client.submit(seed=seed, **FAST, api_name="/generate_text").result()
        client.predict(seed % 64, True, api_name="/belief_text")
        client.predict(seed % 64, False, api_name="/scrub_text")
        download = client.predict(api_name="/generate_text_export")
        return "ok" if str(download.get("value", "")).endswith(".html") else "refused"
    if kind == "no_image":
        outputs = client.submit(None, seed=seed, **FAST, api_name="/infill_face").result()
        return "refused" if "⚠️" in str(outputs) else "ok"
    raise ValueError(kind)


def report_log(text: str) -> None:
    """The server's log in numbers: lines, tracebacks, and the exception line each traceback ended in."""
    lines, ends, inside = text.splitlines(), Counter(), False
    for line in lines:
        if line.startswith("Traceback"):
            inside = True
        elif inside and line and not line[0].isspace():
            ends[line[:160]] += 1
            inside = False
    print(f"server log: {len(lines)} lines, {sum(ends.values())} tracebacks")
    for end, count in ends.most_common(10):
        print(f"  {count:4d} × {end}")


KINDS = ("infill_text", "generate_face", "compare_face", "generate_text", "stop", "noise_face", "md4_face",
         "bad_text", "compare_text", "blackout_face", "scrub_belief_export", "noise_text", "bad_seed", "no_image")  # fmt: skip
EXAMPLE = sorted((ROOT / "ggm_app" / "examples").glob("*.png"))[0]
EXAMPLE_EDITOR = {"background": handle_file(str(EXAMPLE)), "layers": [], "composite": handle_file(str(EXAMPLE))}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--cache-age", type=float, default=60.0, help="GGM_CACHE_MAX_AGE_S for the server")
    parser.add_argument("--keep-cache", action="store_true", help="leave the cache folder for inspection")
    parser.add_argument("--text-model")
    parser.add_argument("--face-model")
    args = parser.parse_args(argv)
    cache = Path(tempfile.mkdtemp(prefix="ggm_soak_cache_"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GRADIO_TEMP_DIR": str(cache), "GGM_CACHE_MAX_AGE_S": str(args.cache_age),
           "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}  # fmt: skip
    models = [*(["--text-model", args.text_model] if args.text_model else []),
              *(["--face-model", args.face_model] if args.face_model else [])]  # fmt: skip
    log_path = cache.with_suffix(".log")
    log = log_path.open("w")
    server = subprocess.Popen([sys.executable, "app.py", *models], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    for _ in range(240):
        try:
            Client(url, verbose=False)  # answers once the server is up
            break
        except Exception:  # not up yet
            time.sleep(0.5)
    else:
        raise SystemExit("the app did not start: " + log_path.read_text()[-2000:])
    print(
        f"server up: {rss_mb(server.pid):.0f} MB RSS; cache {folder_size(cache)[0]:.1f} MB, {folder_size(cache)[1]} files"
    )
    counts, failures, lock, done = {"ok": 0, "refused": 0}, [], threading.Lock(), [0]
    began = time.perf_counter()

    def worker(index: int) -> None:
        own = Client(url, verbose=False)
        while True:
            with lock:
                if done[0] >= args.runs:
                    return
                n = done[0]
                done[0] += 1
            kind = KINDS[n % len(KINDS)]
            try:
                result = mix(own, kind, n)
            except Exception as err:  # a failure: anything but a clear refusal
                with lock:
                    failures.append(f"run {n} ({kind}): {type(err).__name__}: {str(err)[:200]}")
                continue
            with lock:
                counts[result] += 1
                if (n + 1) % 25 == 0:
                    size, files = folder_size(cache)
                    print(f"{n + 1:4d} runs, {time.perf_counter() - began:5.0f} s: server {rss_mb(server.pid):.0f} MB "
                          f"RSS; cache {size:.1f} MB, {files} files")  # fmt: skip

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    size, files = folder_size(cache)
    print(f"\n{args.runs} runs by {args.clients} clients in {time.perf_counter() - began:.0f} s: {counts['ok']} ok, "
          f"{counts['refused']} clear refusals, {len(failures)} failures; server {rss_mb(server.pid):.0f} MB RSS; "
          f"cache {size:.1f} MB, {files} files (kept for {args.cache_age:.0f} s)")  # fmt: skip
    for line in failures[:20]:
        print("  " + line)
    report_log(log_path.read_text())
    if args.keep_cache:
        print(f"cache kept in {cache}")
    server.terminate()
    server.wait(30)
    log.close()


if __name__ == "__main__":
    main()

"""Sample quality against sampling cost: generative perplexity under the judge, unigram entropy and speed.

    python -m training.benchmark_quality --ggm assets/text_austen --md4 runs/md4_austen/model \\
        --judge runs/judge_austen/model --samples 32
    python -m training.benchmark_quality --faces runs/faces/model runs/md4_faces/model    # faces only

For every model and network-call budget N (default 16 … 512) and the exact setting, draws ``--samples``
unconditional samples and scores them with the judge (training/judge.py) and by their share of real words
(training/word_metrics.py). The judge reads token ids of its own BPE: a model with another BPE gets a blank
perplexity, unless ``--judge-text-tokens N`` has the judge read every sample (and real window) as the first
N tokens of its decoded text in the judge's BPE, which compares models of different vocabulary sizes. A GGM
meets a budget through the sampler's ``positions_per_call`` (the smallest value whose call count fits N;
exact: 1); MD4 runs ``steps=N`` (exact: one reveal per call), as each family's ``knobs_for_budget`` says. The table reports the calls actually made. A
reference row scores as many held-out real windows (the judge's validation split). Writes ``results.csv``,
``results.md``, ``perplexity_vs_calls.png`` and the decoded ``samples/`` to ``--out`` (default
runs/benchmark_quality).

``--faces`` does the same for face models (GGM and MD4, sharing one VQ tokenizer; Blackout, on pixels)
with the Fréchet distance on the VQ encoder's features (training/image_metrics.py; ``--vq`` names the
tokenizer whose encoder scores models that have none) against real training faces, with two floors:
held-out real faces, and their VQ reconstructions. ``--no-exact`` leaves out each model's exact setting
(Blackout's finest grid is 1000 network calls). It writes ``faces_results.csv``,
``faces_results.md``, ``frechet_vs_calls.png`` and sample grids.

Training speed (supervised positions per second) comes from the run's record when there is one: the
model folder's ``summary.json``, else ``../checkpoint/record.json`` (positions seen / wall time,
evaluations and checkpoints included, on the machine that trained it); otherwise it is measured here
over a few optimiser steps on random tokens with learning rate 0 (the weights do not change).
"""

import argparse
import csv
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from matplotlib.ticker import LogFormatter, NullFormatter, ScalarFormatter  # noqa: E402
from tqdm import tqdm  # noqa: E402

from ggm_core.atomic import atomic_write, atomic_write_bytes  # noqa: E402
from ggm_core.checkpoint import load_model, load_tokenizer, resolve_checkpoint  # noqa: E402
from ggm_core.events import run_to_end  # noqa: E402
from training.judge import JudgeModel, generative_perplexity, load_judge, unigram_entropy  # noqa: E402
from training.train_state import training_record  # noqa: E402
from training.word_metrics import copied_ngram_rate, real_word_rate, word_ngrams, word_vocabulary  # noqa: E402

BUDGETS = (16, 32, 64, 128, 256, 512)
COPY_N = 6  # word n-grams checked against the training text
SPEED = ["seconds_per_sample", "calls_per_second", "train_positions_per_second", "train_rate_source"]
RUN = ["samples", "batch_size", "checkpoint", "device"]
COLUMNS = [
    "model",
    "setting",
    "budget",
    "network_calls",
    "gen_perplexity",
    "unigram_entropy_nats",
    "real_word_rate",
    "copied_6grams",
    "ended",
    *SPEED,
    *RUN,
]
FACE_COLUMNS = [
    "model",
    "setting",
    "budget",
    "network_calls",
    "frechet_vq",
    "frechet_vq_mean",
    "two_sample",
    "two_sample_ci",
    "brightness",
    *SPEED,
    *RUN,
]
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"]  # Okabe-Ito


@dataclass
class Setting:
    label: str  # e.g. "ppc=8" or "steps=64" or "exact"
    budget: str  # "16" … or "exact"
    kwargs: dict


def setting_label(model, knobs: dict) -> str:
    """The knobs that differ from the exact setting, e.g. "positions_per_call=8" or "steps=64"; else "exact"."""
    exact = model.exact_knobs()
    return ", ".join(f"{k}={v}" for k, v in knobs.items() if v != exact[k]) or "exact"


def knob_value(text: str) -> tuple[str, int]:
    """``NAME=VALUE`` (an integer) from the command line."""
    name, _, value = text.partition("=")
    try:
        return name, int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use NAME=INTEGER, e.g. finish_at=100") from None


def settings_for(model, budgets, top_p: float = 1.0, fixed: dict | None = None) -> list[Setting]:
    """The family's knobs per budget (``knobs_for_budget``), then the exact setting; ``fixed`` sets the model's knobs
    it names in every budget's row (``--knob``); ``top_p < 1`` truncates every row."""
    fixed = {k: v for k, v in (fixed or {}).items() if k in model.exact_knobs()}
    out = []
    for budget in budgets:
        knobs = model.knobs_for_budget(budget, model.seq_len) | fixed
        out.append(Setting(setting_label(model, knobs), str(budget), knobs))
    out.append(Setting("exact", "exact", model.exact_knobs()))
    if top_p == 1.0:
        return out
    return [  # truncated draws: the one-position-per-call chain is no longer the exact one
        Setting(
            f"{'one per call' if s.label == 'exact' else s.label}, top-p {top_p:g}",
            s.budget,
            s.kwargs | {"top_p": top_p},
        )
        for s in out
    ]


def generate(model, samples: int, batch_size: int, seed: int, kwargs: dict) -> tuple[torch.Tensor, float, float, int]:
    """``samples`` unconditional samples in runs of ``batch_size``.

    Returns the samples (N, L), the mean network calls per run, the wall seconds and the total calls.
    """
    tokens, calls, seconds = [], [], 0.0
    for index, start in enumerate(range(0, samples, batch_size)):
        count = min(batch_size, samples - start)
        began = time.perf_counter()
        last = run_to_end(model.sample(batch_size=count, seed=seed + index, **kwargs))
        seconds += time.perf_counter() - began
        tokens.append(last.tokens)
        calls.append(last.nfe)
    return torch.cat(tokens), sum(calls) / len(calls), seconds, sum(calls)


def recorded_training_rate(folder: Path) -> tuple[float, str] | None:
    """Positions per second from the model folder's ``summary.json`` or the run's training state, if any."""
    summary = folder / "summary.json"
    if summary.is_file():
        data = json.loads(summary.read_text())
        if data.get("positions_seen") and data.get("wall_minutes"):
            return data["positions_seen"] / (60 * data["wall_minutes"]), "summary.json"
    try:
        record = training_record(folder.parent / "checkpoint")
    except FileNotFoundError:
        return None
    if record.get("positions_seen") and record.get("wall_seconds"):
        return record["positions_seen"] / record["wall_seconds"], "training record"
    return None


def measured_training_rate(model, seq_len: int, vocab_size: int, batch_size: int, steps: int) -> float:
    """Supervised positions per second over ``steps`` optimiser steps after one warm-up step (lr 0)."""
    network = model.network
    device = next(network.parameters()).device
    optimizer = torch.optim.AdamW(network.parameters(), lr=0.0, weight_decay=0.0)
    gen = torch.Generator().manual_seed(0)
    network.train()
    positions, elapsed = 0, 0.0
    for step in range(steps + 1):
        x0 = torch.randint(vocab_size, (batch_size, seq_len), generator=gen).to(device)
        began = time.perf_counter()
        loss, supervised = model.loss(x0, gen)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if step > 0:
            positions, elapsed = positions + supervised, elapsed + time.perf_counter() - began
    optimizer.zero_grad(set_to_none=True)
    network.eval()
    return positions / elapsed


def heldout_reference(
    judge: JudgeModel, judge_folder: Path, count: int, seq_len: int
) -> tuple[torch.Tensor, set[str], set[tuple[str, ...]]]:
    """``count`` fixed windows of the judge's held-out split (the judge's tokens), and its training split's
    words and word n-grams."""
    from training.config import TrainConfig
    from training.data import load_text, prepared_corpus

    saved = judge.metadata.get("training_config")
    if not saved:
        raise SystemExit(f"{judge_folder}: the judge records no training_config, so its held-out split is unknown")
    cfg = TrainConfig(**{f.name: saved[f.name] for f in fields(TrainConfig) if f.name in saved})
    data = load_text(cfg, judge_folder)  # the folder holds tokenizer.json, so nothing is retrained
    train_text = (prepared_corpus(cfg) / "train.txt").read_text(encoding="utf-8")
    return data.val_batches(1, count, seq_len)[0], word_vocabulary(train_text), word_ngrams(train_text, COPY_N)


def bpe_model_of(folder: Path) -> dict:
    path = folder / "tokenizer.json"
    if not path.is_file():
        raise SystemExit(f"{path} not found: the judge can only score models that ship their BPE tokenizer")
    return json.loads(path.read_text())["model"]


def model_label(model, taken: set[str], folder: Path) -> str:
    return model.label if model.label not in taken else f"{model.label} ({folder.name})"


def slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "_" for c in text.lower()).strip("_")


def table_cell(row: dict, key: str, spec: str) -> str:
    return "" if row.get(key) in (None, "") else format(row[key], spec)


def format_table(rows: list[dict], metrics: list[tuple[str, str, str]]) -> str:
    """A markdown table: model, setting, budget, calls, the ``(header, key, format)`` metrics, speed."""
    heads = ["model", "setting", "budget", "network calls", *(h for h, _, _ in metrics)]
    heads += ["s / sample", "calls / s", "train positions / s"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for r in rows:
        train = table_cell(r, "train_positions_per_second", ",.0f")
        if train:
            train += f" ({r['train_rate_source']})"
        cells = [r["model"], r["setting"], r["budget"], table_cell(r, "network_calls", ".0f")]
        cells += [table_cell(r, key, spec) for _, key, spec in metrics]
        cells += [table_cell(r, "seconds_per_sample", ".3f"), table_cell(r, "calls_per_second", ".1f"), train]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_csv(rows: list[dict], columns: list[str], path: Path) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            writer.writerows({k: r.get(k, "") for k in columns} for r in rows)

    atomic_write(path, write)


def plot_against_calls(rows: list[dict], key: str, references: list[tuple[str, float]], ylabel: str, path: Path):
    """``key`` against network calls, one line per model (★ = exact); references as horizontal lines."""
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    models = list(dict.fromkeys(r["model"] for r in rows))
    for colour, name in zip(COLOURS * 4, models, strict=False):
        points = sorted({(r["network_calls"], r[key]) for r in rows if r["model"] == name and r[key] is not None})
        if not points:  # e.g. a text model the judge cannot read
            continue
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, "o-", color=colour, lw=1.8, ms=4, label=name)
        exact = [r for r in rows if r["model"] == name and r["budget"] == "exact"]
        if exact:
            ax.plot(exact[0]["network_calls"], exact[0][key], "*", color=colour, ms=13, mec="black")
    for (label, value), style in zip(references, ["--", ":", "-."], strict=False):
        ax.axhline(value, color="black", ls=style, lw=1.2, label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(LogFormatter())
    ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
    ax.set_xlabel("network calls per sample (batched)")
    ax.set_ylabel(ylabel)
    ax.set_title("closer to the real data is better; ★ = exact sampler", fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)


def sample_rows(models, args, samples: int, batch_size: int, score: Callable, save: Callable) -> list[dict]:
    """One row per model and setting: ``score(tokens, model)`` (a dict of metrics), calls and speed.

    A setting that repeats an earlier one of the same model (a budget above the exact cost) reuses its
    result. ``save(label, setting, tokens, model)`` writes a few decoded samples.
    """
    rows, done = [], {}
    jobs = [
        (label, folder, model, s)
        for label, folder, model in models
        for s in settings_for(model, args.budgets, args.top_p, args.knob)
        if not (args.no_exact and s.budget == "exact")
    ]
    bar = tqdm(jobs, desc="sampling", dynamic_ncols=True)
    for label, folder, model, setting in bar:
        bar.set_postfix_str(f"{label} {setting.label} (budget {setting.budget})")
        key = (label, json.dumps(setting.kwargs, sort_keys=True))
        if key not in done:
            tokens, calls, seconds, total_calls = generate(model, samples, batch_size, args.seed, setting.kwargs)
            done[key] = {
                "network_calls": calls,
                **score(tokens, model),
                "seconds_per_sample": seconds / samples,
                "calls_per_second": total_calls / seconds,
            }
            save(label, setting, tokens, model)
        row = {"model": label, "setting": setting.label, "budget": setting.budget, "checkpoint": str(folder)}
        rows.append({**row, **done[key], "samples": samples, "batch_size": batch_size, "device": str(args.device)})
    bar.close()
    for label, folder, model in models:
        rate = recorded_training_rate(folder)
        if rate is None:
            batch = model.metadata.get("training_config", {}).get("batch_size", 16)
            rate = (
                measured_training_rate(model, model.seq_len, model.vocab_size, batch, args.train_steps),
                f"measured here, {args.train_steps} steps of batch {batch}",
            )
        for row in rows:
            if row["model"] == label:
                row["train_positions_per_second"], row["train_rate_source"] = rate
    return rows


def load_models(paths, device) -> list[tuple[str, Path, object]]:
    models, taken = [], set()
    for path in paths:
        folder = resolve_checkpoint(path)
        model = load_model(folder, device)
        label = model_label(model, taken, folder)
        taken.add(label)
        models.append((label, folder, model))
    return models


def text_of(model, tokens) -> str:
    """A sample's text: up to END for a model trained on whole documents, else every token decoded."""
    tokenizer = model.tokenizer
    return tokenizer.document(tokens) if getattr(tokenizer, "has_document_tokens", False) else tokenizer.decode(tokens)


def text_tokens(model, tokens) -> list[torch.Tensor]:
    """Each sample's text tokens: up to END for a model of whole documents (PAD is not text), else all."""
    end = getattr(model.tokenizer, "end_id", None) if getattr(model.tokenizer, "has_document_tokens", False) else None
    rows = [torch.as_tensor(t) for t in tokens]
    return [r[: r.tolist().index(end)] if end in r.tolist() else r for r in rows] if end is not None else rows


def text_benchmark(args) -> list[dict]:
    out, judge_folder = Path(args.out), Path(args.judge)
    judge = load_judge(judge_folder, args.device)
    judge_bpe = bpe_model_of(judge_folder)
    paths = [p for p in (args.ggm, args.ggm_classic, args.md4) if p]
    models = load_models(paths, args.device)
    unreadable = {  # another BPE, or END and PAD beyond the judge's vocabulary: only the decoded text can be read
        id(model)
        for _, folder, model in models
        if bpe_model_of(folder) != judge_bpe or getattr(model.tokenizer, "has_document_tokens", False)
    }
    for path, (_, _, model) in zip(paths, models, strict=True):
        if id(model) in unreadable and not args.judge_text_tokens:
            print(
                f"{path}: its tokenizer differs from the judge's, so its gen. perplexity is left blank (its real "
                "words are counted on its decoded text); --judge-text-tokens N scores its text instead"
            )
    batch_size = args.batch_size or args.samples
    seq_len = max(model.network.config.seq_len for _, _, model in models)
    windows, vocabulary, train_ngrams = heldout_reference(judge, judge_folder, args.samples, seq_len)

    def judge_reads(tokens, texts, model) -> torch.Tensor | None:
        """The tokens the judge scores: the model's own, or the first N of its text in the judge's BPE."""
        n = args.judge_text_tokens
        if not n:
            return None if id(model) in unreadable else tokens
        ids = [judge.tokenizer.encode(text)[:n] for text in texts]
        if getattr(model.tokenizer, "has_document_tokens", False):  # a document may end before N tokens
            return [torch.tensor(i)[None] for i in ids if len(i) > 1]
        if min(map(len, ids)) < n:
            raise SystemExit(f"a sample re-encodes to {min(map(len, ids))} judge tokens: lower --judge-text-tokens {n}")
        return torch.tensor(ids)

    def score(tokens, model):
        texts = [text_of(model, t) for t in tokens]
        read = judge_reads(tokens, texts, model)
        end = getattr(model.tokenizer, "end_id", None)
        return {
            "ended": None if end is None else float((torch.as_tensor(tokens) == end).any(1).float().mean()),
            "gen_perplexity": None if read is None else generative_perplexity(judge, read),
            "unigram_entropy_nats": unigram_entropy(text_tokens(model, tokens)),
            "real_word_rate": real_word_rate(texts, vocabulary),
            "copied_6grams": copied_ngram_rate(texts, train_ngrams, COPY_N),
        }

    def save(label, setting, tokens, model):
        text = "\n\n".join(
            f"--- sample {i} ---\n{text_of(model, t)}" for i, t in enumerate(tokens[: args.keep_samples])
        )
        atomic_write_bytes(out / "samples" / f"{slug(label)}_{slug(setting.label)}.txt", text.encode())

    rows = sample_rows(models, args, args.samples, batch_size, score, save)
    reference = {"model": "real text (held-out)", "setting": "", "budget": "", **score(windows, judge), "ended": None}
    reference |= {"checkpoint": str(judge_folder), "samples": args.samples, "device": str(args.device)}
    note = (
        f"{args.samples} samples per row in runs of {batch_size}, device {args.device}, torch {torch.__version__}; "
        f"judge {judge_folder} (its perplexity on {args.samples} held-out windows: {reference['gen_perplexity']:.1f}). "
        "Entropy: nats, of the token frequencies pooled over a row's samples. Real words: the share of the "
        "samples' words (all but each sample's first and last) that occur in the training split. Copied 6-grams: "
        "the share of the samples' word 6-grams (edge words skipped) that occur in the training split. Ended: the "
        "share of samples holding END (a model trained on whole documents; its text, up to END, is what is scored "
        "and what its entropy counts)."
    )
    if args.judge_text_tokens:
        note += (
            f" Perplexity: of the first {args.judge_text_tokens} tokens of each sample's decoded text (and real "
            "window) re-encoded with the judge's BPE."
        )
    elif unreadable:
        note += " A blank perplexity: the model's tokenizer is not the judge's, so the judge cannot read its tokens."
    table = format_table(
        [*rows, reference],
        [
            ("gen. perplexity", "gen_perplexity", ".1f"),
            ("unigram entropy (nats)", "unigram_entropy_nats", ".3f"),
            ("real words", "real_word_rate", ".1%"),
            ("copied 6-grams", "copied_6grams", ".1%"),
            ("ended", "ended", ".0%"),
        ],
    )
    print(note, table, sep="\n")
    write_csv([*rows, reference], COLUMNS, out / "results.csv")
    atomic_write_bytes(out / "results.md", f"{note}\n\n{table}\n".encode())
    plot_against_calls(
        rows,
        "gen_perplexity",
        [("held-out real text", reference["gen_perplexity"])],
        "generative perplexity under the judge",
        out / "perplexity_vs_calls.png",
    )
    print(f"wrote {out / 'results.csv'}, {out / 'results.md'}, {out / 'perplexity_vs_calls.png'}")
    return [*rows, reference]


def real_faces(model, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` held-out faces and ``count`` training faces (a seeded subset) of the model's face data."""
    from training.config import TrainConfig
    from training.face_data import prepare_faces

    saved = model.metadata.get("training_config", {})
    cfg = TrainConfig(**{f.name: saved[f.name] for f in fields(TrainConfig) if f.name in saved})
    cache, source = (Path(cfg.cache_dir) if cfg.cache_dir else None), Path(cfg.faces)
    folder = prepare_faces(cache_dir=cache, folder=source) if source.is_dir() else prepare_faces(cache_dir=cache)
    val, train = np.load(folder / "val.npy", mmap_mode="r"), np.load(folder / "train.npy", mmap_mode="r")
    if count > len(val):
        raise SystemExit(f"--face-samples {count} exceeds the {len(val)} held-out faces")
    pick = np.sort(np.random.default_rng(seed).choice(len(train), count, replace=False))
    return np.asarray(val[:count]), np.asarray(train[pick])


def faces_benchmark(args) -> list[dict]:
    from PIL import Image

    from training.image_metrics import frechet_distance, mean_term, vq_features
    from training.plots import image_grid
    from training.two_sample import two_sample_test

    out = Path(args.out)
    models = load_models(args.faces, args.device)
    for _, folder, model in models:
        if getattr(model.tokenizer, "kind", None) not in ("vq", "pixels"):
            raise SystemExit(f"{folder} is not a face model (its tokenizer is neither VQ codes nor pixels)")
    vq_folders = [folder for _, folder, model in models if model.tokenizer.kind == "vq"] or [Path(args.vq)]
    vq_weights = {hashlib.sha256((folder / "vq.safetensors").read_bytes()).hexdigest() for folder in vq_folders}
    if len(vq_weights) > 1:
        raise SystemExit("the face models use different VQ tokenizers: their codes and scores are not comparable")
    tokenizer = load_tokenizer("vq", vq_folders[0])  # its encoder scores every model's images
    _, _, first = models[0]
    count = args.face_samples
    held_out, train = real_faces(first, count, args.seed)
    train_features = vq_features(tokenizer, train)

    def two_sample(images, real=held_out):
        n = args.two_sample
        result = two_sample_test(real[:n], images[:n], seed=args.seed)
        return {"two_sample": result.accuracy, "two_sample_ci": f"[{result.low:.2f}, {result.high:.2f}]"}

    def face_scores(images, real=held_out):
        features = vq_features(tokenizer, images)
        return {
            "frechet_vq": frechet_distance(features, train_features),
            "frechet_vq_mean": mean_term(features, train_features),
            **(two_sample(images, real) if args.two_sample else {}),
            "brightness": float(np.mean(images)),
        }

    def score(codes, model):
        return face_scores(model.tokenizer.decode(codes))

    def save(label, setting, codes, model):
        grid = image_grid(model.tokenizer.decode(codes[: args.keep_samples]), columns=4)
        path = out / "samples" / f"faces_{slug(label)}_{slug(setting.label)}.png"
        atomic_write(path, lambda tmp: Image.fromarray(grid).save(tmp, format="png"))

    rows = sample_rows(
        [(f"{label} (faces)", f, m) for label, f, m in models], args, count, args.batch_size or count, score, save
    )
    references = [
        {
            "model": name,
            "setting": "",
            "budget": "",
            **face_scores(images, real),
            "samples": count,
            "device": str(args.device),
        }
        for name, images, real in (  # two-sample tests against other faces than their own: the control (both
            ("real held-out faces", held_out, train),  # real), and the tokenizer's ceiling
            ("VQ reconstructions of them", tokenizer.decode(tokenizer.encode(held_out)), train),
        )
    ]
    floors = [(r["model"], r["frechet_vq"]) for r in references]
    note = (
        f"{count} samples per row, Fréchet distance on VQ encoder features (4×4-pooled) against {count} training "
        f"faces; device {args.device}, torch {torch.__version__}."
    )
    table = format_table(
        [*rows, *references],
        [
            ("Fréchet (VQ features)", "frechet_vq", ".2f"),
            ("of which mean term", "frechet_vq_mean", ".2f"),
            *(
                [("two-sample accuracy", "two_sample", ".3f"), ("its 95% interval", "two_sample_ci", "")]
                if args.two_sample
                else []
            ),
            ("mean pixel (0–255)", "brightness", ".1f"),
        ],
    )
    print(note, table, sep="\n")
    write_csv([*rows, *references], FACE_COLUMNS, out / "faces_results.csv")
    atomic_write_bytes(out / "faces_results.md", f"{note}\n\n{table}\n".encode())
    plot_against_calls(
        rows, "frechet_vq", floors, "Fréchet distance (VQ encoder features)", out / "frechet_vs_calls.png"
    )
    print(f"wrote {out / 'faces_results.csv'}, {out / 'faces_results.md'}, {out / 'frechet_vs_calls.png'}")
    return [*rows, *references]


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ggm", help="a GGM text checkpoint (e.g. assets/text_austen, two-sided)")
    parser.add_argument("--ggm-classic", help="a second GGM text checkpoint (e.g. one with the classic denoiser)")
    parser.add_argument("--md4", help="a masked diffusion (MD4) text checkpoint, e.g. runs/md4_austen/model")
    parser.add_argument("--judge", help="the judge checkpoint for the text models, e.g. runs/judge_austen/model")
    parser.add_argument("--samples", type=int, default=32, help="text samples per setting")
    parser.add_argument(
        "--judge-text-tokens",
        type=int,
        default=0,
        help="score every text sample on the first N tokens of its decoded text re-encoded with the judge's BPE "
        "(compares models with different tokenizers); 0 = the judge reads the model's own tokens",
    )
    parser.add_argument(
        "--faces", nargs="+", help="face checkpoints (GGM, MD4) sharing one VQ tokenizer: run the Fréchet benchmark"
    )
    parser.add_argument("--face-samples", type=int, default=1000, help="face samples per setting (≤ held-out faces)")
    parser.add_argument("--batch-size", type=int, default=0, help="samples per sampler run; 0 = all at once")
    parser.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS))
    parser.add_argument("--no-exact", action="store_true", help="leave out each model's exact setting")
    parser.add_argument("--vq", default="assets/vq_faces", help="the VQ tokenizer that scores pixel models' faces")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--knob", type=knob_value, action="append", default=[], metavar="NAME=VALUE",
        help="a sampler setting for every budget's row of the models that have it (e.g. finish_at=100: Blackout's "
        "bridge to the end)",
    )  # fmt: skip
    parser.add_argument("--top-p", type=float, default=1.0, help="nucleus truncation of every sampler (1 = exact law)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads; 0 = torch's default")
    parser.add_argument("--train-steps", type=int, default=5, help="steps to measure training speed without a record")
    parser.add_argument("--keep-samples", type=int, default=8, help="decoded samples written per setting")
    parser.add_argument(
        "--two-sample",
        type=int,
        default=200,
        help="faces of each set in the classifier two-sample test (training/two_sample.py; 0: off)",
    )
    parser.add_argument("--out", default="runs/benchmark_quality")
    args = parser.parse_args(argv)
    args.knob = dict(args.knob)
    if not 0 < args.top_p <= 1:
        parser.error(f"--top-p must lie in (0, 1], got {args.top_p}")
    text = any((args.ggm, args.ggm_classic, args.md4))
    if not text and not args.faces:
        parser.error("give at least one model: --ggm, --ggm-classic, --md4 (with --judge) or --faces")
    if text and not args.judge:
        parser.error("the text models need --judge (train one with python -m training.judge)")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    args.device = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    )
    rows = text_benchmark(args) if text else []
    return rows + (faces_benchmark(args) if args.faces else [])


if __name__ == "__main__":
    main()

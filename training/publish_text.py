"""Publish a trained text run into ``assets/``: weights, loss curve, samples and infilling examples.

    python -m training.publish_text --run runs/text_austen --to assets/text_austen

Samples are made by the copied (shipped) weights with fixed seeds; the model card is written by hand
from ``summary.json``, which this script writes with the run's numbers.
"""

import argparse
import json
import shutil
from pathlib import Path

import torch

from ggm_core.atomic import atomic_write_bytes
from ggm_core.checkpoint import load_model
from ggm_core.events import run_to_end
from ggm_core.family import app_knobs
from ggm_core.text_infill import choose_gap_lengths, plan_infill
from training.bpe import read_paragraphs
from training.corpus import prepare_text
from training.train_state import training_record


def infill_examples(model, paragraphs: list[str], count: int, gap: int, seed: int) -> list[dict]:
    """Windows of held-out text with ``gap`` tokens removed from the middle and filled by the model."""
    L, tokenizer = model.seq_len, model.tokenizer
    stream: list[int] = []
    for paragraph in paragraphs:
        stream.extend(tokenizer.encode(paragraph + "\n"))
    examples = []
    for index in range(count):
        start = (index + 1) * len(stream) // (count + 2)
        window = torch.tensor(stream[start : start + L])
        lo = L // 2 - gap // 2
        known = torch.ones(L, dtype=torch.bool)
        known[lo : lo + gap] = False
        last = run_to_end(model.sample(known_tokens=window, known=known, seed=seed + index, **app_knobs(model)))
        filled = last.tokens[0]
        examples.append(
            {
                "before": tokenizer.decode(window[:lo]),
                "original": tokenizer.decode(window[lo : lo + gap]),
                "filled": tokenizer.decode(filled[lo : lo + gap]),
                "after": tokenizer.decode(window[lo + gap :]),
                "known_unchanged": bool(torch.equal(filled[known], window[known])),
            }
        )
    return examples


def document_infills(model, paragraphs: list[str], count: int, seed: int) -> list[str]:
    """A model of whole documents as the app uses it: held-out sentences with 1–4 words removed and written
    `[___]`, filled at the length the model chooses; each line: the text typed, the fill, the words removed."""
    from training.gap_sentences import cut_sentences

    tokenizer, lines = model.tokenizer, []
    for index, (prefix, removed, suffix) in enumerate(cut_sentences(paragraphs, count, seed)):
        text = f"{prefix}[___]{suffix}"

        def plan_for(lengths, text=text):
            return plan_infill(text, tokenizer, model.seq_len, lengths=lengths)

        choice = choose_gap_lengths(model, plan_for, 1, seed=seed + index, **app_knobs(model))
        filled = choice.samples[choice.candidates.index(choice.lengths[0])]
        lines += [
            f"**Example {index + 1}.** `{text}` → {tokenizer.document(filled)}",
            "",
            f"Chosen length {choice.lengths[0]} tokens; the words removed: ⟦{removed}⟧",
            "",
        ]
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--to", type=Path, required=True)
    parser.add_argument("--val-text", type=Path, help="held-out paragraphs (default: the run's prepared val.txt)")
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--gap", type=int, default=12)
    parser.add_argument(
        "--top-p", type=float, default=0.9, help="also write samples drawn with this top-p (1 = exact samples only)"
    )
    args = parser.parse_args(argv)
    if not 0 < args.top_p <= 1:
        parser.error(f"--top-p must lie in (0, 1], got {args.top_p}")
    torch.set_num_threads(max(1, torch.get_num_threads()))
    args.to.mkdir(parents=True, exist_ok=True)
    for item in (args.run / "model").iterdir():
        shutil.copy2(item, args.to / item.name)
    shutil.copy2(args.run / "loss_curve.png", args.to / "loss_curve.png")
    model = load_model(args.to)
    record = training_record(args.run / "checkpoint")
    val_text = (
        args.val_text or prepare_text(cache_dir=model.metadata["training_config"].get("cache_dir") or None) / "val.txt"
    )
    documents = getattr(model.tokenizer, "has_document_tokens", False)
    examples = [] if documents else infill_examples(model, read_paragraphs(val_text), args.samples, args.gap, seed=7)
    lines = [
        "# Samples from the shipped weights",
        "",
        f"Made by `python -m training.publish_text --run {args.run} --to {args.to}`.",
        "",
    ]
    settings = [("exact sampler", 1.0)] + (
        [(f"top-p {args.top_p:g}: the exact law truncated", args.top_p)] if args.top_p < 1 else []
    )
    for title, top_p in settings:
        last = run_to_end(model.sample(batch_size=args.samples, seed=2024, top_p=top_p))
        lines += [f"## Unconditional samples ({title}, seed 2024)", ""]
        for i, tokens in enumerate(last.tokens):
            text = model.tokenizer.document(tokens) if documents else model.tokenizer.decode(tokens)
            ended = " (ends with END)" if documents and model.tokenizer.end_id in tokens.tolist() else ""
            lines += [f"**Sample {i + 1}.**{ended}", "", "> " + text.replace("\n", "\n> "), ""]
    if documents:
        lines += ["## Infilling: held-out *Persuasion* sentences, a `[___]` gap whose length the model chooses", ""]
        lines += document_infills(model, read_paragraphs(val_text), args.samples, seed=7)
    else:
        lines += [
            f"## Infilling ({args.gap} tokens removed from held-out *Persuasion*; ⟦model's fill⟧, then the original)",
            "",
        ]
    for i, ex in enumerate(examples):
        lines += [
            f"**Example {i + 1}.** …{ex['before'][-300:]}⟦{ex['filled']}⟧{ex['after'][:200]}…".replace("\n", " "),
            "",
            f"Original: ⟦{ex['original']}⟧ — known tokens unchanged: {ex['known_unchanged']}".replace("\n", " "),
            "",
        ]
    atomic_write_bytes(args.to / "SAMPLES.md", "\n".join(lines).encode())
    summary = {
        "steps": record["step"],
        "positions_seen": record["positions_seen"],
        "wall_minutes": round(record["wall_seconds"] / 60, 1),
        "final_val_loss": record["val_loss"][-1],
        "val_loss_history": record["val_loss"],
        "parameters": sum(p.numel() for p in model.network.parameters()),
        "weights_bytes": (args.to / "model.safetensors").stat().st_size,
    }
    atomic_write_bytes(args.to / "summary.json", json.dumps(summary, indent=1).encode())
    print(json.dumps({k: v for k, v in summary.items() if k != "val_loss_history"}, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

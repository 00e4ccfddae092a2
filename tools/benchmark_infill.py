"""Text infilling at the seam: does a gap written after a space start with a whole word?

    python -m tools.benchmark_infill [--model assets/text_austen] [--gaps 120] [--gap-tokens 8] \
        [--refine 2,4] [--judge runs/judge_austen/model]

Cuts ``--gaps`` gaps from the held-out novel (*Persuasion*): in a window of held-out text, the words after a
word boundary are removed and the gap is written three ways, then filled by the model's exact chain:

- natural, new seam: "… in want of a [8]." as a person types it, with the space moved into the gap
  (ggm_app/text.py, the seam rule);
- natural, old seam: the same text, its trailing space encoded as a lone token (``heal_spaces=False``);
- no space: "… in want of a[8].", the spelling that avoids the lone space token;
- natural, new seam, then R refinement sweeps (``--refine``; a model trained with the clean context).

For each it prints the share of gaps whose first generated word is a real word (seen in the training split,
training/word_metrics.py), the real-word rate of the completed windows' words, the share of completions
that kept the user's text unchanged, and with ``--judge`` two perplexities under the judge: of the completed
windows, each re-encoded in its BPE and scored whole (the model also writes the tokens after the window's
text, up to its context length), and of the real text after the gap given everything before it (the same
tokens in every row: how well the filled gap leads into what follows). The original text, with the three
removed words in place, is the reference row. Then the app's three example texts with seeds 0-7.
"""

import argparse
import math
import random
import re
import time

import numpy as np
import torch
from tqdm import tqdm

from ggm_app.session import RunSession, RunSettings
from ggm_app.text import EXAMPLES
from ggm_core.checkpoint import load_model
from ggm_core.family import app_knobs
from ggm_core.text_infill import DEFAULT_GAP, allowed_tokens, plan_infill
from training.corpus import prepare_text
from training.judge import generative_perplexity, load_judge
from training.word_metrics import WORD, real_word_rate, word_vocabulary

SPELLINGS = ("natural, new seam", "natural, old seam", "no space")
GAP_WORDS = 3  # words removed per gap; the model fills ``--gap-tokens`` tokens in their place


def cut_gaps(
    text: str, count: int, seed: int, before: int = 30, after: int = 25, gap_words: int = GAP_WORDS
) -> list[tuple[str, str, str]]:
    """``count`` (prefix, removed, suffix) triples from ``text``: ``before`` words, a gap where ``gap_words``
    words were, then ``after`` + 1 words; the prefix ends with the space before the removed words, as a person
    types it, and ``prefix + removed + suffix`` is the original window."""
    words = list(re.finditer(r"\S+", text))
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        i = rng.randrange(before, len(words) - after - gap_words)
        if not WORD.fullmatch(words[i].group()):  # cut before a plain word, so its first word is known to be one
            continue
        start, end = words[i - before].start(), words[i + gap_words + after].end()
        prefix = text[start : words[i].start()]
        suffix = text[words[i + gap_words - 1].end() : end]
        if not prefix.endswith(" ") or "\n" in prefix[-2:]:
            continue
        out.append((prefix, text[words[i].start() : words[i + gap_words - 1].end()], suffix))
    return out


def first_word(completed: str, offset: int) -> str:
    """The word that starts at or after ``offset`` (extended left if the gap opens mid-word)."""
    match = WORD.search(completed, offset)
    if not match:
        return ""
    begin = match.start()
    while begin > 0 and completed[begin - 1].isalpha():
        begin -= 1
    return completed[begin : match.end()].lower()


def fill(model, text: str, gap_tokens: int, heal: bool, seed: int, **knobs) -> tuple[str, int]:
    """The completed canvas as text, and the offset in it where the first gap begins (exact knobs unless given)."""
    tok = model.tokenizer
    plan = plan_infill(text, tok, model.seq_len, gap_tokens, heal_spaces=heal)
    known = np.array(plan.known)
    settings = RunSettings.clean(model, {k.name: k.exact for k in model.knobs()} | knobs, seed=seed)
    session = RunSession(model, "m", settings, known, torch.tensor(plan.tokens), allowed=allowed_tokens(plan, tok))
    *_, final = session.frames()
    tokens = [int(t) for t in final.tokens]
    first_free = int(np.argmin(known))
    return tok.decode(tokens), len(tok.decode(tokens[:first_free]))


def split_at_suffix(completed: str, offset: int, suffix: str) -> tuple[str, str] | None:
    """(everything before the real text that follows the gap, that text), or None if it was not kept.

    The space before the suffix goes with it, as the BPE spells a word with its leading space.
    """
    start = completed.find(suffix.strip(), offset)
    if start < 0:
        return None
    before, after = completed[:start], suffix.strip()
    if before.endswith(" "):
        before, after = before[:-1], " " + after
    return before, after


@torch.no_grad()
def suffix_perplexity(judge, splits: list[tuple[str, str]]) -> float:
    """The judge's perplexity of the real text after each gap given everything before it (the window's start
    dropped if the pair exceeds the judge's context): how well the filled gap leads into what follows."""
    total, count = 0.0, 0
    for before, after in splits:
        head, tail = judge.tokenizer.encode(before), judge.tokenizer.encode(after)
        tokens = (head + tail)[-judge.seq_len :]
        scored = min(len(tail), len(tokens))
        if scored == 0:
            continue
        nll = judge.token_nll(torch.tensor(tokens).reshape(1, -1))[0, len(tokens) - scored :]
        total, count = total + nll.double().sum().item(), count + nll.numel()
    if count == 0:
        raise ValueError("no text after the gaps to score")
    return math.exp(total / count)


def judge_perplexity(judge, windows: list[str]) -> float:
    """The judge's perplexity of the windows, each re-encoded in its BPE (cut to its context length)."""
    encoded = [torch.tensor(judge.tokenizer.encode(w)[: judge.seq_len]).reshape(1, -1) for w in windows]
    return generative_perplexity(judge, [t for t in encoded if t.numel() > 1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="assets/text_austen")
    parser.add_argument("--gaps", type=int, default=120)
    parser.add_argument("--gap-tokens", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--refine", default="2", help="refinement sweeps to try after the new seam, comma-separated")
    parser.add_argument("--judge", help="a judge checkpoint (python -m training.train_judge) for the perplexity column")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model = load_model(args.model)
    judge = load_judge(args.judge) if args.judge else None
    judge_corpus = judge.metadata.get("training_config", {}).get("corpus", "austen") if judge else "austen"
    if judge_corpus != "austen":  # the gaps are cut from Persuasion, which the austen_all judge has read
        raise SystemExit(f"{args.judge} was trained on corpus {judge_corpus!r}, not the 'austen' split whose "
                         "held-out novel the gaps are cut from: its perplexity would reward what it has read")  # fmt: skip
    refines = [int(r) for r in args.refine.split(",") if r] if getattr(model, "refines", False) else []
    spellings = SPELLINGS + tuple(f"{SPELLINGS[0]}, R = {r}" for r in refines)
    corpus = prepare_text()
    vocabulary = word_vocabulary((corpus / "train.txt").read_text(encoding="utf-8"))
    cases = cut_gaps((corpus / "val.txt").read_text(encoding="utf-8"), args.gaps, args.seed)
    rows = {name: {"first": [], "windows": [], "kept": [], "splits": []} for name in spellings}
    began = time.perf_counter()
    for index, (prefix, _, suffix) in enumerate(tqdm(cases, desc="gaps")):
        gap = f"[{args.gap_tokens}]"
        for name, text, heal, knobs in (
            (SPELLINGS[0], f"{prefix}{gap}{suffix}", True, {}),
            (SPELLINGS[1], f"{prefix}{gap}{suffix}", False, {}),
            (SPELLINGS[2], f"{prefix.rstrip(' ')}{gap}{suffix}", False, {}),
            *((spelling, f"{prefix}{gap}{suffix}", True, {"refine_sweeps": r})
              for spelling, r in zip(spellings[3:], refines, strict=True)),
        ):  # fmt: skip
            completed, offset = fill(model, text, args.gap_tokens, heal, args.seed + index, **knobs)
            rows[name]["first"].append(first_word(completed, offset) in vocabulary)
            rows[name]["windows"].append(completed)
            kept = completed.startswith(prefix if name != SPELLINGS[2] else prefix.rstrip(" "))
            split = split_at_suffix(completed, offset, suffix)
            rows[name]["kept"].append(kept and split is not None)
            rows[name]["splits"].append(split)
    print(f"\n{len(cases)} gaps of {args.gap_tokens} tokens from held-out Persuasion, exact chain, "
          f"{time.perf_counter() - began:.0f} s\n")  # fmt: skip
    print(
        "| spelling | first generated word real | words of the completed windows real | text kept "
        "| judge perplexity: window | judge perplexity: the text after the gap |"
    )
    print("|---|---|---|---|---|---|")
    originals = ["".join(case) for case in cases]
    original_splits = [split_at_suffix(text, len(c[0]), c[2]) for text, c in zip(originals, cases, strict=True)]
    common = [i for i in range(len(cases)) if all(r["splits"][i] for r in rows.values())]  # the same text in each row
    for name, r in rows.items():
        first = 100 * sum(r["first"]) / len(r["first"])
        words = 100 * real_word_rate(r["windows"], vocabulary)
        kept = 100 * sum(r["kept"]) / len(r["kept"])
        perplexity = f"{judge_perplexity(judge, r['windows']):.1f}" if judge else "–"
        after = f"{suffix_perplexity(judge, [r['splits'][i] for i in common]):.1f}" if judge else "–"
        print(f"| {name} | {first:.1f}% | {words:.1f}% | {kept:.0f}% | {perplexity} | {after} |")
    words = 100 * real_word_rate(originals, vocabulary)
    perplexity = f"{judge_perplexity(judge, originals):.1f}" if judge else "–"
    after = f"{suffix_perplexity(judge, [original_splits[i] for i in common]):.1f}" if judge else "–"
    print(f"| the original text (the {GAP_WORDS} removed words in place) | | {words:.1f}% | | {perplexity} | {after} |")
    print(f"\nThe text after the gap is scored on the {len(common)} gaps whose every completion kept it whole.")
    app_defaults = app_knobs(model)
    print(f"\nThe app's own examples, seeds 0-7 (the new seam, the app's defaults {app_defaults}; first generated "
          "word of the gap):\n")  # fmt: skip
    print("| example | whole first words | first words |\n|---|---|---|")
    for example in EXAMPLES:
        found = []
        for seed in range(8):
            completed, offset = fill(model, example, DEFAULT_GAP, True, seed, **app_defaults)
            found.append(first_word(completed, offset))
        real = sum(w in vocabulary for w in found)
        print(f"| {example[:40]}… | {real} of 8 | {', '.join(found)} |")


if __name__ == "__main__":
    main()

"""Flexible gaps: does a filled `[___]` read like the sentence it completes?

    python -m training.benchmark_gaps --model assets/text_austen --judge runs/judge_8192/model [--sentences 200]

Takes ``--sentences`` held-out sentences of *Persuasion* (8–40 words), removes a span of 1–4 plain words from
each and writes the gap the natural way (``… a [___] day …``). Each model fills it at every candidate length
1–8 with the same seed (ggm_core.text_infill.choose_gap_lengths), which gives every row from one set of runs:

- fixed 8 tokens: the gap as the app filled `[___]` before lengths were chosen;
- pseudo-likelihood, sum: the length whose fill and neighbours score highest under the model's own full
  conditionals log P(x^i | x^{-i}); then the same with 1, 2 or 3 nats added per token of the fill (a length
  prior; the app's ``LENGTH_BONUS`` is one of these, chosen from this table);
- pseudo-likelihood, mean: the same score per position (a length-normalised alternative);
- judge picks: the length whose completed sentence has the judge's lowest perplexity (it is also the measure,
  so this row is a ceiling for choosing among these candidates, not a fair alternative);
- removed span's length: the length in tokens of the words removed (an oracle).

For each row: the judge's perplexity of the completed sentences (every token of each sentence, re-encoded in the
judge's BPE), the share of fills 1–6 words long, the share whose first word is a real word (seen in the training
split, extended left when the fill completes a word), and the original sentences as the reference row.
"""

import argparse
import math
import time

import torch
from tqdm import tqdm

from ggm_core.checkpoint import load_model
from ggm_core.text_infill import CANDIDATE_LENGTHS, LENGTH_BONUS, choose_gap_lengths, gap_window, plan_infill
from training.bpe import read_paragraphs
from training.corpus import prepare_text
from training.gap_sentences import MAX_WORDS, cut_sentences, first_word
from training.judge import load_judge
from training.word_metrics import WORD, word_vocabulary

BONUSES = (1.0, 2.0, 3.0)  # nats per token added to the pseudo-likelihood sum (ggm_core.text_infill.LENGTH_BONUS)
ROWS = ("fixed 8 tokens", "pseudo-likelihood, sum", *(f"pseudo-likelihood + {b:g} nats a token" for b in BONUSES),
        "pseudo-likelihood, mean", "judge picks", "removed span's length (oracle)")  # fmt: skip


def other_picks(choice, nlls, plan_for, tokenizer, removed: str) -> dict[str, int]:
    """Each row's candidate (an index into ``choice.candidates``) but the fixed one: by the pseudo-likelihood sum,
    with each length bonus, by its mean over the window, by the judge (``nlls``: (NLL, tokens) per candidate), and
    the removed span's own length."""
    sums = choice.scores[0]
    pad_id = getattr(tokenizer, "pad_id", None)
    sizes = [len(gap_window(plan_for([n]), plan_for([n]).gaps[0], pad_id)) for n in choice.candidates]
    by_score = {
        ROWS[1]: sums,
        **{
            ROWS[2 + i]: [v + b * n for v, n in zip(sums, choice.candidates, strict=True)]
            for i, b in enumerate(BONUSES)
        },
        ROWS[-3]: [v / size for v, size in zip(sums, sizes, strict=True)],
        ROWS[-2]: [-nll / count for nll, count in nlls],
    }
    picks = {name: max(range(len(values)), key=values.__getitem__) for name, values in by_score.items()}
    oracle = min(max(len(tokenizer.encode(" " + removed)), 1), CANDIDATE_LENGTHS[-1])
    return picks | {ROWS[-1]: choice.candidates.index(oracle)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="a text model (repeat for several)")
    parser.add_argument("--judge", required=True, help="a judge that has not read Persuasion (corpus 'austen')")
    parser.add_argument("--sentences", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--examples", type=int, default=6, help="sentences printed in full per model")
    parser.add_argument(
        "--fixed-only", action="store_true",
        help="fill every gap at 8 tokens only (the first row; one run a sentence, for a slow model)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    judge = load_judge(args.judge)
    if judge.metadata.get("training_config", {}).get("corpus", "austen") != "austen":
        raise SystemExit(f"{args.judge} has read Persuasion, where the gaps are cut: use a judge of corpus 'austen'")
    corpus = prepare_text()
    vocabulary = word_vocabulary((corpus / "train.txt").read_text(encoding="utf-8"))
    cases = cut_sentences(read_paragraphs(corpus / "val.txt"), args.sentences, args.seed)

    @torch.no_grad()
    def judge_nll(text: str) -> tuple[float, int]:
        ids = judge.tokenizer.encode(text)[: judge.seq_len]
        return float(judge.token_nll(torch.tensor(ids)[None]).double().sum()), len(ids)

    originals = [judge_nll("".join(case)) for case in cases]
    for path in args.model or ["assets/text_austen"]:
        model = load_model(path)
        tok = model.tokenizer
        shown_rows = ROWS[:1] if args.fixed_only else ROWS
        rows = {name: {"nll": 0.0, "tokens": 0, "slot": 0, "first": 0, "fills": []} for name in shown_rows}
        kept: list[int] = []  # the cases whose sentence fits the canvas with its longest gap
        began = time.perf_counter()
        with torch.no_grad():
            for index, (prefix, removed, suffix) in enumerate(tqdm(cases, desc=str(path))):
                text = f"{prefix}[___]{suffix}"

                def plan_for(lengths, text=text, tok=tok, seq_len=model.seq_len):
                    return plan_infill(text, tok, seq_len, lengths=lengths)

                if plan_for(None).notices:  # it does not fit: skipped
                    continue

                candidates = CANDIDATE_LENGTHS[-1:] if args.fixed_only else CANDIDATE_LENGTHS
                choice = choose_gap_lengths(
                    model, plan_for, 1, candidates=candidates, seed=args.seed + index, length_bonus=0.0
                )
                completed, fills, nlls = [], [], []
                for n, sample in zip(choice.candidates, choice.samples, strict=True):
                    gap = plan_for([n]).gaps[0]
                    end = gap.end + len(tok.encode(suffix))
                    fills.append(tok.decode(sample[gap.start : gap.end]))
                    completed.append(tok.decode(sample[:end]))
                    nlls.append(judge_nll(completed[-1]))
                picks = {ROWS[0]: choice.candidates.index(CANDIDATE_LENGTHS[-1])}
                if not args.fixed_only:
                    picks |= other_picks(choice, nlls, plan_for, tok, removed)
                kept.append(index)
                for name, c in picks.items():
                    row = rows[name]
                    row["nll"] += nlls[c][0]
                    row["tokens"] += nlls[c][1]
                    row["slot"] += 1 <= len(WORD.findall(fills[c])) <= 6
                    row["first"] += first_word(fills[c], prefix) in vocabulary
                    row["fills"].append(completed[c])
        seconds = time.perf_counter() - began
        if not kept:
            raise SystemExit(f"{path}: no sentence fits its {model.seq_len}-token canvas")
        count = len(kept)
        reference = math.exp(sum(originals[i][0] for i in kept) / sum(originals[i][1] for i in kept))
        print(f"\n{path}: {count} held-out Persuasion sentences, 1–{MAX_WORDS} words removed, written "
              f"`… [___] …` ({len(cases) - count} longer than the canvas skipped); exact chain, candidates "
              f"{candidates[0]}–{candidates[-1]} tokens; {seconds:.0f} s\n")  # fmt: skip
        print(
            "| gap length | judge perplexity of the sentence | vs the originals | fills of 1–6 words | first word real |"
        )
        print("|---|---|---|---|---|")
        for name, row in rows.items():
            perplexity = math.exp(row["nll"] / row["tokens"])
            print(f"| {name} | {perplexity:.1f} | {100 * (perplexity / reference - 1):+.0f}% | "
                  f"{100 * row['slot'] / count:.0f}% | {100 * row['first'] / count:.0f}% |")  # fmt: skip
        print(f"| the original sentences | {reference:.1f} | | | |\n")
        for i in range(min(args.examples, count)):
            app_row = next((name for name in rows if name.endswith(f"+ {LENGTH_BONUS:g} nats a token")), ROWS[0])
            print(f"- original: {''.join(cases[kept[i]])!r}\n  the app:  {rows[app_row]['fills'][i]!r}\n"
                  f"  fixed 8:  {rows[ROWS[0]]['fills'][i]!r}")  # fmt: skip


if __name__ == "__main__":
    main()

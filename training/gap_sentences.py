"""The flexible-gap benchmark's cases (training/benchmark_gaps.py, the text model's card): held-out sentences with a
span of plain words removed, and the first word of a fill."""

import random
import re

from training.documents import sentences
from training.word_metrics import WORD

MAX_WORDS = 4  # the longest span removed


def cut_sentences(paragraphs: list[str], count: int, seed: int) -> list[tuple[str, str, str]]:
    """``count`` (prefix, removed, suffix) triples: a held-out sentence of 8–40 words with 1–4 plain words
    removed; ``prefix`` ends with the space before them (or is empty), ``prefix + removed + suffix`` is the
    sentence."""
    pool = [s for p in paragraphs for s in sentences(p) if 8 <= len(s.split()) <= 40 and "\n" not in s]
    rng = random.Random(seed)
    out = []
    for sentence in rng.sample(pool, len(pool)):
        words = list(re.finditer(r"\S+", sentence))
        k = rng.randint(1, MAX_WORDS)
        i = rng.randrange(0, len(words) - k)
        span = words[i : i + k]
        if not all(WORD.fullmatch(w.group()) for w in span):
            continue
        out.append(
            (sentence[: span[0].start()], sentence[span[0].start() : span[-1].end()], sentence[span[-1].end() :])
        )
        if len(out) == count:
            break
    return out


def first_word(fill: str, before: str) -> str:
    """The fill's first word, extended left into ``before`` when the fill continues a word."""
    match = WORD.search(fill)
    if not match:
        return ""
    head = re.search(r"[A-Za-z]*$", before).group() if match.start() == 0 else ""
    return (head + match.group()).lower()

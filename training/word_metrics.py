"""Word-level checks of generated text against the training text.

Real-word rate: the judge's perplexity rewards plausible token sequences; a BPE model can still join
subwords into words no one wrote ("unchowled"). This counts them: words are maximal runs of ASCII letters,
compared in lower case, and the first and last word of each text are skipped because a window may cut them.

Copied n-grams: a low judge perplexity could also come from reciting the training text. The share of a
sample's word n-grams that occur in the training text measures that; held-out real text gives the level
that ordinary phrasing reaches.
"""

import re
from collections.abc import Iterable

WORD = re.compile(r"[A-Za-z]+")


def lower_words(text: str) -> list[str]:
    """The words of ``text`` in order, lower-cased."""
    return [word.lower() for word in WORD.findall(text)]


def word_vocabulary(text: str) -> set[str]:
    """The lower-cased words of ``text``."""
    return set(lower_words(text))


def real_word_rate(texts: Iterable[str], vocabulary: set[str]) -> float:
    """Fraction of the inner words of ``texts`` (all but each text's first and last) found in ``vocabulary``."""
    inner = [word for text in texts for word in lower_words(text)[1:-1]]
    if not inner:
        raise ValueError("no words to score: every text has fewer than three words")
    return sum(word in vocabulary for word in inner) / len(inner)


def word_ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    """The lower-cased word n-grams of ``text``."""
    words = lower_words(text)
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def copied_ngram_rate(texts: Iterable[str], reference: set[tuple[str, ...]], n: int) -> float:
    """Fraction of the word n-grams of ``texts`` found in ``reference``, counted with repeats over each
    text's inner words (the edge words, which a window may cut, are skipped as in :func:`real_word_rate`)."""
    found = total = 0
    for text in texts:
        words = lower_words(text)[1:-1]
        for i in range(len(words) - n + 1):
            total += 1
            found += tuple(words[i : i + n]) in reference
    if not total:
        raise ValueError(f"no word {n}-grams to score: every text has fewer than {n} inner words")
    return found / total

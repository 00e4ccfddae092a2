"""Real-word rate: the share of a sample's words that occur in the training text.

The judge's perplexity rewards plausible token sequences; a BPE model can still join subwords into words
no one wrote ("unchowled"). This metric counts them: words are maximal runs of ASCII letters, compared in
lower case, and the first and last word of each text are skipped because a window may cut them.
"""

import re
from collections.abc import Iterable

WORD = re.compile(r"[A-Za-z]+")


def word_vocabulary(text: str) -> set[str]:
    """The lower-cased words of ``text``."""
    return {word.lower() for word in WORD.findall(text)}


def real_word_rate(texts: Iterable[str], vocabulary: set[str]) -> float:
    """Fraction of the inner words of ``texts`` (all but each text's first and last) found in ``vocabulary``."""
    inner = [word.lower() for text in texts for word in WORD.findall(text)[1:-1]]
    if not inner:
        raise ValueError("no words to score: every text has fewer than three words")
    return sum(word in vocabulary for word in inner) / len(inner)

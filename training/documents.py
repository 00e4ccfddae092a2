"""Paragraph-aligned text windows: one paragraph or a few consecutive ones, then END, then PAD to the window.

A model trained on them knows where a text ends: a short input followed by END and PAD is a whole document, and
a sample from nothing is paragraphs that end. Every window starts where a paragraph or a sentence starts.
"""

import re

import torch

MAX_PARAGRAPHS = 4  # windows of 1, 2, 3 and 4 consecutive paragraphs, each where it fits
SENTENCE_BREAK = re.compile(r"(?<=[.?!])(?:[\"'_]+)?\s+")  # after . ? ! (and a closing quote), before the next
TITLES = ("Mr.", "Mrs.", "Dr.", "St.", "Col.", "Capt.")  # a full stop that ends no sentence


def sentences(paragraph: str) -> list[str]:
    """The paragraph cut after each sentence (the closing quote stays with its sentence, the space is dropped); not
    after a title (Mr.) nor before a lower-case word ("Oh!" said she)."""
    parts, start = [], 0
    for match in SENTENCE_BREAK.finditer(paragraph):
        end = match.start() + len(match.group().rstrip())
        if paragraph[start:end].endswith(TITLES) or paragraph[match.end() :][:1].islower():
            continue
        parts.append(paragraph[start:end])
        start = match.end()
    return [*parts, paragraph[start:]] if paragraph[start:] else parts


def long_paragraph_texts(paragraph: str, fits) -> list[str]:
    """A paragraph too long for a window: its first whole sentences that fit, and its last whole sentences that
    fit (each a text of its own); a first or last sentence too long alone is cut by the caller."""
    parts = sentences(paragraph)
    head = next((" ".join(parts[:n]) for n in range(len(parts), 0, -1) if fits(" ".join(parts[:n]))), parts[0])
    tail = next((" ".join(parts[n:]) for n in range(len(parts)) if fits(" ".join(parts[n:]))), parts[-1])
    return [head] if head == tail else [head, tail]


def document_windows(paragraphs: list[str], tokenizer, seq_len: int) -> torch.Tensor:
    """All windows (N, seq_len) of the paragraphs (in corpus order), in ``tokenizer``'s ids with END and PAD.

    From each paragraph start: paragraphs p … p+n-1 joined by newlines, then END, padded with PAD, for every
    n ≤ MAX_PARAGRAPHS whose text and END fit. A paragraph that does not fit alone gives its first and its last
    whole sentences that fit; a single sentence longer than the window gives its first seq_len tokens (no END).
    """
    encoded = [tokenizer.encode(p) for p in paragraphs]
    newline = tokenizer.encode("\n")

    def window(ids: list[int]) -> list[int]:
        if len(ids) >= seq_len:
            return ids[:seq_len]
        return ids + [tokenizer.end_id] + [tokenizer.pad_id] * (seq_len - len(ids) - 1)

    windows = []
    for p, first in enumerate(encoded):
        if len(first) >= seq_len:
            fits = lambda text: len(tokenizer.encode(text)) < seq_len  # noqa: E731
            windows += [window(tokenizer.encode(text)) for text in long_paragraph_texts(paragraphs[p], fits)]
            continue
        text = list(first)
        for n in range(1, MAX_PARAGRAPHS + 1):
            windows.append(window(text))
            if p + n >= len(encoded):
                break
            text = text + newline + encoded[p + n]
            if len(text) >= seq_len:
                break
    return torch.tensor(windows, dtype=torch.int32)

"""Text infilling on a model's fixed-length canvas: the gap syntax, the canvas plan, the seams, and the gap
lengths the model chooses.

Gap syntax: ``[___]`` (or a bare ``___``) is a *flexible* gap, "a few words, the model decides": its length is
chosen among ``CANDIDATE_LENGTHS`` by :func:`choose_gap_lengths`; ``[N]`` is exactly N tokens. Any other
bracketed text is kept as text, with a notice.

The tail: a model whose tokenizer has END and PAD (trained on whole documents, training/documents.py) reads the
visitor's text as a whole document: the positions after it are clamped to END, PAD … PAD, so nothing is written
after it, unless ``write_on`` (then they are free and the model writes on, and may end the text itself). A text
without any gap is always written on. A model without END writes every position after the text.

The seams, each a restriction of the tokens a gap position may take (``allowed_tokens``; an approximation, like
clamping):

- a space typed before a gap moves into the gap: the byte-level BPE spells a word with its leading space
  (" want"), so "a [___]" encoded with its space would end in a lone " " token the model almost never saw before
  a word; the gap's first token is held to tokens that start with a space instead;
- a gap at the start of the text or of a line, after an opening quote or after a sentence's end, starts like a
  sentence: with a capital letter;
- a gap inside a word ("hap[___]ness") holds letters only, so it completes that word; a gap right after a
  letter continues that word.

Every gap position excludes END and PAD: a gap holds text.
"""

import math
import re
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import torch

from ggm_core.events import run_to_end

DEFAULT_GAP = 8  # a flexible gap's longest candidate, and its length when no choice is made
CANDIDATE_LENGTHS = tuple(range(1, DEFAULT_GAP + 1))
SCORE_BEFORE, SCORE_AFTER = 2, 4  # known tokens on either side of a gap that its score reads
LENGTH_BONUS = 2.0  # nats added to a gap's score per token of it (docs/benchmarks.md, "Flexible gaps")
_GAP = re.compile(r"\[([^\[\]\n]*)\]|(?<![\w\[])_{3,}(?![\w\]])")
_SENTENCE_END = re.compile(r"[.?!][\"'”’_)]*\s*$")
OPENING_QUOTES = "\"'“‘"


@dataclass(frozen=True)
class Segment:
    """Known text, or a gap of ``length`` tokens (``flexible``: the model may choose another length)."""

    text: str = ""
    length: int = 0
    flexible: bool = False

    @property
    def is_gap(self) -> bool:
        return self.length > 0


@dataclass
class Gap:
    """Where a gap lies on the canvas, [start, end), and how its tokens are held (the seams)."""

    start: int
    end: int
    flexible: bool
    space_first: bool = False  # its first token starts with the space typed before it
    bare_first: bool = False  # its first token starts without a space (at a text's or line's start, after a quote)
    sentence_first: bool = False  # its first token starts a sentence (a capital letter)
    word_first: bool = False  # its first token continues the word before it (letters, no space)
    letters_only: bool = False  # every token letters only: it completes the word around it


@dataclass
class TextPlan:
    """The canvas to sample: ``tokens`` (placeholders at free positions) and the ``known`` mask, both length L."""

    tokens: list[int]
    known: list[bool]
    gaps: list[Gap] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # worth a pop-up: something was changed or ignored
    remarks: list[str] = field(default_factory=list)  # for the status line only
    error: str | None = None  # set when there is nothing to run
    writes_on: bool = False  # the positions after the text are free (the model writes on)

    @property
    def n_free(self) -> int:
        return len(self.known) - sum(self.known)

    @property
    def flexible(self) -> list[Gap]:
        return [g for g in self.gaps if g.flexible]

    @property
    def space_first(self) -> list[int]:
        return [g.start for g in self.gaps if g.space_first]


def parse_gaps(
    text: str, default_gap: int = DEFAULT_GAP, max_gap: int | None = None
) -> tuple[list[Segment], list[str]]:
    """Split ``text`` into known-text and gap segments; return (segments, notices about wrong syntax).

    ``[___]`` and a bare ``___`` → a flexible gap of ``default_gap`` tokens; ``[N]`` → N tokens (clamped to
    ``max_gap``); ``[0]`` is dropped; any other ``[...]`` and unmatched brackets stay as text.
    """
    segments: list[Segment] = []
    notices: list[str] = []
    pos = 0

    def add_text(s: str) -> None:
        if not s:
            return
        if segments and not segments[-1].is_gap:
            segments[-1] = Segment(text=segments[-1].text + s)
        else:
            segments.append(Segment(text=s))

    def note(msg: str) -> None:
        if msg not in notices:
            notices.append(msg)

    for match in _GAP.finditer(text):
        add_text(text[pos : match.start()])
        pos = match.end()
        body = match.group(1)
        if body is None:  # a bare ___
            segments.append(Segment(length=default_gap, flexible=True))
            continue
        body = body.strip()
        if body and set(body) == {"_"}:
            segments.append(Segment(length=default_gap, flexible=True))
        elif body.isascii() and body.isdigit():
            n = int(body)
            if n == 0:
                note("`[0]` is an empty gap: removed.")
                continue
            if max_gap is not None and n > max_gap:
                note(f"`[{n}]` is longer than the model's {max_gap} tokens: shortened to [{max_gap}].")
                n = max_gap
            segments.append(Segment(length=n))
        else:
            note(f"`[{match.group(1)}]` is not a gap (write `[___]` or a number like `[12]`): kept as text.")
            add_text(match.group(0))
    add_text(text[pos:])
    stray = "".join(c for s in segments if not s.is_gap for c in _GAP.sub("", s.text) if c in "[]")
    if stray:
        note("An unmatched `[` or `]` was kept as text (gaps are `[___]` or `[N]`, on one line).")
    return segments, notices


def _snippet(text: str, n: int = 40, tail: bool = False) -> str:
    text = text.replace("\n", " ")
    if len(text) <= n:
        return text
    return "…" + text[-n:] if tail else text[:n] + "…"


def _seam(before: str, after: str, healed: bool) -> dict:
    """How a gap between the texts ``before`` and ``after`` starts (``healed``: a space moved into it)."""
    inside_word = before[-1:].isalpha() and after[:1].isalpha()
    line_start = not before or before.endswith("\n")
    after_quote = before[-1:] != "" and before[-1] in OPENING_QUOTES and not before[-2:-1].isalnum()
    return {
        "space_first": healed,
        "bare_first": line_start or after_quote,
        "sentence_first": line_start or after_quote or bool(_SENTENCE_END.search(before)),
        "word_first": before[-1:].isalpha() and not inside_word,
        "letters_only": inside_word,
    }


def plan_infill(
    text: str,
    tokenizer,
    seq_len: int,
    default_gap: int = DEFAULT_GAP,
    heal_spaces: bool = True,
    write_on: bool = False,
    lengths: Sequence[int] | None = None,
) -> TextPlan:
    """Turn the user's text with gaps into a canvas of ``seq_len`` tokens.

    ``lengths`` gives the flexible gaps' lengths in order (default: ``default_gap`` each). Empty text means
    "generate from nothing". Text longer than the context is cut at ``seq_len`` tokens, with a notice quoting
    where. The positions after the text: END then PAD for a model with those tokens (unless ``write_on`` or
    the text has no gap), else free. With nothing free there is nothing to do (``error``). ``heal_spaces``
    moves a space that ends the text before free positions into them (the module docstring).
    """
    if not text or not text.strip():
        return TextPlan([0] * seq_len, [False] * seq_len, notices=["No text given: generating from nothing."])
    segments, notices = parse_gaps(text, default_gap, max_gap=seq_len)
    flexible_lengths = iter(lengths or [])
    documents = getattr(tokenizer, "has_document_tokens", False)
    write_on = write_on or not any(seg.is_gap for seg in segments) or not documents
    tokens: list[int] = []
    known: list[bool] = []
    gaps: list[Gap] = []
    healed_at: set[int] = set()  # segment indices whose trailing space moved into the next free position
    for index, seg in enumerate(segments):
        if seg.is_gap:
            length = next(flexible_lengths, seg.length) if seg.flexible else seg.length
            before = segments[index - 1].text if index else ""
            after = segments[index + 1].text if index + 1 < len(segments) else ""
            seam = _seam(before, after, index - 1 in healed_at)
            gaps.append(Gap(len(tokens), len(tokens) + length, seg.flexible, **seam))
            tokens += [0] * length
            known += [False] * length
            continue
        body = seg.text
        free_after = index + 1 < len(segments) or (write_on and len(tokenizer.encode(body)) + len(tokens) < seq_len)
        if heal_spaces and body.endswith(" ") and free_after:
            body = body[:-1]
            healed_at.add(index)
        ids = tokenizer.encode(body) if body else []
        tokens += ids
        known += [True] * len(ids)
    n_input = len(tokens)
    if n_input > seq_len:
        kept_ids = [t for t, k in zip(tokens[:seq_len], known[:seq_len], strict=True) if k]
        dropped_ids = [t for t, k in zip(tokens[seq_len:], known[seq_len:], strict=True) if k]
        kept, dropped = tokenizer.decode(kept_ids), tokenizer.decode(dropped_ids)
        msg = f"Your text with its gaps is {n_input} tokens; the model's context is {seq_len}. Kept the first {seq_len}"
        msg += f", ending “{_snippet(kept, tail=True)}”" if kept else ""
        msg += f"; dropped “{_snippet(dropped)}”." if dropped else "; dropped the end of a gap."
        notices.append(msg)
        tokens, known = tokens[:seq_len], known[:seq_len]
        gaps = [replace(g, end=min(g.end, seq_len)) for g in gaps if g.start < seq_len]
    remarks = []
    rest = seq_len - len(tokens)
    if rest and write_on:
        remarks.append(f"The model writes on after your text: the {rest} positions after it are generated too.")
        if segments and not segments[-1].is_gap and segments[-1].text.endswith(" ") and heal_spaces:
            gaps.append(Gap(len(tokens), seq_len, False, **_seam(segments[-1].text, "", True)))
        tokens += [0] * rest
        known += [False] * rest
    elif rest:
        tokens += [tokenizer.end_id] + [tokenizer.pad_id] * (rest - 1)
        known += [True] * rest
    plan = TextPlan(tokens, known, gaps, notices, remarks, writes_on=write_on and rest > 0)
    if all(known):
        had_gap = any(seg.is_gap for seg in segments)
        plan.error = (
            f"Nothing to fill: every gap lies beyond the model's {seq_len} tokens. Shorten the text before the gap."
            if had_gap
            else "Nothing to fill: mark a gap with `[___]` (the model chooses its length) or `[N]` (N tokens)."
        )
    return plan


_CLASSES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _token_classes(tokenizer) -> dict[str, torch.Tensor]:
    """Per token id, (V,) bool: starts with a space; starts a sentence (a capital letter, after a space or not);
    letters only; END or PAD."""
    if tokenizer in _CLASSES:
        return _CLASSES[tokenizer]
    pieces = tokenizer.token_bytes()
    bare = [p[1:] if p.startswith(b" ") else p for p in pieces]
    special = torch.zeros(len(pieces), dtype=torch.bool)
    special[[i for i in (getattr(tokenizer, "end_id", None), getattr(tokenizer, "pad_id", None)) if i is not None]] = (
        True
    )
    _CLASSES[tokenizer] = classes = {
        "spaced": torch.tensor([p.startswith(b" ") for p in pieces]),
        "opens": torch.tensor([p[:1].isupper() for p in bare]),
        "letters": torch.tensor([p.isalpha() for p in pieces]),
        "special": special,
    }
    return classes


def allowed_tokens(plan: TextPlan, tokenizer) -> torch.Tensor | None:
    """The (L, V) mask of the tokens each position may take (the seams in the module docstring); None when no
    position is restricted."""
    classes = _token_classes(tokenizer)
    allowed = torch.ones(len(plan.tokens), len(classes["spaced"]), dtype=torch.bool)
    for gap in plan.gaps:
        span, first = allowed[gap.start : gap.end], allowed[gap.start]
        if not (plan.writes_on and gap.end == len(plan.tokens)):  # a gap holds text: no END, no PAD
            span &= ~classes["special"]
        if gap.letters_only:
            span &= classes["letters"]
        if gap.space_first:
            first &= classes["spaced"]
        if gap.bare_first or gap.word_first or gap.letters_only:
            first &= ~classes["spaced"]
        if gap.word_first:
            first &= classes["letters"]
        if gap.sentence_first:
            first &= classes["opens"]
        if not first.any():  # seams that contradict (a space typed where none can go): the space rule wins
            first |= classes["spaced"] & ~classes["special"]
    return None if allowed.all() else allowed


@dataclass
class GapChoice:
    """The lengths chosen for a plan's flexible gaps, every candidate's score (log-probability) per gap, and each
    candidate's sampled canvas."""

    lengths: list[int]
    candidates: tuple[int, ...]
    scores: list[list[float]]  # scores[gap][candidate]
    samples: list[torch.Tensor]  # samples[candidate]: (L,)
    network_calls: int  # of every candidate run and the scoring call
    seconds: float


def gap_window(plan: TextPlan, gap: Gap, pad_id: int | None) -> list[int]:
    """The positions a gap's score reads: the gap, ``SCORE_BEFORE`` known tokens before it and ``SCORE_AFTER``
    after it (END included, PAD not)."""
    start, end = max(0, gap.start - SCORE_BEFORE), min(len(plan.tokens), gap.end + SCORE_AFTER)
    return [p for p in range(start, end) if plan.tokens[p] != pad_id]


def choose_gap_lengths(
    model,
    plan_for: Callable[[list[int]], TextPlan],
    n_flexible: int,
    candidates: Sequence[int] = CANDIDATE_LENGTHS,
    length_bonus: float = LENGTH_BONUS,
    **sample_kwargs,
) -> GapChoice:
    """Sample the plan with every flexible gap at each candidate length (one run each, the same seed), score each
    gap by the model's pseudo-log-likelihood of its window (:func:`gap_window`) under its full conditionals
    log P(x^i | x^{-i}) (``model.conditional_log_probs``, one network call for all candidates) plus
    ``length_bonus`` nats per token of the gap, and keep each gap's best length. An approximation: the length is a choice by score, not a draw from the data's law. A run
    at the chosen lengths with the same seed and settings replays the winning candidate (with one flexible gap,
    or when every gap chose the same length)."""
    tokenizer = model.tokenizer
    finals, plans, calls, began = [], [], 1, time.perf_counter()
    for n in candidates:
        plan = plan_for([n] * n_flexible)
        event = run_to_end(
            model.sample(
                known_tokens=torch.tensor(plan.tokens),
                known=torch.tensor(plan.known),
                allowed=allowed_tokens(plan, tokenizer),
                **sample_kwargs,
            )
        )
        plan.tokens = event.tokens[0].tolist()  # the fill, so a window skips the PAD it drew (writing on)
        calls += event.nfe
        finals.append(event.tokens[0])
        plans.append(plan)
    pad_id = getattr(tokenizer, "pad_id", None)
    windows = [gap_window(plan, gap, pad_id) for plan in plans for gap in plan.flexible]
    log_probs = model.conditional_log_probs(torch.stack(finals), sorted({p for w in windows for p in w}))
    scores = [  # a gap that a candidate pushed past the canvas's end scores -inf there
        [
            float(log_probs[c, gap_window(plan, plan.flexible[g], pad_id)].sum())
            if g < len(plan.flexible)
            else -math.inf
            for c, plan in enumerate(plans)
        ]
        for g in range(n_flexible)
    ]
    chosen = [  # the bonus counts for the choice only: ``scores`` stay the pseudo-log-likelihoods
        max(range(len(candidates)), key=lambda c, row=row: row[c] + length_bonus * candidates[c]) for row in scores
    ]
    seconds = time.perf_counter() - began
    return GapChoice([candidates[c] for c in chosen], tuple(candidates), scores, finals, calls, seconds)

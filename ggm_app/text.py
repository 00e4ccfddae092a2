"""Text tab logic: the gap syntax, infill plans on the model's fixed-length canvas, coloured frames, HTML export.

Gap syntax: ``[___]`` (any number of underscores) is a gap of the default length, ``[N]`` a gap of N tokens.
Any other bracketed text is kept as text, with a notice. The model always writes ``seq_len`` tokens: positions
after the input are generated too (the model continues the text). Known tokens are clamped by the sampler.

The seam before a gap: the byte-level BPE writes a space as the start of the next word (" want"), so text
typed "a [___]" would end in a lone " " token, which the model almost never saw before a word, and the gap
would open with a word fragment. So a space that ends the text before a gap (or before the continuation) is
moved into the gap: the text is encoded without it, and the gap's first token is held to tokens that start
with a space. The user's text comes back unchanged.
"""

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ggm_app.common import STATE_COLORS, STATE_LABELS, export_dir
from ggm_app.session import RunPlan, Trajectory

DEFAULT_GAP = 8
MASK_PIECE = "▒"  # a masked token (MD4)
NEWLINE = "↵"  # line breaks in the token view (a token display cannot break a line)
EXAMPLES = [  # the page's example texts
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a [___].",
    "Emma Woodhouse, handsome, clever, and rich, [12] and had lived nearly twenty-one years in the world.",
    "“My dear Mr. Bennet,” said his lady to him one day, “[___]” Mr. Bennet replied that he had not.",
]
_BRACKETED = re.compile(r"\[([^\[\]\n]*)\]")
_MAX_NOTICES = 4


@dataclass(frozen=True)
class Segment:
    """Known text, or a gap of ``length`` tokens."""

    text: str = ""
    length: int = 0

    @property
    def is_gap(self) -> bool:
        return self.length > 0


@dataclass
class TextPlan:
    """The canvas to sample: ``tokens`` (placeholders at free positions) and the ``known`` mask, both length L."""

    tokens: list[int]
    known: list[bool]
    notices: list[str] = field(default_factory=list)  # worth a pop-up: something was changed or ignored
    remarks: list[str] = field(default_factory=list)  # for the status line only
    error: str | None = None  # set when there is nothing to run
    space_first: list[int] = field(default_factory=list)  # free positions whose token must start with a space

    @property
    def n_free(self) -> int:
        return len(self.known) - sum(self.known)


def parse_gaps(
    text: str, default_gap: int = DEFAULT_GAP, max_gap: int | None = None
) -> tuple[list[Segment], list[str]]:
    """Split ``text`` into known-text and gap segments; return (segments, notices about wrong syntax).

    ``[___]`` → a gap of ``default_gap`` tokens; ``[N]`` → N tokens (clamped to ``max_gap``); ``[0]`` is
    dropped; any other ``[...]`` and unmatched brackets stay as text.
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

    for match in _BRACKETED.finditer(text):
        add_text(text[pos : match.start()])
        pos = match.end()
        body = match.group(1).strip()
        if body and set(body) == {"_"}:
            segments.append(Segment(length=default_gap))
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
    stray = "".join(c for s in segments if not s.is_gap for c in _BRACKETED.sub("", s.text) if c in "[]")
    if stray:
        note("An unmatched `[` or `]` was kept as text (gaps are `[___]` or `[N]`, on one line).")
    return segments, notices


def _snippet(text: str, n: int = 40, tail: bool = False) -> str:
    text = text.replace("\n", " ")
    if len(text) <= n:
        return text
    return "…" + text[-n:] if tail else text[:n] + "…"


def plan_infill(
    text: str, tokenizer, seq_len: int, default_gap: int = DEFAULT_GAP, heal_spaces: bool = True
) -> TextPlan:
    """Turn the user's text with gaps into a canvas of ``seq_len`` tokens.

    Empty (or whitespace-only) text means "generate from nothing" (with a notice). Text longer than the
    context is cut at ``seq_len`` tokens, with a notice quoting where. With no gap and room left, the model
    continues the text; with no gap and no room there is nothing to do (``error``). ``heal_spaces`` moves a
    space that ends the text before free positions into them (the module docstring).
    """
    if not text or not text.strip():
        return TextPlan([0] * seq_len, [False] * seq_len, ["No text given: generating from nothing."])
    segments, notices = parse_gaps(text, default_gap, max_gap=seq_len)
    tokens: list[int] = []
    known: list[bool] = []
    space_first: list[int] = []
    for index, seg in enumerate(segments):
        if seg.is_gap:
            tokens += [0] * seg.length
            known += [False] * seg.length
            continue
        body = seg.text
        free_after = index + 1 < len(segments) or len(tokenizer.encode(body)) + len(tokens) < seq_len
        if heal_spaces and body.endswith(" ") and free_after:
            body = body[:-1]
            space_first.append(len(tokens) + len(tokenizer.encode(body)) if body else len(tokens))
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
    has_gap = not all(known)
    if len(tokens) < seq_len:
        remarks = [
            f"The model always writes {seq_len} tokens: the {seq_len - len(tokens)} after your text are generated too."
        ]
        tokens += [0] * (seq_len - len(tokens))
        known += [False] * (seq_len - len(known))
    else:
        remarks = []
    plan = TextPlan(tokens, known, notices, remarks, space_first=[p for p in space_first if p < seq_len])
    if not has_gap and all(known):
        had_gap = any(seg.is_gap for seg in segments)
        plan.error = (
            f"Nothing to fill: every gap lies beyond the model's {seq_len} tokens. Shorten the text before the gap."
            if had_gap
            else "Nothing to fill: mark a gap with `[___]` (default length) or `[N]` (N tokens)."
        )
    return plan


def runs(keys) -> list[tuple[int, int, object]]:
    """Maximal runs (start, end, key) of equal keys (e.g. known-ness)."""
    keys = list(keys)
    out, start = [], 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            out.append((start, i, keys[start]))
            start = i
    return out


def token_pieces(tokenizer, tokens, known) -> list[str]:
    """The text of each token, decoded run by run so known text is always shown exactly as typed.

    (Decoding the whole canvas at once could glue a generated half-character onto the first known one.)
    A masked token (MD4's id ``V``, outside the tokenizer) is shown as ``MASK_PIECE``.
    """
    tokens = [int(t) for t in tokens]
    masked = [t >= tokenizer.vocab_size for t in tokens]
    pieces: list[str] = []
    for a, b, (_, is_mask) in runs(list(zip(map(bool, known), masked, strict=True))):
        pieces += [MASK_PIECE] * (b - a) if is_mask else tokenizer.pieces(tokens[a:b])
    return pieces


def frame_text(tokenizer, tokens, states, known, newline: str = "\n") -> list[tuple[str, str]]:
    """``[(token text, state label)]`` for ``gr.HighlightedText``; empty pieces (half characters) are skipped.

    ``newline`` replaces line breaks (the app shows "↵", as a token display cannot break a line).
    """
    pieces = token_pieces(tokenizer, tokens, known)
    return [(p.replace("\n", newline), STATE_LABELS[int(s)]) for p, s in zip(pieces, states, strict=True) if p]


def known_texts(tokenizer, tokens, known) -> list[str]:
    """The text of each known run, in order (what infilling must leave intact)."""
    tokens = [int(t) for t in tokens]
    return [tokenizer.decode(tokens[a:b]) for a, b, k in runs(known) if k]


def _merged(frame: list[tuple[str, str]]) -> list[list]:
    out: list[list] = []
    for text, label in frame:
        s = STATE_LABELS.index(label)
        if out and out[-1][1] == s:
            out[-1][0] += text
        else:
            out.append([text, s])
    return out


def export_html(traj: Trajectory, tokenizer, path: Path, title: str, summary: str, max_frames: int = 400) -> Path:
    """A self-contained HTML page with every stored frame (up to ``max_frames``), a scrub slider and a legend."""
    known = traj.extra["known"]
    idx = traj.subsample(max_frames)
    frames = [_merged(frame_text(tokenizer, traj.tokens[i], traj.states[i], known)) for i in idx]
    info = [f"frame {i} of {len(traj) - 1} · {traj.nfe[i]} network calls" for i in idx]
    data = json.dumps({"frames": frames, "info": info}, ensure_ascii=False).replace("</", "<\\/")
    css = "".join(f".s{i}{{background:{c}80}}" for i, c in enumerate(STATE_COLORS))  # 50 % like the app
    legend = " ".join(f'<span class="s{i}">{html.escape(label)}</span>' for i, label in enumerate(STATE_LABELS))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body{{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111}}
#text{{white-space:pre-wrap;font-family:ui-monospace,monospace;border:1px solid #ccc;padding:1rem;border-radius:6px}}
#text span,.legend span{{border-radius:3px;padding:0 1px}}.legend span{{padding:2px 6px;margin-right:4px}}
input[type=range]{{width:100%}}{css}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(summary)}</p>
<p class="legend">{legend}</p>
<p><button id="play">▶ play</button> <span id="info"></span></p>
<input id="slider" type="range" min="0" max="{len(idx) - 1}" value="{len(idx) - 1}">
<div id="text"></div>
<p><small>Glauber Generative Model (arXiv 2405.17035), this project's implementation. Noise: not yet
redrawn in the final sweep; just changed: redrawn since the previous frame; settled: redrawn in the final
sweep; known: clamped input.</small></p>
<script>
const D = {data};
const box = document.getElementById("text"), slider = document.getElementById("slider"),
      info = document.getElementById("info"), play = document.getElementById("play");
function show(i) {{
  box.replaceChildren(...D.frames[i].map(([t, s]) => {{
    const e = document.createElement("span"); e.className = "s" + s; e.textContent = t; return e; }}));
  info.textContent = D.info[i];
}}
slider.addEventListener("input", () => show(+slider.value));
let timer = null;
play.addEventListener("click", () => {{
  if (timer) {{ clearInterval(timer); timer = null; play.textContent = "▶ play"; return; }}
  if (+slider.value >= D.frames.length - 1) slider.value = 0;
  play.textContent = "❚❚ pause";
  timer = setInterval(() => {{
    if (+slider.value >= D.frames.length - 1) {{ clearInterval(timer); timer = null; play.textContent = "▶ play"; return; }}
    slider.value = +slider.value + 1; show(+slider.value);
  }}, 80);
}});
show(D.frames.length - 1);
</script></body></html>
"""
    path = Path(path)
    path.write_text(page, encoding="utf-8")
    return path


def belief_text(tokenizer, tokens, belief, known, newline: str = NEWLINE) -> list[tuple[str, float | None]]:
    """``[(token text, shade)]`` for ``gr.HighlightedText``'s −1…+1 shading: 2D − 1, with D the model's
    probability that the token is signal (−1 = surely noise, +1 = surely signal); known tokens unshaded."""
    pieces = token_pieces(tokenizer, tokens, known)
    return [
        (p.replace("\n", newline), None if k else round(2 * float(b) - 1, 3))
        for p, b, k in zip(pieces, belief, known, strict=True)
        if p
    ]


class TextView:
    """How the text tab shows a run: coloured token frames, the belief shading, the HTML export."""

    title = "GGM text trajectory"
    belief_legend = (
        "red = signal (D = 1), white = undecided (D = ½), purple = noise (D = 0), D = σ(h[x] + log κ/(1−κ))."
    )

    def frame(self, model, tokens, states, extra: dict):
        return frame_text(model.tokenizer, tokens, states, extra["known"], NEWLINE)

    def belief(self, model, tokens, belief, extra: dict):
        return belief_text(model.tokenizer, tokens, belief.numpy(), extra["known"])

    def export(self, traj: Trajectory, model, summary: str) -> Path:
        return export_html(traj, model.tokenizer, export_dir() / "ggm_text_trajectory.html", self.title, summary)


def noise_input(text: str, tokenizer, seq_len: int) -> tuple[torch.Tensor | None, list[str]]:
    """The user's text (gap markup dropped) as ``seq_len`` tokens for the forward process: cut, or repeated
    to fill the window. Returns (tokens or None when there is no text, notices)."""
    segments, notices = parse_gaps(text if isinstance(text, str) else "")
    plain_text = "".join(seg.text for seg in segments if not seg.is_gap)
    ids = tokenizer.encode(plain_text) if plain_text.strip() else []
    if not ids:
        return None, notices
    if any(seg.is_gap for seg in segments):
        notices.append("“Noise it” dissolves your text itself: the gaps were left out.")
    if len(ids) < seq_len:
        notices.append(f"Your text is {len(ids)} tokens; it was repeated to fill the model's {seq_len}.")
        ids = (ids * (seq_len // len(ids) + 1))[:seq_len]
    elif len(ids) > seq_len:
        notices.append(f"Your text is {len(ids)} tokens; the first {seq_len} are noised.")
        ids = ids[:seq_len]
    return torch.tensor(ids), notices


def plan_run(mode: str, inputs: list, model) -> RunPlan:
    """The text tab's inputs (text, gap length) for ``model``: what is known, or why nothing can run."""
    text, gap = inputs
    tok, L = model.tokenizer, model.seq_len
    if mode == "generate":
        return RunPlan()
    if mode == "noise":
        x0, notices = noise_input(text, tok, L)
        if x0 is None:
            return RunPlan(error="Type some text first: “Noise it” dissolves your text, then brings a sample back.")
        return RunPlan(noise_from=x0, notices=notices)
    junk = []
    try:
        gap = int(float(gap))
    except (TypeError, ValueError, OverflowError):
        junk, gap = [f"Gap length {str(gap)[:40]!r} is not a number; used {DEFAULT_GAP}."], DEFAULT_GAP
    plan = plan_infill(text if isinstance(text, str) else "", tok, L, max(1, min(L, gap)))
    plan.notices[:0] = junk
    if plan.error:
        return RunPlan(error=plan.error, notices=plan.notices)
    known = np.array(plan.known, dtype=bool)
    return RunPlan(
        known, torch.tensor(plan.tokens), notices=plan.notices, notes=plan.remarks, allowed=allowed_tokens(plan, tok)
    )


def allowed_tokens(plan: TextPlan, tokenizer) -> torch.Tensor | None:
    """The (L, V) mask of the tokens each position may take: a space-first gap position only word-starting
    tokens; None when no position is restricted."""
    if not plan.space_first:
        return None
    allowed = torch.ones(len(plan.tokens), tokenizer.vocab_size, dtype=torch.bool)
    allowed[plan.space_first] = torch.tensor(tokenizer.starting_with(b" "))
    return allowed

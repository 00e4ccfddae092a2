"""Text tab logic: coloured frames, the belief shading, the HTML export, and the run plan of the tab's inputs.

The gap syntax, the canvas plan, the seams and the gap lengths the model chooses are the library's
(ggm_core.text_infill); this module shows them.
"""

import html
import json
from pathlib import Path

import numpy as np
import torch

from ggm_app import batcher, device
from ggm_app.common import STATE_COLORS, STATE_LABELS, export_dir
from ggm_app.session import RunPlan, Trajectory
from ggm_core.text_infill import CANDIDATE_LENGTHS, LENGTH_BONUS, allowed_tokens, parse_gaps, plan_infill

# The approximation a fill with seams makes (ggm_core.text_infill.allowed_tokens), as the readout names it
SEAM_RESTRICTION = "gap tokens held to their seams (a typed space, a capital, a word's letters, text not END)"
MASK_PIECE = "▒"  # a masked token (MD4)
END_PIECE = " ∎"  # the end of the text (a model trained on whole documents); PAD shows as nothing
NEWLINE = "↵"  # line breaks in the token view (a token display cannot break a line)
EXAMPLES = [  # the page's example texts
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a [___].",
    "Emma Woodhouse, handsome, clever, and rich, [12] and had lived nearly twenty-one years in the world.",
    "It was a [___] day. “[16]” said Mr. Bennet.",
]


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
    A masked token (MD4's id ``V``, outside the tokenizer) is shown as ``MASK_PIECE``, END as ``END_PIECE``; a byte
    that is not part of a whole character (noise often holds one) as its value, ``\\xe2``, not as "�".
    """
    tokens = [int(t) for t in tokens]
    masked = [t >= tokenizer.vocab_size for t in tokens]
    pieces: list[str] = []
    for a, b, (_, is_mask) in runs(list(zip(map(bool, known), masked, strict=True))):
        pieces += [MASK_PIECE] * (b - a) if is_mask else tokenizer.pieces(tokens[a:b], errors="backslashreplace")
    end = getattr(tokenizer, "end_id", None)
    return [END_PIECE if t == end else p for t, p in zip(tokens, pieces, strict=True)]


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
    """The user's text (gap markup dropped) as ``seq_len`` tokens for the forward process: cut; or, when shorter,
    ended with END and PAD (a model trained on whole documents) or else repeated to fill the window. Returns
    (tokens or None when there is no text, notices)."""
    segments, notices = parse_gaps(text if isinstance(text, str) else "")
    plain_text = "".join(seg.text for seg in segments if not seg.is_gap)
    ids = tokenizer.encode(plain_text) if plain_text.strip() else []
    if not ids:
        return None, notices
    if any(seg.is_gap for seg in segments):
        notices.append("“Noise it” dissolves your text itself: the gaps were left out.")
    if len(ids) < seq_len and getattr(tokenizer, "has_document_tokens", False):
        ids = ids + [tokenizer.end_id] + [tokenizer.pad_id] * (seq_len - len(ids) - 1)
    elif len(ids) < seq_len:
        notices.append(f"Your text is {len(ids)} tokens; it was repeated to fill the model's {seq_len}.")
        ids = (ids * (seq_len // len(ids) + 1))[:seq_len]
    elif len(ids) > seq_len:
        notices.append(f"Your text is {len(ids)} tokens; the first {seq_len} are noised.")
        ids = ids[:seq_len]
    return torch.tensor(ids), notices


def plan_run(mode: str, inputs: list, model, settings) -> RunPlan:
    """The text tab's inputs (text, write on) for ``model``: what is known, or why nothing can run. A flexible
    gap's length is chosen here, by ``model`` with the run's ``settings`` (ggm_core.text_infill), so the run
    that follows replays the winning candidate."""
    text, write_on = inputs
    text = text if isinstance(text, str) else ""
    tok, L = model.tokenizer, model.seq_len
    if mode == "generate":
        return RunPlan()
    if mode == "noise":
        x0, notices = noise_input(text, tok, L)
        if x0 is None:
            return RunPlan(error="Type some text first: “Noise it” dissolves your text, then brings a sample back.")
        return RunPlan(noise_from=x0, notices=notices)

    write_on = write_on is True

    def plan_for(lengths):
        return plan_infill(text, tok, L, write_on=write_on, lengths=lengths)

    plan = plan_for(None)
    if plan.error:
        return RunPlan(error=plan.error, notices=plan.notices)
    notes = list(plan.remarks)
    if plan.flexible:
        try:
            with batcher.shared.lane():
                choice = device.choose_lengths(device.key(model), text, write_on, settings.sample_kwargs())
        except NotImplementedError:
            notes.append(
                f"{model.label} cannot score a gap's length: each `[___]` is {plan.flexible[0].end - plan.flexible[0].start} tokens."
            )
        else:
            plan = plan_for(choice.lengths)
            chosen = ", ".join(str(n) for n in choice.lengths)
            notes.append(
                f"Gap length{'s' if len(choice.lengths) > 1 else ''} chosen by the model: {chosen} token"
                f"{'s' if choice.lengths != [1] else ''} (it filled each `[___]` at {CANDIDATE_LENGTHS[0]}–"
                f"{CANDIDATE_LENGTHS[-1]} tokens and kept the length its own conditionals score highest, "
                f"{LENGTH_BONUS:g} nats a token offsetting their taste for short fills: a choice, not a draw from "
                f"the data's law; {choice.network_calls} network calls, "
                f"{choice.seconds:.2f} s before the run)."
            )
    known = np.array(plan.known, dtype=bool)
    return RunPlan(
        known,
        torch.tensor(plan.tokens),
        notices=plan.notices,
        notes=notes,
        allowed=allowed_tokens(plan, tok),
        restriction=SEAM_RESTRICTION,
    )

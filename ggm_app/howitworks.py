"""The "How it works" panel: a few sentences and an inline SVG diagram (no image file, no outside request)."""

from html import escape

TEXT = """
**Forward chain (noising).** Take a clean sequence x₀ of L tokens. Visit the positions one at a time, in a
fixed order, for K sweeps (T = K·L steps). At step t the visited token is *kept* with probability κ_t, or
*replaced* by a fresh draw from a noise distribution μ. After the last sweep the sequence is (almost) pure μ
noise.

**Reverse chain (sampling).** Start from pure noise and run the steps backwards. At each step redraw the
visited token from softmax(h + log μ), where h are the network's scores for every candidate token given all
the *other* tokens and the step (a heat-bath, or Glauber, update). With the Bayes-optimal h this reverse chain
produces the data distribution exactly (up to the ε of signal the forward chain leaves at the end); one network
call per step, one token changed per step. Infilling clamps the known positions: for GGM that alone is an
*approximation* (the scores expect every other token to have been noised too, but a clamped token is clean at
every step; on 27-state spaces the error is 0.005–0.23 in total variation), while MD4's clamping is exact.

**A `[___]` gap's length** is the model's choice: it fills the gap at 1–8 tokens and keeps the length its own
full conditionals score highest, with a bonus per token that offsets their taste for short fills (an
approximation: a choice, not a draw from the data's law). A model trained on
whole documents ends your text with END and PAD, so nothing is written after it unless you ask it to write on.

**Refinement sweeps (exact in the limit).** A model trained with one more context, *everything else clean*,
learns the data's full conditionals P(token i | all the others). After the chain, R refinement sweeps redraw
every free position from them, your text held fixed: a Gibbs sampler whose stationary law is exactly the law of
the gaps given your text, so infilling becomes exact as R grows (on small spaces the total variation falls below
1e-3 by R = 8). Set R in Advanced (*Refinement sweeps*); without gaps they keep an exact sample exact.

**Signal-vs-noise classifier.** The network is trained as a binary classifier: *is this candidate token at
position i the kept token (signal), or a fresh draw from μ (noise)?* Its logit is h + log(κ_t/(1−κ_t)), and
at the optimum h = log P_t(a | rest) / μ(a), which is exactly what the heat-bath update needs.

**What the model believes.** Tick *Show what the model believes* and scrub: each token is shaded by the
classifier's probability D = σ(h[token] + log(κ/(1−κ))) that it is signal rather than noise, read with one
network call for the frame on screen (the whole canvas taken as the context of that frame's sweep). Early
frames are mostly noise; as the chain settles, belief rises. MD4 has no such classifier.

**Noise it.** Runs the forward chain on your own text or face (the literal simulator, no network), then the
reverse chain from where it ended: watch it dissolve, then come back as a new sample.

**Compare side by side.** Two models (faces: three), or one model at two budgets, on the same input and seed.
A budget is a number of network calls; GGM meets it with several positions per call, MD4 with a time grid.

<small>This is the project's derivation from the description in Varma, Nagaraj & Shanmugam,
*Glauber Generative Model* (arXiv 2405.17035); the paper's own derivation could not be consulted. The
library checks it exactly on a small space (the reverse chain reproduces the data law to 1e-12).
Settings other than the defaults (temperature, top-p, several positions per network call, another number of
sweeps) and GGM's clamping are approximations of this chain, refinement sweeps make clamping exact only in the
limit; the readout says which. The formulation is in
the repository's docs/math.md.</small>
"""

_TOKENS = [
    ["the", "cat", "sat", "on", "a", "mat"],
    ["the", "cat", "zq", "on", "a", "mat"],
    ["lo", "ry", "zq", "e", "a", "ks"],
    ["bu", "x", "ol", "e", "ip", "ks"],
]
_CAPTIONS = ["x₀ (data)", "step t: visit i", "", "x_T ≈ μ^L (noise)"]


def _row(x0: float, y: float, tokens: list[str], hot: int | None, noisy: set[int]) -> str:
    out = []
    for j, tok in enumerate(tokens):
        x = x0 + j * 34
        fill = "#E69F00" if j == hot else ("#D9D9D9" if j in noisy else "#56B4E9")
        out.append(
            f'<rect x="{x}" y="{y}" width="32" height="24" rx="4" fill="{fill}" stroke="#333" stroke-width="0.6"/>'
        )
        out.append(f'<text x="{x + 16}" y="{y + 16.5}" text-anchor="middle" font-size="11">{escape(tok)}</text>')
    return "".join(out)


def diagram_svg() -> str:
    """A small diagram of the forward and reverse chains and the classifier (inline SVG, Okabe-Ito colours)."""
    noisy = [set(), {2}, {0, 1, 2, 3, 5}, set(range(6))]
    hot = [None, 2, None, None]
    rows = []
    for k, tokens in enumerate(_TOKENS):
        x = 10 + k * 230
        rows.append(_row(x, 46, tokens, hot[k], noisy[k]))
        rows.append(f'<text x="{x + 102}" y="90" text-anchor="middle" font-size="12">{_CAPTIONS[k]}</text>')
    arrows = []
    for k in range(3):
        xa = 10 + k * 230 + 206
        arrows.append(
            f'<line x1="{xa}" y1="40" x2="{xa + 22}" y2="40" stroke="#D55E00" stroke-width="2" marker-end="url(#fw)"/>'
        )
        arrows.append(
            f'<line x1="{xa + 22}" y1="76" x2="{xa}" y2="76" stroke="#0072B2" stroke-width="2" marker-end="url(#bw)"/>'
        )
    return f"""<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 940 250" role="img"
 aria-label="Forward and reverse Glauber chains and the signal-vs-noise classifier"
 style="width:100%;max-width:940px;height:auto;font-family:system-ui,sans-serif;color:#111;background:#fff">
<defs>
<marker id="fw" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto">
<path d="M0,0L10,5L0,10z" fill="#D55E00"/></marker>
<marker id="bw" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto">
<path d="M0,0L10,5L0,10z" fill="#0072B2"/></marker>
</defs>
<text x="10" y="18" font-size="13" fill="#D55E00" font-weight="600">forward (noising): visit one position per step;
keep its token w.p. κ_t, else draw a fresh one from μ</text>
<text x="10" y="116" font-size="13" fill="#0072B2" font-weight="600">reverse (sampling): visit the same positions
backwards; redraw the token from softmax(h + log μ)</text>
{"".join(rows)}{"".join(arrows)}
<rect x="10" y="136" width="920" height="104" rx="8" fill="#F4F4F4" stroke="#999"/>
<text x="24" y="160" font-size="13" font-weight="600">the network: a signal-vs-noise classifier</text>
<text x="24" y="182" font-size="12">input: every token except position i, and the step t  →  a score h(a) for
every candidate token a at position i</text>
<text x="24" y="202" font-size="12">trained to tell: is a the kept token (signal) or a fresh draw from μ (noise)?
logit = h(a) + log(κ_t / (1 − κ_t))</text>
<text x="24" y="222" font-size="12">at the optimum h(a) = log P_t(a | rest) / μ(a), so softmax(h + log μ) is the exact
reverse-step conditional</text>
</svg>"""


def panel_html() -> str:
    return f'<div class="ggm-diagram">{diagram_svg()}</div>'

"""Two-sided denoiser (docs/math.md, "An exact two-sided denoiser"): every position in one pass.

With the left-to-right reverse order, the context of position i at its visit in sweep k is
``B_{<i}`` (state after k forward sweeps) and ``A_{>i}`` (after k+1). Three streams over packed
tokens share the transformer's weights, told apart by a stream embedding:

- B stream (causal over B), A stream (anti-causal over A),
- query stream: query i attends to B-stream states at j < i, A-stream states at j > i, and itself.

No path carries ``B_i`` or ``A_i`` (or ``A_{<i}``, ``B_{>i}``) to query i, so one pass supervises all L
positions exactly. Sampling encodes the A stream once per sweep and decodes the B stream left to
right with a key/value cache, one query per position.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ggm_core.ggm.clean_context import CLEAN_SWEEP
from ggm_core.ggm.denoisers.base import Denoiser, SweepSession
from ggm_core.ggm.denoisers.decode_step import CompiledDecode, DecodeStep
from ggm_core.ggm.forward import sample_sweep_pair
from ggm_core.ggm.objective import TrainingDraw
from ggm_core.ggm.schedule import GlauberSchedule
from ggm_core.transformer import Block, OutputHead, TimeEmbedding, TransformerConfig

B_STREAM, A_STREAM, Q_STREAM = 0, 1, 2


def two_sided_mask(seq_len: int) -> torch.Tensor:
    """Boolean (3L, 3L) attention mask over packed [B stream, A stream, query stream]; True = attend."""
    i = torch.arange(seq_len)
    below = i[None, :] < i[:, None]  # key j < query i
    eye = torch.eye(seq_len, dtype=torch.bool)
    none = torch.zeros(seq_len, seq_len, dtype=torch.bool)
    rows_b = torch.cat([below | eye, none, none], dim=1)
    rows_a = torch.cat([none, below.T | eye, none], dim=1)
    rows_q = torch.cat([below, below.T, eye], dim=1)
    return torch.cat([rows_b, rows_a, rows_q], dim=0)


class TwoSidedDenoiser(Denoiser):
    kind = "two_sided"
    calls_per_sweep = 1  # the A stream, encoded once per sweep

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__(config)
        d = self.add_input_embeddings(config)
        self.stream_embedding = nn.Parameter(torch.randn(3, d) * 0.02)
        self.time_embedding = TimeEmbedding(d)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.head = OutputHead(config)
        self.register_buffer("mask", two_sided_mask(config.seq_len), persistent=False)
        self.use_cache = True  # False: an uncached reference session, one full pass per prediction
        self.decoder = CompiledDecode(DecodeStep(self.blocks, self.head), self.token_embedding)  # no copied weights
        self._modulations: dict = {}  # sweep_modulations' cache

    def embed(self, tokens: torch.Tensor | None, positions: torch.Tensor, stream: int) -> torch.Tensor:
        """Input states of stream tokens at ``positions`` (N, n); ``tokens=None`` for queries."""
        content = self.query_embedding if tokens is None else self.token_embedding(tokens)
        return content + self.position_embedding[positions] + self.stream_embedding[stream]

    def conditioning(self, sweep: torch.Tensor, schedule: GlauberSchedule, seq_len: int):
        """Per-token conditioning for sequences in sweeps ``sweep`` (N,): a function ``block ->
        modulations`` (N, 3L, 6d) and the queries' head conditioning (N, L, d). The times depend on the
        sweep alone, so both are computed once per distinct sweep and selected per sequence: a gather
        along the batch, whose backward adds whole (3L, 6d) rows, rather than one from a few distinct
        times, whose backward funnels every token's gradient into those few rows."""
        distinct, index = torch.unique(sweep, return_inverse=True)
        tau = torch.cat(self.stream_times(distinct, schedule, seq_len), dim=1).to(sweep.device)
        table = self.time_embedding(tau)
        return (lambda block: block.modulations(table)[index]), table[index, 2 * seq_len :]

    @staticmethod
    def stream_times(sweep: torch.Tensor, schedule: GlauberSchedule, seq_len: int):
        """Per-token times τ: B tokens k/K, A tokens (k+1)/K, query i (t_i + 1)/T with t_i = kL + rank(i);
        all 0 in the clean context (``CLEAN_SWEEP``: both streams clean, ggm_core.ggm.clean_context)."""
        k = sweep.to(torch.float64)[:, None].expand(-1, seq_len)
        steps = sweep[:, None] * seq_len + schedule.rank[None, :].to(sweep.device)
        times = k / schedule.sweeps, (k + 1) / schedule.sweeps, schedule.time(steps)
        clean = (sweep == CLEAN_SWEEP)[:, None]
        return tuple(torch.where(clean, torch.zeros_like(tau), tau) for tau in times)

    def forward(self, before: torch.Tensor, after: torch.Tensor, sweep: torch.Tensor, schedule: GlauberSchedule):
        """h at every position, (N, L, V), from B = ``before`` and A = ``after`` (N, L) in sweep ``sweep`` (N,)."""
        n, L = before.shape
        positions = torch.arange(L, device=before.device).expand(n, L)
        x = torch.cat(
            [
                self.embed(before, positions, B_STREAM),
                self.embed(after, positions, A_STREAM),
                self.embed(None, positions, Q_STREAM),
            ],
            dim=1,
        )
        modulations, query_cond = self.conditioning(sweep, schedule, L)
        for block in self.blocks:
            x = block(x, modulations(block), self.mask)
        return self.head(x[:, 2 * L :], query_cond)

    def training_draw(self, x0, schedule, noise, generator=None) -> TrainingDraw:
        """One sweep k per sequence and its pair of states (B, A): all L positions are supervised, each with
        target B_i and context B_{<i}, A_{>i}."""
        _require_left_to_right(schedule)
        sweep = torch.randint(schedule.sweeps, (x0.shape[0],), generator=generator)
        before, after, steps = sample_sweep_pair(x0, sweep, schedule, noise, generator)
        return TrainingDraw((before, after), sweep, schedule.kappa[steps.cpu()].to(x0.device))

    def training_h(self, draw: TrainingDraw, schedule):
        """h at every position (B, L, V) and the targets B; clean rows read the clean context (``CLEAN_SWEEP``)."""
        (before, after), sweep = draw.inputs, draw.step
        if draw.clean is not None:
            sweep = torch.where(draw.clean.cpu(), CLEAN_SWEEP, sweep)
        return self(before, after, sweep.to(before.device), schedule), before

    def predict_all(self, tokens, sweep, schedule):
        """Both streams set to ``tokens``: query i reads tokens_{<i} as B and tokens_{>i} as A."""
        _require_left_to_right(schedule)
        return self(tokens, tokens, torch.full((tokens.shape[0],), sweep, device=tokens.device), schedule)

    def begin_sweep(self, canvas, sweep, schedule):
        """A cached session (row by row when the compiled step serves batch 1 only, :class:`_RowwiseSession`), or
        the uncached reference."""
        _require_left_to_right(schedule)
        if not self.use_cache:
            return _ReferenceSession(self, canvas, sweep, schedule)
        n = canvas.shape[0]
        if n > 1 and self.decoder.ready(1) and not self.decoder.ready(n):
            return _RowwiseSession(self, canvas, sweep, schedule)
        return _CachedSession(self, canvas, sweep, schedule)

    def sweep_modulations(self, sweep: int, schedule: GlauberSchedule, device) -> tuple[torch.Tensor, ...]:
        """The time modulations of a cached sweep: per layer (1, 1, 6d) for A and for B tokens and (1, L, 6d) for
        the queries, and the head's (1, L, 2d). They depend on the sweep and the weights alone, so in eval mode
        they are kept until a conditioning weight changes (computing them is about a tenth of a sample)."""
        weights = [*self.time_embedding.parameters(), *self.head.modulation.parameters()]
        weights += [p for block in self.blocks for p in block.modulation.parameters()]
        key = (sweep, schedule, str(device), tuple((p.data_ptr(), p._version) for p in weights))
        if not self.training and key in self._modulations:
            return self._modulations[key]
        L = schedule.seq_len
        one = torch.full((1,), sweep, dtype=torch.long, device=device)
        tau_b, tau_a, tau_q = (t.to(device) for t in self.stream_times(one, schedule, L))
        cond_b, cond_a, cond_q = (self.time_embedding(t) for t in (tau_b[:, :1], tau_a[:, :1], tau_q))
        mods = tuple(torch.stack([block.modulations(c) for block in self.blocks]) for c in (cond_a, cond_b, cond_q))
        out = (*mods, self.head.modulations(cond_q))
        if not self.training and not torch.is_grad_enabled():
            self._modulations = {k: v for k, v in self._modulations.items() if k[3] == key[3]} | {key: out}
        return out

    @torch.no_grad()
    def warm_up(self, schedule: GlauberSchedule) -> str:
        """Compile the cached decode step for batch 1 (ggm_core.ggm.denoisers.decode_step) on a throw-away session;
        later sessions at batch 1 use it. When compilation is off or fails the eager step serves."""
        canvas = torch.zeros(1, self.config.seq_len, dtype=torch.long, device=self.mask.device)
        session = _CachedSession(self, canvas, 0, schedule)
        if self.decoder.compile(session.pair_inputs(1), 1):
            return f"decode step compiled in {self.decoder.seconds[1]:.1f} s"
        return f"eager decode step (compilation {self.decoder.error})"


def _require_left_to_right(schedule: GlauberSchedule) -> None:
    if not schedule.is_left_to_right:
        raise ValueError("the two-sided denoiser needs the default visiting order (reverse chain left to right)")


class _ReferenceSession(SweepSession):
    """Uncached: a full three-stream pass per prediction, the canvas as B and the sweep's start as A."""

    def __init__(self, model: TwoSidedDenoiser, canvas: torch.Tensor, sweep: int, schedule: GlauberSchedule) -> None:
        self.model, self.canvas, self.schedule = model, canvas, schedule
        self.after = canvas.clone()
        self.sweep = torch.full((canvas.shape[0],), sweep, dtype=torch.long, device=canvas.device)
        self.network_calls = 0

    def predict(self, positions):
        self.network_calls += 1
        h = self.model(self.canvas, self.after, self.sweep, self.schedule)
        return h[:, positions]


class _RowwiseSession(SweepSession):
    """A batch as one cached session per row (views of the canvas's rows), each on the compiled batch-1 step: every
    row runs the kernels of a run alone, so its sample is bit for bit the one its seed gives alone (a compiled step
    of another batch size rounds differently), while the rows still share the sampler's draws and events
    (ggm_app.batcher)."""

    def __init__(self, model: TwoSidedDenoiser, canvas: torch.Tensor, sweep: int, schedule: GlauberSchedule) -> None:
        self.rows = [_CachedSession(model, canvas[r : r + 1], sweep, schedule) for r in range(canvas.shape[0])]

    @property
    def network_calls(self) -> int:
        return self.rows[0].network_calls

    def predict(self, positions):
        return torch.cat([row.predict(positions) for row in self.rows])


class _CachedSession(SweepSession):
    """One A-stream pass at the start of the sweep, then a cached left-to-right decode of the B stream.

    Keys and values live in one buffer per layer with 2L slots. Slot j < L holds A_j until the B
    token at j is encoded, then B_j: a query at i reads B_{<i} and A_{>i} only, so A_j is no longer
    needed once B_j exists. The queries of a call use slots L, L+1, .... Each ``predict`` runs one
    small pass over the B tokens not yet encoded and the new queries; the time modulations of the
    sweep are computed once. With several queries in one call (an approximation), each sees the B
    stream only left of the first.
    """

    def __init__(self, model: TwoSidedDenoiser, canvas: torch.Tensor, sweep: int, schedule: GlauberSchedule) -> None:
        self.model, self.canvas, self.schedule = model, canvas, schedule
        n, L = canvas.shape
        device = canvas.device
        mods_a, self.mods_b, self.mods_q, self.head_mods = model.sweep_modulations(sweep, schedule, device)
        x = model.embed(canvas, torch.arange(L, device=device).expand(n, L), A_STREAM)
        anti_causal = model.mask[L : 2 * L, L : 2 * L]
        self.keys, self.values = [], []
        for block, block_mods in zip(model.blocks, mods_a, strict=True):  # the A stream: once per sweep
            q, k, v, mods = block.attention_inputs(x, block_mods)
            self.keys.append(torch.cat([k, torch.zeros_like(k)], dim=2))
            self.values.append(torch.cat([v, torch.zeros_like(v)], dim=2))
            x = block.attention_outputs(x, F.scaled_dot_product_attention(q, k, v, attn_mask=anti_causal), mods)
        self.slot = torch.arange(2 * L, device=device)
        self.queries = model.embed(None, self.slot[:L].expand(n, L), Q_STREAM)  # every query's input state
        self.pair_masks = self._pair_masks(L)
        self.pair_slots = torch.stack([self.slot[:L] - 1, torch.full_like(self.slot[:L], L)], dim=1)
        self.encoded = 0  # B tokens at positions < encoded are in the cache
        self.network_calls = 1

    def predict(self, positions):
        first = positions[0]
        if positions != sorted(set(positions)) or first < self.encoded:
            raise ValueError("the cached two-sided session predicts positions left to right")
        pending, n = first - self.encoded, self.canvas.shape[0]
        decoder = self.model.decoder
        if pending == 1 and len(positions) == 1 and decoder.ready(n):
            h = decoder(n, *self.pair_inputs(first))
        else:
            h = decoder.step(*self.step_inputs(positions, pending))
        self.encoded = first
        self.network_calls += 1
        return h

    def pair_inputs(self, first: int) -> tuple:
        """The compiled step's inputs (ggm_core.ggm.denoisers.decode_step.PairDecodeStep) for the B token at
        ``first`` − 1 and the query at ``first``: views of the sweep's tables, nothing computed."""
        b, q = slice(first - 1, first), slice(first, first + 1)
        model = self.model
        return (self.canvas[:, b], model.position_embedding[b], model.stream_embedding[B_STREAM], self.queries[:, q],
                self.mods_b, self.mods_q[:, :, q], self.head_mods[:, q], self.pair_masks[first],
                self.pair_slots[first], self.keys, self.values)  # fmt: skip

    def step_inputs(self, positions: list[int], pending: int) -> tuple:
        """The decode step's inputs (ggm_core.ggm.denoisers.decode_step.DecodeStep) for the ``pending`` B tokens
        left of ``positions[0]`` and queries at ``positions``."""
        model, (n, L) = self.model, self.canvas.shape
        first, cache = positions[0], (self.keys, self.values)
        if pending == 1 and len(positions) == 1:  # the common call: slices and tables
            b, q = slice(first - 1, first), slice(first, first + 1)
            x = torch.cat([model.embed(self.canvas[:, b], self.slot[b].expand(n, 1), B_STREAM), self.queries[:, q]], 1)
            mods = torch.cat([self.mods_b, self.mods_q[:, :, q]], dim=2)
            return x, mods, self.head_mods[:, q], self.pair_masks[first], self.pair_slots[first], *cache
        b_positions = self.slot[first - pending : first]
        queries = torch.tensor(positions, device=self.canvas.device)
        x = torch.cat(
            [model.embed(self.canvas[:, b_positions], b_positions.expand(n, -1), B_STREAM), self.queries[:, queries]],
            dim=1,
        )
        mods = torch.cat([self.mods_b.expand(-1, -1, pending, -1), self.mods_q[:, :, queries]], dim=2)
        slots = torch.cat([b_positions, self.slot[L : L + len(positions)]])
        mask = self._mask(b_positions, queries, first, L)
        return x, mods, self.head_mods[:, queries], mask, slots, *cache

    def _pair_masks(self, seq_len: int) -> torch.Tensor:
        """:meth:`_mask` for one pending B token at i − 1 and one query at i, for every i: (L, 2, L + 1)."""
        i, slot = self.slot[:seq_len, None], self.slot[None, : seq_len + 1]
        rows_b = slot <= i - 1
        rows_q = (slot < i) | ((slot > i) & (slot < seq_len)) | (slot == seq_len)
        return torch.stack([rows_b, rows_q], dim=1)

    def _mask(self, pending: torch.Tensor, queries: torch.Tensor, first: int, seq_len: int) -> torch.Tensor:
        """Rows: pending B tokens, then queries. Keys: slots 0..L-1 (B left of ``encoded``, A from
        there on; the pending B tokens are written first), then the queries themselves."""
        L, m = seq_len, len(queries)
        slot = self.slot[None, : L + m]
        rows_b = slot <= pending[:, None]
        a_right = (slot > queries[:, None]) & (slot < L)
        rows_q = (slot < first) | a_right | (slot == self.slot[L : L + m, None])
        return torch.cat([rows_b, rows_q], dim=0)

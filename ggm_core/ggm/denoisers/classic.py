"""Classic denoiser (the paper's setting): a time-conditioned bidirectional transformer over the
sequence with the visited position replaced by a query embedding; outputs h at that position only."""

import torch
from torch import nn

from ggm_core.ggm.clean_context import CLEAN_SWEEP
from ggm_core.ggm.denoisers.base import Denoiser, SweepSession
from ggm_core.ggm.forward import sample_xt
from ggm_core.ggm.objective import TrainingDraw
from ggm_core.ggm.schedule import GlauberSchedule
from ggm_core.transformer import Block, OutputHead, TimeEmbedding, TransformerConfig


class ClassicDenoiser(Denoiser):
    kind = "classic"

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__(config)
        d = self.add_input_embeddings(config)
        self.time_embedding = TimeEmbedding(d)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.head = OutputHead(config)

    def forward(self, tokens: torch.Tensor, query_positions: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        """h at ``query_positions`` (B, m), each hidden behind the query embedding; ``tau``: (B,) time.

        Returns (B, m, V). The head runs only at the query positions.
        """
        hidden = torch.zeros(tokens.shape, dtype=torch.bool, device=tokens.device)
        hidden.scatter_(1, query_positions, True)
        x = torch.where(hidden[..., None], self.query_embedding, self.token_embedding(tokens))
        x = x + self.position_embedding
        cond = self.time_embedding(tau)[:, None, :]
        for block in self.blocks:
            x = block(x, block.modulations(cond))
        at_queries = x.gather(1, query_positions[..., None].expand(-1, -1, x.shape[-1]))
        return self.head(at_queries, cond)

    def training_draw(self, x0, schedule, noise, generator=None) -> TrainingDraw:
        """One uniformly drawn step t per sequence, and x_t: the position visited at t is supervised."""
        t = torch.randint(schedule.num_steps, (x0.shape[0],), generator=generator)
        xt = sample_xt(x0, t, schedule, noise, generator)
        return TrainingDraw((xt,), t, schedule.kappa[t].to(x0.device))

    def training_h(self, draw: TrainingDraw, schedule):
        """h at the visited position of each sequence (B, V), read with τ of its step (0 in the clean context),
        and the token there."""
        (xt,), t = draw.inputs, draw.step
        position = schedule.visit_order[t % schedule.seq_len].to(xt.device)
        tau = schedule.time(t).float().to(xt.device)
        if draw.clean is not None:
            tau = torch.where(draw.clean, torch.zeros_like(tau), tau)
        return self(xt, position[:, None], tau)[:, 0], xt.gather(1, position[:, None]).squeeze(1)

    def predict_all(self, tokens, sweep, schedule):
        """One batched call: copy b·L + i of ``tokens`` hides position i at its step in sweep ``sweep``."""
        n, L = tokens.shape
        positions = torch.arange(L, device=tokens.device)
        steps = sweep * L + schedule.rank.to(tokens.device)
        tau = schedule.time(steps).float().repeat(n)
        if sweep == CLEAN_SWEEP:
            tau = torch.zeros_like(tau)
        h = self(tokens.repeat_interleave(L, dim=0), positions.repeat(n)[:, None], tau)
        return h.view(n, L, -1)

    def begin_sweep(self, canvas, sweep, schedule):
        return _ClassicSession(self, canvas, sweep, schedule)


class _ClassicSession(SweepSession):
    def __init__(self, model: ClassicDenoiser, canvas: torch.Tensor, sweep: int, schedule: GlauberSchedule) -> None:
        self.model, self.canvas, self.sweep, self.schedule = model, canvas, sweep, schedule
        self.network_calls = 0

    def predict(self, positions: list[int]) -> torch.Tensor:
        batch = self.canvas.shape[0]
        query = torch.tensor(positions, device=self.canvas.device).expand(batch, -1)
        step = self.schedule.step_of(positions[0], self.sweep)
        time = 0.0 if self.sweep == CLEAN_SWEEP else float(self.schedule.time(step))
        tau = torch.full((batch,), time, device=self.canvas.device)
        self.network_calls += 1
        return self.model(self.canvas, query, tau)

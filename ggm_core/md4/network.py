"""MD4's denoiser: a bidirectional time-conditioned transformer, tokens in {0..V} (V = mask) → p_θ(x_0^i | x_t)."""

import torch
from torch import nn

from ggm_core.denoisers.transformer import Block, OutputHead, TimeEmbedding, TransformerConfig


class MaskedDenoiser(nn.Module):
    """Logits over {0..V-1} at every position; the mask token is embedding row V."""

    kind = "md4"

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.token_embedding = nn.Embedding(config.vocab_size + 1, d)  # row V is the mask token
        # std 0.02 like the position embedding (GPT-2's init), so the positions are not ~2% of the input as
        # with torch's N(0, 1); neither start got MD4 off the unigram plateau here (docs/benchmarks.md)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        self.position_embedding = nn.Parameter(torch.randn(config.seq_len, d) * 0.02)
        self.time_embedding = TimeEmbedding(d)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.head = OutputHead(config)  # zero-initialised: uniform predictions at init

    @property
    def mask_id(self) -> int:
        return self.config.vocab_size

    def forward(self, tokens: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Logits of p_θ(x_0^i | x_t) at every position, (B, L, V); ``tokens`` (B, L), ``t`` (B,) in [0, 1]."""
        x = self.token_embedding(tokens) + self.position_embedding
        cond = self.time_embedding(t)[:, None, :]
        for block in self.blocks:
            x = block(x, block.modulations(cond))
        return self.head(x, cond)

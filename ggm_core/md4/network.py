"""MD4's denoiser: a bidirectional time-conditioned transformer, tokens in {0..V} (V = mask) → p_θ(x_0^i | x_t)."""

import torch
import torch.nn.functional as F
from torch import nn

from ggm_core.md4.rotary import rotary_angles, rotate
from ggm_core.transformer import Block, OutputHead, TimeEmbedding, TransformerConfig

POSITIONS = ("learned", "rotary")


class MaskedDenoiser(nn.Module):
    """Logits over {0..V-1} at every position; the mask token is embedding row V.

    ``positions``: "learned" (an absolute position table added to the input, GPT-2 style) or "rotary"
    (queries and keys rotated by position, MD4's reference network; ``ggm_core.md4.rotary``).
    """

    kind = "md4"

    def __init__(self, config: TransformerConfig, positions: str = "learned") -> None:
        super().__init__()
        if positions not in POSITIONS:
            raise ValueError(f"positions = {positions!r}: use one of {POSITIONS}")
        self.config = config
        self.positions = positions
        d = config.d_model
        self.token_embedding = nn.Embedding(config.vocab_size + 1, d)  # row V is the mask token
        # std 0.02 like the position embedding (GPT-2's init), so the positions are not ~2% of the input as
        # with torch's N(0, 1); neither start got MD4 off the unigram plateau here (docs/benchmarks.md)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        if positions == "learned":
            self.position_embedding = nn.Parameter(torch.randn(config.seq_len, d) * 0.02)
        else:
            cos, sin = rotary_angles(config.seq_len, d // config.n_heads)
            self.register_buffer("rotary_cos", cos, persistent=False)
            self.register_buffer("rotary_sin", sin, persistent=False)
        self.time_embedding = TimeEmbedding(d)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.head = OutputHead(config)  # zero-initialised: uniform predictions at init

    @property
    def mask_id(self) -> int:
        return self.config.vocab_size

    def config_dict(self) -> dict:
        return {"kind": self.kind, **self.config.to_dict(), "positions": self.positions}

    def forward(self, tokens: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Logits of p_θ(x_0^i | x_t) at every position, (B, L, V); ``tokens`` (B, L), ``t`` (B,) in [0, 1]."""
        x = self.token_embedding(tokens)
        if self.positions == "learned":
            x = x + self.position_embedding
        cond = self.time_embedding(t)[:, None, :]
        for block in self.blocks:
            mods = block.modulations(cond)
            x = block(x, mods) if self.positions == "learned" else self.rotary_block(block, x, mods)
        return self.head(x, cond)

    def rotary_block(self, block: Block, x: torch.Tensor, mods: torch.Tensor) -> torch.Tensor:
        """``block`` with its queries and keys rotated by position (``ggm_core.md4.rotary``)."""
        q, k, v, mods = block.attention_inputs(x, mods)
        q, k = (rotate(z, self.rotary_cos, self.rotary_sin) for z in (q, k))
        return block.attention_outputs(x, F.scaled_dot_product_attention(q, k, v), mods)

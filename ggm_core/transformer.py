"""Transformer building blocks shared by the denoisers: adaLN-Zero blocks (DiT-style) with
per-token time conditioning and ``scaled_dot_product_attention``."""

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class TransformerConfig:
    """Sizes of a denoiser. ``seq_len`` is the canvas length L."""

    vocab_size: int
    seq_len: int
    d_model: int = 256
    n_layers: int = 6
    n_heads: int = 4
    mlp_ratio: int = 4

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}")

    def to_dict(self) -> dict:
        return asdict(self)


class TimeEmbedding(nn.Module):
    """Sinusoidal features of a time τ ∈ [0, 1], then an MLP (as in DiT)."""

    def __init__(self, d_model: int, n_freqs: int = 128) -> None:
        super().__init__()
        freqs = torch.exp(-math.log(10_000.0) * torch.arange(n_freqs) / n_freqs)
        self.register_buffer("freqs", freqs, persistent=False)
        self.mlp = nn.Sequential(nn.Linear(2 * n_freqs, d_model), nn.SiLU(), nn.Linear(d_model, d_model))

    def forward(self, tau: torch.Tensor) -> torch.Tensor:
        angles = 1000.0 * tau.to(self.freqs.dtype)[..., None] * self.freqs
        return self.mlp(torch.cat([angles.sin(), angles.cos()], dim=-1))


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale) + shift


class Block(nn.Module):
    """Pre-norm attention + MLP block with adaLN-Zero conditioning (per token or broadcast).

    The modulation is computed separately (:meth:`modulations`) so a caller can compute it once per
    distinct time and gather it; ``attention_inputs`` and ``attention_outputs`` let a cached decoder
    run the attention itself over keys and values computed in earlier calls.
    """

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        d = cfg.d_model
        self.n_heads = cfg.n_heads
        self.norm1 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.mlp = nn.Sequential(
            nn.Linear(d, cfg.mlp_ratio * d), nn.GELU(approximate="tanh"), nn.Linear(cfg.mlp_ratio * d, d)
        )
        self.modulation = nn.Linear(d, 6 * d)
        nn.init.zeros_(self.modulation.weight)
        nn.init.zeros_(self.modulation.bias)

    def modulations(self, cond: torch.Tensor) -> torch.Tensor:
        """adaLN shift/scale/gate parameters from the conditioning, (..., 6·d_model)."""
        return self.modulation(F.silu(cond))

    def attention_inputs(self, x: torch.Tensor, mods: torch.Tensor):
        """Returns (q, k, v) shaped (B, H, N, d_head) and the six modulation tensors."""
        mods = mods.chunk(6, dim=-1)
        q, k, v = self.qkv(modulate(self.norm1(x), mods[0], mods[1])).chunk(3, dim=-1)
        B, N, d = x.shape
        heads = [t.view(B, N, self.n_heads, d // self.n_heads).transpose(1, 2) for t in (q, k, v)]
        return (*heads, mods)

    def attention_outputs(self, x: torch.Tensor, attended: torch.Tensor, mods) -> torch.Tensor:
        """Residual update from the attention result ``attended`` (B, H, N, d_head)."""
        B, N, d = x.shape
        x = x + mods[2] * self.proj(attended.transpose(1, 2).reshape(B, N, d))
        return x + mods[5] * self.mlp(modulate(self.norm2(x), mods[3], mods[4]))

    def forward(self, x: torch.Tensor, mods: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``mods`` from :meth:`modulations`, per token or broadcast over tokens."""
        q, k, v, mods = self.attention_inputs(x, mods)
        return self.attention_outputs(x, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), mods)


class OutputHead(nn.Module):
    """Final adaLN norm and a zero-initialised linear map to the V values h (so h = 0, P = μ, at init)."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(cfg.d_model, elementwise_affine=False, eps=1e-6)
        self.modulation = nn.Linear(cfg.d_model, 2 * cfg.d_model)
        self.linear = nn.Linear(cfg.d_model, cfg.vocab_size)
        for layer in (self.modulation, self.linear):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def modulations(self, cond: torch.Tensor) -> torch.Tensor:
        """adaLN shift/scale of the final norm, (..., 2·d_model); a cached decoder computes them once."""
        return self.modulation(F.silu(cond))

    def project(self, x: torch.Tensor, mods: torch.Tensor) -> torch.Tensor:
        """h from the final states ``x`` and modulations from :meth:`modulations`."""
        shift, scale = mods.chunk(2, dim=-1)
        return self.linear(modulate(self.norm(x), shift, scale))

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.project(x, self.modulations(cond))

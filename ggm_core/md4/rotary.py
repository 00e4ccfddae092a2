"""Rotary position embeddings (Su et al., arXiv 2104.09864), as MD4's reference network uses them.

Query and key of position n are rotated, pair of channels (2m, 2m+1) by the angle n·θ_m with
θ_m = base^(−2m/d_head), so q_i·k_j depends on the positions only through i − j: attention can prefer
neighbours from the biases of q and k alone, without a learned table of absolute positions.
"""

import torch


def rotary_angles(seq_len: int, d_head: int, base: float = 10_000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of n·θ_m, each (seq_len, d_head / 2)."""
    if d_head % 2:
        raise ValueError(f"rotary embeddings need an even head size, got {d_head}")
    theta = base ** (-torch.arange(0, d_head, 2, dtype=torch.float64) / d_head)
    angles = torch.arange(seq_len, dtype=torch.float64)[:, None] * theta
    return angles.cos().float(), angles.sin().float()


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """``x`` (B, H, N, d_head) with each channel pair rotated by its position's angle."""
    even, odd = x[..., 0::2], x[..., 1::2]
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1).flatten(-2)

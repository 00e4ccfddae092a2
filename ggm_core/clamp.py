"""Known positions (infilling), shared by every family's sampler: the mask, and writing the known tokens.

Each sampler clamps: known positions are written once onto its starting canvas and never redrawn. For
MD4 this is exact (a masked model's context is clean by construction); for GGM it is not (docs/math.md,
"Infilling").
"""

from collections.abc import Sequence

import torch


def known_mask_from(known: torch.Tensor | Sequence[int] | None, seq_len: int) -> torch.Tensor:
    """A (L,) boolean mask from a boolean mask, an index list, or None (nothing known)."""
    mask = torch.zeros(seq_len, dtype=torch.bool)
    if known is None:
        return mask
    known = torch.as_tensor(known)
    if known.dtype == torch.bool:
        if known.shape != (seq_len,):
            raise ValueError(f"known mask must have shape ({seq_len},), got {tuple(known.shape)}")
        return known.cpu().clone()
    if known.numel() and (known.min() < 0 or known.max() >= seq_len):
        raise ValueError(f"known positions must lie in [0, {seq_len})")
    mask[known.long()] = True
    return mask


def clamp_known(
    canvas: torch.Tensor,
    known_tokens: torch.Tensor | None,
    known: torch.Tensor | Sequence[int] | None,
    vocab_size: int,
) -> torch.Tensor:
    """Write ``known_tokens`` (L,) or (B, L) into ``canvas`` (B, L) at the known positions, in place.

    Returns the (L,) known mask. Raises ``ValueError`` for known positions without tokens or tokens
    outside ``[0, vocab_size)``.
    """
    batch, length = canvas.shape
    mask = known_mask_from(known, length)
    if mask.any():
        if known_tokens is None:
            raise ValueError("known positions given without known_tokens")
        tokens = torch.as_tensor(known_tokens, device=canvas.device).expand(batch, length)
        if tokens[:, mask].min() < 0 or tokens[:, mask].max() >= vocab_size:
            raise ValueError(f"known tokens must lie in [0, {vocab_size})")
        canvas[:, mask] = tokens[:, mask]
    return mask

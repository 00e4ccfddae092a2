"""Known positions (infilling), shared by every family's sampler: the mask, writing the known tokens, and
restricting the tokens a free position may take (a gap's first token keeping the space typed before it).

The GGM and MD4 samplers clamp: known positions are written once onto the starting canvas and never
redrawn. (Blackout instead writes its known pixels' own forward path back after every step.) For
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


def allowed_from(allowed: torch.Tensor | None, seq_len: int, vocab_size: int) -> torch.Tensor | None:
    """Check an (L, V) boolean mask of the tokens each position may take (None: any token)."""
    if allowed is None:
        return None
    allowed = torch.as_tensor(allowed, dtype=torch.bool).cpu()
    if allowed.shape != (seq_len, vocab_size):
        raise ValueError(f"allowed must have shape ({seq_len}, {vocab_size}), got {tuple(allowed.shape)}")
    if not bool(allowed.any(dim=1).all()):
        raise ValueError("allowed leaves some position without any token")
    return allowed


def restrict(logits: torch.Tensor, allowed: torch.Tensor | None, positions) -> torch.Tensor:
    """``logits`` (..., n, V) at ``positions`` (n,) with disallowed tokens at −inf; unchanged for None.

    Sampling from the result is sampling the model's conditional given that the token lies in the allowed
    set; for GGM and MD4 alike an approximation of the data law conditioned on that event."""
    if allowed is None:
        return logits
    keep = allowed[torch.as_tensor(positions).cpu()].to(logits.device)
    return logits.masked_fill(~keep, float("-inf"))

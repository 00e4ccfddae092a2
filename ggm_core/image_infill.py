"""Image infilling rule (pixels ↔ token cells) and the final blend.

A 64×64 image is a 16×16 grid of VQ codes, one per 4×4 patch, in raster order. A patch is unknown, and
is redrawn by the sampler, if any of its pixels touches the user's mask; every other code is clamped.
After decoding, pixels outside the unknown patches are the user's own; inside, the decoded pixels are
blended with the original over a ``FEATHER``-pixel ramp at the region's border.
"""

import numpy as np

FEATHER = 2  # pixels of border ramp inside the unknown region


def mask_to_cells(pixel_mask: np.ndarray, patch: int = 4) -> np.ndarray:
    """bool (H, W) → bool (H/patch, W/patch): a cell is unknown if any of its pixels is masked."""
    h, w = pixel_mask.shape
    return pixel_mask.reshape(h // patch, patch, w // patch, patch).any(axis=(1, 3))


def cells_to_pixels(cells: np.ndarray, patch: int = 4) -> np.ndarray:
    """bool (H/patch, W/patch) → bool (H, W)."""
    return np.repeat(np.repeat(cells, patch, axis=0), patch, axis=1)


def blend_alpha(cells: np.ndarray, patch: int = 4, feather: int = FEATHER) -> np.ndarray:
    """float (H, W): 0 outside the unknown cells, ramping 1/feather … 1 inward from the region's border."""
    region = cells_to_pixels(cells, patch)
    if region.all() or not region.any():
        return region.astype(np.float32)
    dist = np.zeros(region.shape, np.float32)  # Chebyshev distance to the nearest known pixel, capped
    inside = region.copy()
    for d in range(1, feather + 1):
        dist[inside] = d
        padded = np.pad(inside, 1, constant_values=True)  # the image border does not count as "known"
        eroded = np.ones_like(inside)
        for dy in (0, 1, 2):
            for dx in (0, 1, 2):
                eroded &= padded[dy : dy + inside.shape[0], dx : dx + inside.shape[1]]
        inside = eroded & region
    return np.minimum(dist / feather, 1.0) * region


def compose(decoded: np.ndarray, original: np.ndarray | None, alpha: np.ndarray | None) -> np.ndarray:
    """Decoded pixels inside the unknown region, the original outside, blended by ``alpha``."""
    if original is None or alpha is None:
        return decoded
    a = alpha[..., None]
    out = a * decoded.astype(np.float32) + (1 - a) * original.astype(np.float32)
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    out[alpha == 0] = original[alpha == 0]  # exactly the user's pixels
    return out

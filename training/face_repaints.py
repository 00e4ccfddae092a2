"""The repaint masks of the face benchmarks and model cards (pixel boxes on the aligned 64×64 faces), and a row of
repaints made with a model's app defaults.
"""

import numpy as np
import torch

from ggm_core.events import run_to_end
from ggm_core.family import app_knobs
from ggm_core.image_infill import blend_alpha, cells_to_pixels, compose, mask_to_cells

MASKS = {  # pixel boxes (y0, y1, x0, x1) on the aligned 64×64 faces
    "eyes": (20, 32, 12, 52),
    "mouth": (40, 54, 20, 44),
    "left half": (0, 64, 0, 32),
}


def infill_rows(model, faces: np.ndarray, seed: int) -> np.ndarray:
    """For each mask: originals, the masked cells greyed out, and the model's infills (rows of a grid)."""
    tokenizer, rows = model.tokenizer, []
    codes = tokenizer.encode(faces)
    for index, (y0, y1, x0, x1) in enumerate(MASKS.values()):
        pixels = np.zeros((64, 64), bool)
        pixels[y0:y1, x0:x1] = True
        cells = mask_to_cells(pixels, tokenizer.patch_size)
        known = torch.from_numpy(tokenizer.known_from_cells(cells))
        masked = faces.copy()
        masked[:, cells_to_pixels(cells, tokenizer.patch_size)] = 128
        filled = []
        for i, face_codes in enumerate(codes):
            knobs = app_knobs(model)
            last = run_to_end(model.sample(known_tokens=face_codes, known=known, seed=seed + 100 * index + i, **knobs))
            decoded = tokenizer.decode(last.tokens)[0]
            filled.append(compose(decoded, faces[i], blend_alpha(cells, tokenizer.patch_size)))
        rows += [faces, masked, np.stack(filled)]
    return np.concatenate(rows)

"""Face infilling on held-out faces: how well do the models repaint a masked region?

    python -m training.benchmark_face_infill [--ggm assets/faces] [--md4 assets/md4_faces] [--faces 256] \
        [--refine 2,4]

For every mask (the three of the model cards: eyes band, mouth box, left half; and three brush strokes), the
masked cells of ``--faces`` held-out faces are redrawn and composed with the original outside them, as the app
does, by: GGM with clamping only (R = 0), GGM with R refinement sweeps (a model trained with the clean context),
and MD4's clamping (exact for MD4) as a reference. Printed per mask and setting: the Fréchet distance of the
repainted faces to other real held-out faces (the project's VQ-feature metric, training/image_metrics.py, beside
the real-vs-real floor at the same size) and the PSNR of the repainted region against the original. Writes
a grid of the first faces per setting to ``--out``.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from ggm_core.checkpoint import load_model
from ggm_core.events import run_to_end
from ggm_core.image_infill import blend_alpha, cells_to_pixels, compose, mask_to_cells
from training.face_data import prepare_faces
from training.face_repaints import MASKS
from training.image_metrics import frechet_distance, vq_features
from training.plots import image_grid

BRUSHES = {  # polylines (x, y) and a width in pixels, as a person might brush them
    "brush: across the eyes": ([(10, 28), (22, 24), (32, 27), (42, 24), (54, 28)], 7),
    "brush: nose and mouth": ([(32, 22), (31, 34), (26, 44), (38, 46)], 8),
    "brush: cheek to chin": ([(8, 30), (14, 46), (26, 58), (40, 60)], 9),
}


def pixel_masks() -> dict[str, np.ndarray]:
    """Every benchmark mask as bool (64, 64)."""
    out = {}
    for name, (y0, y1, x0, x1) in MASKS.items():
        mask = np.zeros((64, 64), bool)
        mask[y0:y1, x0:x1] = True
        out[name] = mask
    for name, (points, width) in BRUSHES.items():
        canvas = Image.new("L", (64, 64))
        ImageDraw.Draw(canvas).line(points, fill=255, width=width, joint="curve")
        out[name] = np.asarray(canvas) > 0
    return out


def repaint(model, faces: np.ndarray, cells: np.ndarray, seed: int, **knobs) -> np.ndarray:
    """All ``faces`` repainted in ``cells`` in one batched run, composed with the originals like the app."""
    tokenizer = model.tokenizer
    codes = tokenizer.encode(faces)
    known = torch.from_numpy(tokenizer.known_from_cells(cells))
    last = run_to_end(model.sample(batch_size=len(faces), known_tokens=codes, known=known, seed=seed, **knobs))
    decoded = tokenizer.decode(last.tokens)
    alpha = blend_alpha(cells, tokenizer.patch_size)
    return np.stack([compose(d, f, alpha) for d, f in zip(decoded, faces, strict=True)])


def psnr(repainted: np.ndarray, original: np.ndarray, region: np.ndarray) -> float:
    """PSNR (dB) over the region's pixels, all faces together."""
    diff = repainted[:, region].astype(np.float64) - original[:, region].astype(np.float64)
    return float(10 * np.log10(255.0**2 / max(np.mean(diff**2), 1e-12)))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ggm", default="assets/faces")
    parser.add_argument("--md4", default="assets/md4_faces", help="'' to leave MD4 out")
    parser.add_argument("--faces", type=int, default=256)
    parser.add_argument("--refine", default="2,4", help="refinement sweeps to try, comma-separated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/face_infill"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    ggm = load_model(args.ggm)
    settings = [("GGM, clamping only", ggm, {})]
    if getattr(ggm, "refines", False):
        settings += [(f"GGM, R = {r}", ggm, {"refine_sweeps": int(r)}) for r in args.refine.split(",") if r]
    if args.md4:
        settings.append(("MD4, clamping (exact)", load_model(args.md4), {}))
    held_out = np.load(prepare_faces() / "val.npy")
    if len(held_out) < 2 * args.faces:
        raise SystemExit(f"--faces {args.faces}: the held-out split has {len(held_out)} faces, need twice that")
    faces, reference = held_out[: args.faces], held_out[args.faces : 2 * args.faces]
    tokenizer = ggm.tokenizer
    reference_features = vq_features(tokenizer, reference)
    floor = frechet_distance(vq_features(tokenizer, faces), reference_features)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    began = time.perf_counter()
    for mask_name, mask in pixel_masks().items():
        cells = mask_to_cells(mask, tokenizer.patch_size)
        region = cells_to_pixels(cells, tokenizer.patch_size)
        shown = [faces[:8], np.where(region[None, :, :, None], 128, faces[:8]).astype(np.uint8)]
        for name, model, knobs in settings:
            start = time.perf_counter()
            repainted = repaint(model, faces, cells, args.seed, **knobs)
            fd = frechet_distance(vq_features(tokenizer, repainted), reference_features)
            rows.append((mask_name, name, fd, psnr(repainted, faces, region), time.perf_counter() - start))
            shown.append(repainted[:8])
            print(f"{mask_name:<24} {name:<24} Fréchet {fd:6.3f}  PSNR {rows[-1][3]:5.2f} dB  ({rows[-1][4]:.0f} s)")
        slug = mask_name.replace(":", "").replace(" ", "_")
        Image.fromarray(image_grid(np.concatenate(shown), columns=8)).save(args.out / f"{slug}.png")
    print(f"\n{args.faces} held-out faces per mask; real-vs-real Fréchet floor {floor:.3f}; "
          f"{time.perf_counter() - began:.0f} s in all; example grids (original, mask, then one row per setting, "
          f"in the order of the table) in {args.out}/\n")  # fmt: skip
    print("| mask | setting | Fréchet to real faces | PSNR of the region (dB) |\n|---|---|---|---|")
    for mask_name, name, fd, db, _ in rows:
        print(f"| {mask_name} | {name} | {fd:.3f} | {db:.2f} |")


if __name__ == "__main__":
    main()

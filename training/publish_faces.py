"""Publish a trained face run into ``assets/``: weights, loss curve, a 64-sample grid and infilling examples.

    python -m training.publish_faces --run runs/faces --to assets/faces
    python -m training.publish_faces --run runs/blackout_faces --to assets/blackout_faces --budget 256

Everything is made by the copied (shipped) weights with fixed seeds; ``summary.json`` holds the run's
numbers for the model card. The 64-sample grid uses the exact sampler, or with ``--budget N`` the family's
setting for N network calls (Blackout's finest grid is 1000 calls); the infills use the app's defaults.
"""

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from ggm_core.atomic import atomic_write_bytes
from ggm_core.checkpoint import load_model
from ggm_core.events import run_to_end
from training.face_data import prepare_faces
from training.face_repaints import MASKS, infill_rows
from training.plots import image_grid
from training.train_state import training_record


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--to", type=Path, required=True)
    parser.add_argument("--infill-faces", type=int, default=8)
    parser.add_argument("--budget", type=int, help="network calls of the grid's sampler (default: exact)")
    args = parser.parse_args(argv)
    args.to.mkdir(parents=True, exist_ok=True)
    for item in (args.run / "model").iterdir():
        shutil.copy2(item, args.to / item.name)
    shutil.copy2(args.run / "loss_curve.png", args.to / "loss_curve.png")
    model = load_model(args.to)
    grid_knobs = model.knobs_for_budget(args.budget, model.seq_len)
    last = run_to_end(model.sample(batch_size=64, seed=2024, **grid_knobs))
    Image.fromarray(image_grid(model.tokenizer.decode(last.tokens), columns=8)).save(args.to / "samples_64.png")
    held_out = np.load(prepare_faces() / "val.npy")[: args.infill_faces]
    grid = image_grid(infill_rows(model, held_out, seed=7), columns=args.infill_faces)
    Image.fromarray(grid).save(args.to / "infill_examples.png")
    record = training_record(args.run / "checkpoint")
    summary = {
        "steps": record["step"],
        "positions_seen": record["positions_seen"],
        "images_seen": record["positions_seen"] // model.seq_len,
        "wall_minutes": round(record["wall_seconds"] / 60, 1),
        "final_val_loss": record["val_loss"][-1],
        "val_loss_history": record["val_loss"],
        "parameters": sum(p.numel() for p in model.network.parameters()),
        "grid_knobs": grid_knobs,
        "infill_masks": {name: list(box) for name, box in MASKS.items()},
    }
    atomic_write_bytes(args.to / "summary.json", json.dumps(summary, indent=1).encode())
    print(json.dumps({k: v for k, v in summary.items() if k != "val_loss_history"}, indent=1))


if __name__ == "__main__":
    main()

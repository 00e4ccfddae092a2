"""Overlay the validation-loss curves of training runs, read from each run's ``checkpoint/record.json``.

python -m training.plot_runs runs/a runs/b --labels "weight decay 0.01" "weight decay 1" --out runs/val.png
"""

import argparse
from pathlib import Path

from training.plots import LOSS_LABEL, plot_validation_curves
from training.train_state import training_record


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="training output folders")
    parser.add_argument("--labels", nargs="+", help="one per run (default: the folder names)")
    parser.add_argument("--ymax", type=float, help="clip the loss axis here (early losses dwarf the rest)")
    parser.add_argument(
        "--ylabel", default=LOSS_LABEL, help="the loss axis (e.g. 'validation −ELBO per token' for MD4)"
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    labels = args.labels or [run.name for run in args.runs]
    if len(labels) != len(args.runs):
        parser.error(f"{len(args.runs)} runs but {len(labels)} labels")
    records = {}
    for label, run in zip(labels, args.runs, strict=True):
        try:
            records[label] = training_record(run / "checkpoint")
        except FileNotFoundError:
            parser.error(f"{run}: no checkpoint/record.json or checkpoint/state.safetensors (not a training run?)")
    plot_validation_curves(records, args.out, args.ymax, args.ylabel)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

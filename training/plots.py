"""Pictures and sample files written during training."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ggm_core.atomic import atomic_write_bytes  # noqa: E402


def plot_loss_curve(record: dict, path: Path) -> None:
    """Training loss (raw and smoothed) and validation loss against steps."""
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    if record["train_loss"]:
        steps, losses = np.array(record["train_loss"]).T
        ax.plot(steps, losses, color="#0072B2", alpha=0.25, lw=0.8, label="train (per step)")
        if len(losses) >= 20:
            k = max(1, len(losses) // 50)
            smooth = np.convolve(losses, np.ones(k) / k, mode="valid")
            ax.plot(steps[k - 1 :], smooth, color="#0072B2", lw=1.8, label=f"train ({k}-step mean)")
    if record["val_loss"]:
        steps, losses = np.array(record["val_loss"]).T
        ax.plot(steps, losses, "o-", color="#E69F00", lw=1.8, ms=4, label="validation")
    if record.get("clean_val_loss"):
        steps, losses = np.array(record["clean_val_loss"]).T
        ax.plot(steps, losses, "s-", color="#009E73", lw=1.8, ms=4, label="validation, clean context")
    save_axes(fig, ax, path)


LOSS_LABEL = "signal-vs-noise loss per position"  # GGM's; MD4's runs report their −ELBO per position


def plot_validation_curves(
    records: dict[str, dict], path: Path, ymax: float | None = None, ylabel: str = LOSS_LABEL
) -> None:
    """Validation loss against steps for several runs, one line per label; ``ymax`` clips the loss axis."""
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    for label, record in records.items():
        steps, losses = np.array(record["val_loss"]).T
        ax.plot(steps, losses, "o-", lw=1.6, ms=3, label=label)
    if ymax is not None:
        ax.set_ylim(top=ymax)
    save_axes(fig, ax, path, ylabel)


def save_axes(fig, ax, path: Path, ylabel: str = LOSS_LABEL) -> None:
    """Label the loss axes and write the figure atomically."""
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)


def image_grid(images: np.ndarray, columns: int) -> np.ndarray:
    """(N, H, W, 3) uint8 images tiled into one array with a 2-pixel white border."""
    n, h, w, c = images.shape
    rows = -(-n // columns)
    grid = np.full((rows * (h + 2) + 2, columns * (w + 2) + 2, c), 255, dtype=np.uint8)
    for index, image in enumerate(images):
        r, col = divmod(index, columns)
        grid[2 + r * (h + 2) : 2 + r * (h + 2) + h, 2 + col * (w + 2) : 2 + col * (w + 2) + w] = image
    return grid


def write_samples(model, tokenizer, stem: Path, count: int, seed: int) -> None:
    """Unconditional samples: ``stem.txt`` for text, ``stem.png`` (a grid) for images."""
    tokens = model.generate_tokens(count, seed)
    stem.parent.mkdir(parents=True, exist_ok=True)
    if getattr(tokenizer, "kind", None) in ("vq", "pixels"):
        from PIL import Image

        grid = image_grid(tokenizer.decode(tokens), columns=int(np.ceil(np.sqrt(count))))
        Image.fromarray(grid).save(stem.with_suffix(".png"))
    else:
        text = "\n\n".join(f"--- sample {i} ---\n{tokenizer.decode(t)}" for i, t in enumerate(tokens))
        atomic_write_bytes(stem.with_suffix(".txt"), text.encode())

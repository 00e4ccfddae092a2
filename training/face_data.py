"""Face images as the training data reads them: 64×64 RGB faces for the VQ tokenizer and the image models
(``python -m training.prepare_faces`` prepares them from the command line).

Default source: the DCGAN shipped in PyPI ``gan-face-generate`` 1.1.1 (install with ``--no-deps``), sampled under
fixed seeds. Licence caveat: the GAN was trained on Microsoft DigiFace-1M, which is for non-commercial research
only. Alternative: a folder of your own images (e.g. CelebA, FFHQ).

Output (under ``$GGM_CACHE`` or ``~/.cache/ggm``): ``faces/<name>/{train,val}.npy`` (uint8 (N, 64, 64, 3)),
``stats.json`` and ``preview.png`` (64 training images).
"""

import hashlib
import json
import os
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from tqdm import tqdm

from ggm_core.atomic import atomic_write
from ggm_core.tokenizers.images import centre_square, to_rgb

IMAGE_SIZE = 64
TRAIN_SEED, VAL_SEED = 0, 1_000_003  # two independent latent streams
GAN_BATCH = 250  # fixed: the latent stream (and so the data) depends on it
VAL_FRACTION, SPLIT_SEED = 0.05, 0


def cache_root(cache_dir: Path | str | None = None) -> Path:
    """``cache_dir`` if given, else ``$GGM_CACHE``, else ``~/.cache/ggm``."""
    if cache_dir is not None:
        return Path(cache_dir)
    return Path(os.environ.get("GGM_CACHE") or Path.home() / ".cache" / "ggm")


def faces_dir(name: str = "dcgan", cache_dir: Path | str | None = None) -> Path:
    return cache_root(cache_dir) / "faces" / name


def folder_cache_name(folder: Path | str) -> str:
    """The folder's name and a hash of its resolved path: two folders named alike get their own caches."""
    resolved = Path(folder).resolve()
    return f"{resolved.name}-{hashlib.sha256(str(resolved).encode()).hexdigest()[:10]}"


def folder_fingerprint(folder: Path | str) -> str:
    """A hash of every file's relative path, size and modification time: changes when the folder is edited."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _atomic(path: Path, write) -> None:
    """Write ``path`` through ``write(file)`` on a temporary file, then rename it into place."""

    def to_file(tmp: str) -> None:
        with open(tmp, "wb") as f:
            write(f)

    atomic_write(path, to_file)


def load_dcgan() -> torch.nn.Module:
    """The generator of ``gan-face-generate`` with its shipped weights, in eval mode."""
    try:
        import gan_face_generate
        from gan_face_generate.models import Generator
    except ImportError as e:
        raise ImportError("pip install --no-deps gan-face-generate==1.1.1  (not plain: it pulls CUDA torch)") from e
    weights = Path(gan_face_generate.__file__).parent / "weights.tar"
    state = torch.load(weights, map_location="cpu", weights_only=True)
    net = Generator(0, 3, 100, 64)
    net.load_state_dict(state["netG_state_dict"])
    return net.eval()


@torch.no_grad()
def sample_dcgan(net: torch.nn.Module, n: int, seed: int, desc: str) -> np.ndarray:
    """``n`` faces from the latent stream of ``seed``, as uint8 (n, 64, 64, 3)."""
    gen = torch.Generator().manual_seed(seed)
    out = np.empty((n, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    for i in tqdm(range(0, n, GAN_BATCH), desc=desc, unit="batch"):
        z = torch.randn(GAN_BATCH, 100, 1, 1, generator=gen)[: n - i]
        x = ((net(z) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        out[i : i + len(z)] = x.permute(0, 2, 3, 1).numpy()
    return out


def load_image(path: Path) -> np.ndarray:
    """Any Pillow-readable image → uint8 (64, 64, 3): RGB (alpha over white), centre-cropped, LANCZOS."""
    with Image.open(path) as im:
        im = to_rgb(ImageOps.exif_transpose(im))
        box = centre_square(im.size)
        im = im.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.LANCZOS, box=box)
        return np.asarray(im, dtype=np.uint8)


def load_folder(folder: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """All readable images under ``folder`` (recursive, sorted) → (train, val, n_skipped)."""
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
    images, skipped = [], 0
    for p in tqdm(files, desc=f"reading {folder}", unit="file"):
        try:
            images.append(load_image(p))
        except Exception:  # Pillow raises many types (UnidentifiedImageError, OSError, ...)
            skipped += 1
    if skipped:
        warnings.warn(f"skipped {skipped} unreadable file(s) under {folder}", stacklevel=2)
    if not images:
        raise ValueError(f"no readable images under {folder}")
    data = np.stack(images)
    perm = np.random.default_rng(SPLIT_SEED).permutation(len(data))
    n_val = max(1, round(VAL_FRACTION * len(data))) if len(data) >= 2 else 0
    return data[np.sort(perm[n_val:])], data[np.sort(perm[:n_val])], skipped


def save_grid(images: np.ndarray, path: Path, cols: int = 8, pad: int = 2) -> None:
    """Save uint8 (N, H, W, 3) as a PNG grid with white padding."""
    n, h, w, _ = images.shape
    rows = -(-n // cols)
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), 255, np.uint8)
    for k, im in enumerate(images):
        r, c = divmod(k, cols)
        grid[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = im
    _atomic(path, lambda f: Image.fromarray(grid).save(f, format="PNG"))


def prepare_faces(
    cache_dir: Path | str | None = None,
    n_train: int = 30000,
    n_val: int = 1000,
    folder: Path | str | None = None,
    name: str | None = None,
    force: bool = False,
) -> Path:
    """Write ``train.npy``/``val.npy``/``stats.json``/``preview.png`` and return their folder.

    DCGAN source: ``n_train``/``n_val`` images from seeds ``TRAIN_SEED``/``VAL_SEED``. Folder source:
    every readable image, with a fixed 5% held out (``n_train``/``n_val`` are ignored), cached by default
    under the folder's name and path hash, and prepared again when its files change. Existing output made
    with the same settings is reused unless ``force``; a new preparation drops the codes made from the old.
    """
    name = name or (folder_cache_name(folder) if folder else "dcgan")
    out = faces_dir(name, cache_dir)
    if folder:
        request = {"source": "folder", "folder": str(Path(folder).resolve()), "fingerprint": folder_fingerprint(folder)}
    else:
        request = {"source": "dcgan", "n_train": n_train, "n_val": n_val}
        request |= {"train_seed": TRAIN_SEED, "val_seed": VAL_SEED, "batch": GAN_BATCH}
    stats_path = out / "stats.json"
    if not force and stats_path.is_file() and (out / "train.npy").is_file() and (out / "val.npy").is_file():
        old = json.loads(stats_path.read_text())
        if all(old.get(k) == v for k, v in request.items()):
            print(f"faces already prepared in {out} (use --force to rebuild)")
            return out
        print(f"{out}: the source changed since it was prepared; preparing it again")
    out.mkdir(parents=True, exist_ok=True)
    stats_path.unlink(missing_ok=True)  # until the new data is complete, nothing claims to describe it
    shutil.rmtree(out / "codes", ignore_errors=True)  # encoded from the old data
    t0 = time.perf_counter()
    skipped = 0
    if folder:
        train, val, skipped = load_folder(Path(folder))
    else:
        net = load_dcgan()
        train = sample_dcgan(net, n_train, TRAIN_SEED, "train faces")
        val = sample_dcgan(net, n_val, VAL_SEED, "val faces")
    seconds = time.perf_counter() - t0
    _atomic(out / "train.npy", lambda f: np.save(f, train))
    _atomic(out / "val.npy", lambda f: np.save(f, val))
    save_grid(train[:64], out / "preview.png")
    flat = train[:5000].reshape(-1, 3).astype(np.float32) / 255 if len(train) else np.zeros((1, 3))
    stats = {
        **request,
        "name": name,
        "n_train_images": len(train),
        "n_val_images": len(val),
        "skipped_files": skipped,
        "shape": [IMAGE_SIZE, IMAGE_SIZE, 3],
        "dtype": "uint8",
        "channel_stats_images": min(len(train), 5000),  # mean/std below are over the first ones, in [0, 1]
        "channel_mean": flat.mean(0).round(4).tolist(),
        "channel_std": flat.std(0).round(4).tolist(),
        "seconds": round(seconds, 1),
    }
    _atomic(stats_path, lambda f: f.write((json.dumps(stats, indent=2) + "\n").encode()))
    print(f"wrote {len(train)} train + {len(val)} val images to {out} in {seconds:.1f} s")
    return out

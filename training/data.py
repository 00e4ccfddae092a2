"""Token data for training: random windows of a BPE token stream (text), VQ code grids (faces), or the
faces' pixel counts (Blackout)."""

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from training.config import TrainConfig

# The settings that choose the data: a resumed run must keep them (the model's own config is checked apart,
# training/trainer.py).
DATA_FIELDS = ("dataset", "corpus", "windows", "faces", "vq_dir", "vocab_size", "seq_len")


@dataclass
class TokenData:
    """Training and validation tokens plus the tokenizer that made them."""

    train: torch.Tensor  # text: 1-D stream; faces: (N, L) grids
    val: torch.Tensor
    tokenizer: object
    windowed: bool  # True: draw random windows of seq_len from a 1-D stream

    def batch(self, batch_size: int, seq_len: int, generator: torch.Generator) -> torch.Tensor:
        return _draw(self.train, batch_size, seq_len, self.windowed, generator)

    def val_batches(self, n_batches: int, batch_size: int, seq_len: int) -> list[torch.Tensor]:
        """A fixed set of validation batches (the same at every evaluation)."""
        gen = torch.Generator().manual_seed(1234)
        return [_draw(self.val, batch_size, seq_len, self.windowed, gen) for _ in range(n_batches)]


def _draw(tokens: torch.Tensor, batch_size: int, seq_len: int, windowed: bool, gen: torch.Generator) -> torch.Tensor:
    if windowed:
        if tokens.numel() <= seq_len:
            raise ValueError(f"corpus split has {tokens.numel()} tokens, fewer than seq_len={seq_len}")
        start = torch.randint(tokens.numel() - seq_len, (batch_size, 1), generator=gen)
        return tokens[start + torch.arange(seq_len)].long()
    return tokens[torch.randint(tokens.shape[0], (batch_size,), generator=gen)].long()


def prepared_corpus(cfg: TrainConfig) -> Path:
    """The folder holding the config's corpus split into ``train.txt`` and ``val.txt`` (prepared if needed)."""
    from training.corpus import SOURCES, prepare_text

    cache = Path(cfg.cache_dir) if cfg.cache_dir else None
    if cfg.corpus in SOURCES:
        return prepare_text(cache_dir=cache, source=cfg.corpus)
    source = Path(cfg.corpus)
    kwargs = {"folder": source} if source.is_dir() else {"files": [source]}
    where = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:10]  # two folders named alike stay apart
    return prepare_text(cache_dir=cache, source="files", name=f"{source.stem}-{where}", **kwargs)


def load_text(cfg: TrainConfig, tokenizer_dir: Path) -> TokenData:
    """Prepare the corpus, train (or reuse) the BPE in ``tokenizer_dir``, and encode both splits: as one stream
    of paragraphs each followed by a newline (``windows = "stream"``), or as paragraph-aligned windows ending in
    END and PAD (``"documents"``: the BPE gains those two tokens, training/documents.py)."""
    from ggm_core.tokenizers.text import TextTokenizer
    from training.bpe import read_paragraphs, train_bpe
    from training.documents import document_windows

    folder = prepared_corpus(cfg)
    if not (tokenizer_dir / "tokenizer.json").is_file():
        train_bpe(folder / "train.txt", cfg.vocab_size, tokenizer_dir)
    tokenizer = TextTokenizer.load(tokenizer_dir)
    if cfg.windows == "documents":
        tokenizer = tokenizer.save_with_document_tokens(tokenizer_dir)
    newline = tokenizer.encode("\n")

    def encode(path: Path) -> torch.Tensor:
        if cfg.windows == "documents":
            return document_windows(read_paragraphs(path), tokenizer, cfg.seq_len)
        return torch.tensor(
            [i for p in read_paragraphs(path) for i in tokenizer.encode(p) + newline], dtype=torch.int32
        )

    windowed = cfg.windows == "stream"
    return TokenData(encode(folder / "train.txt"), encode(folder / "val.txt"), tokenizer, windowed=windowed)


def prepared_faces(cfg: TrainConfig) -> Path:
    """The folder of the config's prepared faces (``train.npy``, ``val.npy``), prepared if needed."""
    from training.face_data import prepare_faces

    cache = Path(cfg.cache_dir) if cfg.cache_dir else None
    source = Path(cfg.faces)
    return prepare_faces(cache_dir=cache, folder=source) if source.is_dir() else prepare_faces(cache_dir=cache)


def faces_with_augmentation(images: np.ndarray, augment: str) -> np.ndarray:
    """The training faces, and with ``augment = "flip"`` their mirror images after them."""
    return np.concatenate([images, images[:, :, ::-1]]) if augment == "flip" else images


def load_faces(cfg: TrainConfig, device: torch.device | None = None) -> TokenData:
    """Encode the prepared faces with the VQ tokenizer once (on ``device``), cached beside the faces under the
    tokenizer's weight digest, so every run (and a deleted run folder) reuses them."""
    from ggm_core.tokenizers.vq import ImageTokenizer

    folder = prepared_faces(cfg)
    tokenizer = ImageTokenizer.load(Path(cfg.vq_dir))
    digest = hashlib.sha256((Path(cfg.vq_dir) / "vq.safetensors").read_bytes()).hexdigest()[:12]
    codes_dir = folder / "codes" / (digest + ("-flip" if cfg.augment == "flip" else ""))
    splits = {}
    for split in ("train", "val"):
        path = codes_dir / f"{split}_codes.npy"
        if not path.is_file():
            images = np.load(folder / f"{split}.npy")
            images = faces_with_augmentation(images, cfg.augment) if split == "train" else images
            tokenizer.model.to(device or "cpu")
            codes = tokenizer.encode(images).numpy().astype(np.int16)
            tokenizer.model.to("cpu")
            codes_dir.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp.npy")  # runs encoding at once write apart
            np.save(partial, codes)
            partial.replace(path)
        splits[split] = torch.from_numpy(np.load(path).astype(np.int64))
    return TokenData(splits["train"], splits["val"], tokenizer, windowed=False)


def load_pixels(cfg: TrainConfig) -> TokenData:
    """The prepared faces as pixel counts (N, H·W·3), kept as uint8 (a batch is widened when drawn)."""
    from ggm_core.blackout import PixelTokenizer

    folder = prepared_faces(cfg)
    splits = {split: np.load(folder / f"{split}.npy") for split in ("train", "val")}
    splits["train"] = faces_with_augmentation(splits["train"], cfg.augment)
    tokenizer = PixelTokenizer(splits["train"].shape[1], splits["train"].shape[3])
    flat = {k: torch.from_numpy(v.reshape(v.shape[0], -1)) for k, v in splits.items()}
    return TokenData(flat["train"], flat["val"], tokenizer, windowed=False)


def load_data(cfg: TrainConfig, out_dir: Path, device: torch.device | None = None) -> TokenData:
    if cfg.dataset == "text":
        return load_text(cfg, out_dir / "tokenizer")
    if cfg.dataset == "faces" and cfg.family == "blackout":
        return load_pixels(cfg)
    if cfg.dataset == "faces":
        return load_faces(cfg, device)
    raise ValueError(f"unknown dataset {cfg.dataset!r}: use 'text' or 'faces'")

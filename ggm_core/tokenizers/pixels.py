"""Pixels as the "tokens" of Blackout: each channel's integer intensity 0..255, flattened in (row, column,
channel) order, so a 64×64 colour image is a canvas of L = 12288 counts and the app's event stream, states
and exports work on it as on any canvas. There are no token cells: a brushed pixel is a free pixel."""

import json
from pathlib import Path

import numpy as np
import torch

from ggm_core.atomic import atomic_write_bytes
from ggm_core.registry import register_tokenizer

FILENAME = "pixels.json"


@register_tokenizer
class PixelTokenizer:
    kind = "pixels"
    vocab_size = 256
    patch_size = 1

    def __init__(self, image_size: int = 64, channels: int = 3) -> None:
        self.image_size, self.channels = image_size, channels

    @property
    def grid_shape(self) -> tuple[int, int]:
        return self.image_size, self.image_size

    @property
    def seq_len(self) -> int:
        return self.image_size * self.image_size * self.channels

    def encode(self, images) -> torch.Tensor:
        """uint8 images (N, H, W, C) → counts (N, H·W·C)."""
        array = np.asarray(images, dtype=np.uint8)
        return torch.from_numpy(array.reshape(array.shape[0], -1).astype(np.int64))

    def decode(self, counts) -> np.ndarray:
        """Counts (N, L) → uint8 images (N, H, W, C)."""
        counts = torch.as_tensor(counts).clamp(0, 255).to(torch.uint8).numpy()
        return counts.reshape(-1, self.image_size, self.image_size, self.channels)

    def known_from_cells(self, cells: np.ndarray) -> np.ndarray:
        """The known counts for a mask of free pixels (H, W): every channel of a pixel alike."""
        return np.repeat(~cells.reshape(-1), self.channels)

    def save(self, folder: Path) -> None:
        payload = {"image_size": self.image_size, "channels": self.channels}
        atomic_write_bytes(Path(folder) / FILENAME, json.dumps(payload).encode())

    @classmethod
    def load(cls, folder: Path) -> "PixelTokenizer":
        path = Path(folder) / FILENAME
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found")
        config = json.loads(path.read_text())
        return cls(int(config["image_size"]), int(config["channels"]))

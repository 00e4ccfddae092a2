"""VQ image tokenizer: 64×64 RGB images ↔ a 16×16 grid of discrete codes.

A small convolutional VQ autoencoder (residual conv encoder, EMA codebook with dead-code restarts,
residual conv decoder) and ``ImageTokenizer``, the interface the rest of ggm_core uses. Weights are
stored with safetensors only (``vq.safetensors``) next to a JSON config (``vq_config.json``).
"""

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from ggm_core.atomic import atomic_write
from ggm_core.registry import register_tokenizer

WEIGHTS_FILE = "vq.safetensors"
CONFIG_FILE = "vq_config.json"


@dataclass(frozen=True)
class VQConfig:
    """Shape of the autoencoder. ``channels[i]`` is the width at resolution ``image_size / 2**i``."""

    image_size: int = 64
    downsample: int = 4  # 64 / 4 → a 16×16 grid of codes
    codebook_size: int = 512
    code_dim: int = 32
    channels: tuple[int, ...] = (32, 64, 128)
    res_blocks: tuple[int, ...] = (0, 1, 2)  # residual blocks per resolution (encoder and decoder)
    ema_decay: float = 0.99
    dead_threshold: float = 1.0  # a code whose EMA count per batch drops below this is restarted

    def __post_init__(self) -> None:
        for key in ("channels", "res_blocks"):  # JSON gives lists
            object.__setattr__(self, key, tuple(int(c) for c in getattr(self, key)))
        levels = int(math.log2(self.downsample))
        if 2**levels != self.downsample or not len(self.channels) == len(self.res_blocks) == levels + 1:
            raise ValueError(f"need downsample == 2**k and k+1 channels and res_blocks, got {self}")
        if self.image_size % self.downsample:
            raise ValueError(f"image_size {self.image_size} not divisible by {self.downsample}")

    @property
    def grid_size(self) -> int:
        return self.image_size // self.downsample


class ResBlock(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)  # each block starts as the identity
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.silu(self.conv1(F.silu(x))))


class EMAQuantizer(nn.Module):
    """Nearest-neighbour codebook, updated by exponential moving averages (no codebook gradient)."""

    def __init__(self, size: int, dim: int, decay: float, dead_threshold: float) -> None:
        super().__init__()
        self.decay, self.dead_threshold = decay, dead_threshold
        self.register_buffer("codebook", torch.randn(size, dim))
        self.register_buffer("ema_count", torch.ones(size))
        self.register_buffer("ema_sum", self.codebook.clone())
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))

    def nearest(self, z: torch.Tensor) -> torch.Tensor:
        """Indices of the nearest codes for rows of ``z`` (N, dim)."""
        cb = self.codebook
        d = cb.pow(2).sum(1) - 2 * z @ cb.t() + z.pow(2).sum(1, keepdim=True)
        return d.argmin(1)

    @torch.no_grad()
    def _init(self, z: torch.Tensor) -> None:
        """Data-dependent init: the codes start at random encoder outputs of the first batch."""
        self.codebook.copy_(z[torch.randint(len(z), (self.codebook.shape[0],), device=z.device)])
        self.ema_sum.copy_(self.codebook)
        self.ema_count.fill_(1.0)
        self.initialised.fill_(True)

    @torch.no_grad()
    def _update(self, z: torch.Tensor, idx: torch.Tensor) -> None:
        size = self.codebook.shape[0]
        counts = torch.bincount(idx, minlength=size).to(z.dtype)
        sums = torch.zeros_like(self.ema_sum).index_add_(0, idx, z)
        self.ema_count.lerp_(counts, 1 - self.decay)
        self.ema_sum.lerp_(sums, 1 - self.decay)
        n = self.ema_count.sum()
        smoothed = (self.ema_count + 1e-5) / (n + size * 1e-5) * n
        self.codebook.copy_(self.ema_sum / smoothed.unsqueeze(1))
        dead = self.ema_count < self.dead_threshold
        if dead.any():  # restart unused codes at random encoder outputs of this batch
            new = z[torch.randint(len(z), (int(dead.sum()),), device=z.device)]
            self.codebook[dead] = new
            self.ema_sum[dead] = new * self.dead_threshold
            self.ema_count[dead] = self.dead_threshold

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Quantise ``z`` (B, dim, H, W) → (straight-through z_q, indices (B, H·W), commitment)."""
        b, d, h, w = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, d)
        if self.training and not self.initialised:
            self._init(flat.detach())
        idx = self.nearest(flat.detach())
        zq = self.codebook[idx]
        if self.training:
            self._update(flat.detach(), idx)
        commit = F.mse_loss(flat, zq.detach())
        zq = flat + (zq - flat).detach()
        return zq.view(b, h, w, d).permute(0, 3, 1, 2), idx.view(b, h * w), commit


class VQAutoencoder(nn.Module):
    """Conv encoder → EMA vector quantiser → conv decoder. Images are float (B, 3, H, W) in [-1, 1]."""

    def __init__(self, config: VQConfig) -> None:
        super().__init__()
        self.config = c = config
        ch, n = c.channels, c.res_blocks
        enc: list[nn.Module] = [nn.Conv2d(3, ch[0], 3, padding=1)]
        for i in range(len(ch)):
            enc += [ResBlock(ch[i]) for _ in range(n[i])]
            if i + 1 < len(ch):
                enc.append(nn.Conv2d(ch[i], ch[i + 1], 4, stride=2, padding=1))
        enc += [nn.SiLU(), nn.Conv2d(ch[-1], c.code_dim, 1)]
        dec: list[nn.Module] = [nn.Conv2d(c.code_dim, ch[-1], 3, padding=1)]
        for i in reversed(range(len(ch))):
            dec += [ResBlock(ch[i]) for _ in range(n[i])]
            if i > 0:
                dec.append(nn.ConvTranspose2d(ch[i], ch[i - 1], 4, stride=2, padding=1))
        dec += [nn.SiLU(), nn.Conv2d(ch[0], 3, 3, padding=1)]
        self.encoder, self.decoder = nn.Sequential(*enc), nn.Sequential(*dec)
        self.quantizer = EMAQuantizer(c.codebook_size, c.code_dim, c.ema_decay, c.dead_threshold)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns (reconstruction, code indices (B, H·W), commitment loss)."""
        zq, idx, commit = self.quantizer(self.encoder(x))
        return self.decoder(zq), idx, commit

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        z = self.encoder(x)
        flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
        return self.quantizer.nearest(flat).view(z.shape[0], -1)

    def decode(self, idx: torch.Tensor) -> torch.Tensor:
        g = self.config.grid_size
        zq = self.quantizer.codebook[idx].view(idx.shape[0], g, g, -1).permute(0, 3, 1, 2)
        return self.decoder(zq)


def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) → float (N, 3, H, W) in [-1, 1]."""
    return torch.as_tensor(np.array(images, dtype=np.uint8, copy=True)).permute(0, 3, 1, 2).float() / 127.5 - 1


def tensor_to_images(x: torch.Tensor) -> np.ndarray:
    """float (N, 3, H, W) in [-1, 1] → uint8 (N, H, W, 3), rounded and clipped."""
    x = ((x.detach().float() + 1) * 127.5).round().clamp(0, 255)
    return x.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


@register_tokenizer
class ImageTokenizer:
    """Images (uint8 (N, 64, 64, 3)) ↔ codes (int64 (N, 256), raster order over the 16×16 grid)."""

    kind = "vq"

    def __init__(self, model: VQAutoencoder, batch_size: int = 256) -> None:
        self.model, self.config, self.batch_size = model.eval(), model.config, batch_size
        self.vocab_size = self.config.codebook_size
        self.grid_shape = (self.config.grid_size, self.config.grid_size)
        self.patch_size = self.config.downsample
        self.image_size = self.config.image_size

    def known_from_cells(self, cells: np.ndarray) -> np.ndarray:
        """The known codes (raster order) for a mask of free cells (grid_shape)."""
        return ~cells.reshape(-1)

    @torch.inference_mode()
    def encode(self, images: np.ndarray) -> torch.Tensor:
        s = self.image_size
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (s, s, 3):
            raise ValueError(f"expected uint8 (N, {s}, {s}, 3), got {images.dtype} {images.shape}")
        device = next(self.model.parameters()).device  # the caller may have moved the model to a GPU
        out = [
            self.model.encode(images_to_tensor(images[i : i + self.batch_size]).to(device)).cpu()
            for i in range(0, len(images), self.batch_size)
        ]
        return torch.cat(out) if out else torch.zeros(0, s * s // self.patch_size**2).long()

    @torch.inference_mode()
    def decode(self, codes: torch.Tensor) -> np.ndarray:
        codes = torch.as_tensor(codes, dtype=torch.long)
        n_pos = self.grid_shape[0] * self.grid_shape[1]
        if codes.ndim != 2 or codes.shape[1] != n_pos:
            raise ValueError(f"expected codes of shape (N, {n_pos}), got {tuple(codes.shape)}")
        if codes.numel() and (codes.min() < 0 or codes.max() >= self.vocab_size):
            raise ValueError(f"codes must lie in [0, {self.vocab_size}), got {codes.min()}..{codes.max()}")
        out = [
            tensor_to_images(self.model.decode(codes[i : i + self.batch_size]))
            for i in range(0, len(codes), self.batch_size)
        ]
        return np.concatenate(out) if out else np.zeros((0, self.image_size, self.image_size, 3), np.uint8)

    def save(self, folder: Path) -> None:
        """Write ``vq.safetensors`` and ``vq_config.json`` into ``folder`` (each atomically)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous() for k, v in self.model.state_dict().items()}
        atomic_write(folder / WEIGHTS_FILE, lambda p: save_file(state, p, metadata={"format": "ggm-vq"}))
        text = json.dumps({"kind": self.kind, **asdict(self.config)}, indent=2) + "\n"
        atomic_write(folder / CONFIG_FILE, lambda p: Path(p).write_text(text))

    @classmethod
    def load(cls, folder: Path) -> "ImageTokenizer":
        """Load a tokenizer saved by ``save``; a missing, corrupt or mismatched file is named in the error."""
        folder = Path(folder)
        cfg_path, w_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
        for p in (cfg_path, w_path):
            if not p.is_file():
                raise FileNotFoundError(f"VQ tokenizer file missing: {p}")
        try:
            raw = json.loads(cfg_path.read_text())
            if raw.pop("kind", "vq") != "vq":
                raise ValueError("not a VQ tokenizer config")
            unknown = set(raw) - {f.name for f in fields(VQConfig)}
            if unknown:
                raise ValueError(f"unknown keys {sorted(unknown)}")
            config = VQConfig(**raw)
        except (ValueError, TypeError) as e:
            raise ValueError(f"invalid VQ config {cfg_path}: {e}") from e
        try:
            state = load_file(w_path)
        except Exception as e:  # safetensors raises its own error types for truncated/garbled files
            raise ValueError(f"corrupt VQ weights {w_path}: {e}") from e
        model = VQAutoencoder(config)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as e:
            raise ValueError(f"VQ weights {w_path} do not match config {cfg_path}: {e}") from e
        return cls(model)

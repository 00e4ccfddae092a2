"""Blackout's denoiser: a small time-conditioned U-Net on counts, sized for a 2-core CPU.

Input: the counts centred on their expected level at time t_k and scaled by its square root,
(n_t − 127.5·p_k)/(127.5·√p_k) (the authors centre by 127.5·p_k): a photon left at p_k = 0.002 reads as 0.17
rather than 0.008, so the network sees the sparse counts from which a face's layout is drawn (with the
authors' 1/127.5 a run of 3000 steps had not learned to); output ŷ = 128·softplus(·) ≥ 0, the estimate of
E[n_0 − n_t | n_t].
Residual blocks with GroupNorm and SiLU, the time (k/T, sinusoidal features and an MLP) added in each block,
two downsamplings (64 → 32 → 16) and skip connections.
"""

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ggm_core.transformer import TimeEmbedding


@dataclass(frozen=True)
class UNetConfig:
    image_size: int = 64
    channels: int = 3
    widths: tuple[int, ...] = (32, 64, 96)
    blocks: int = 1  # residual blocks per level

    def __post_init__(self) -> None:
        if self.image_size % 2 ** (len(self.widths) - 1):
            raise ValueError(f"image_size {self.image_size} is not divisible by {2 ** (len(self.widths) - 1)}")

    def to_dict(self) -> dict:
        return {**asdict(self), "widths": list(self.widths)}

    @classmethod
    def from_dict(cls, d: dict) -> "UNetConfig":
        return cls(int(d["image_size"]), int(d["channels"]), tuple(int(w) for w in d["widths"]), int(d["blocks"]))


def _norm(width: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, width), width)


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, tdim: int) -> None:
        super().__init__()
        self.norm1, self.conv1 = _norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.time = nn.Linear(tdim, cout)
        self.norm2, self.conv2 = _norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x))) + self.time(t)[:, :, None, None]
        return self.skip(x) + self.conv2(F.silu(self.norm2(h)))


class PixelUNet(nn.Module):
    kind = "unet"

    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        self.config = config
        w, tdim = config.widths, 4 * config.widths[0]
        self.time_embedding = TimeEmbedding(tdim)
        self.inp = nn.Conv2d(config.channels, w[0], 3, padding=1)
        self.down = nn.ModuleList()
        for i, width in enumerate(w):
            cin = w[max(0, i - 1)]
            self.down.append(
                nn.ModuleList(ResBlock(cin if b == 0 else width, width, tdim) for b in range(config.blocks))
            )
        self.mid = ResBlock(w[-1], w[-1], tdim)
        self.up = nn.ModuleList()
        for i in reversed(range(len(w))):
            cout = w[max(0, i - 1)]
            self.up.append(ResBlock(2 * w[i], cout, tdim))
        self.out = nn.Sequential(_norm(w[0]), nn.SiLU(), nn.Conv2d(w[0], config.channels, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.constant_(self.out[-1].bias, -2.0)  # ŷ starts small

    def forward(self, counts: torch.Tensor, survival: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        """ŷ for counts (B, H·W·C) at survivals p_k (B,) and times τ = k/T (B,), (B, H·W·C)."""
        c = self.config
        x = counts.float().view(-1, c.image_size, c.image_size, c.channels).permute(0, 3, 1, 2)
        p = survival.float()[:, None, None, None]
        x = (x - 127.5 * p) / (127.5 * p.sqrt())
        t = self.time_embedding(tau.float())
        h, skips = self.inp(x), []
        for i, level in enumerate(self.down):
            for block in level:
                h = block(h, t)
            skips.append(h)
            if i < len(self.down) - 1:
                h = F.avg_pool2d(h, 2)
        h = self.mid(h, t)
        for i, block in enumerate(self.up):
            h = block(torch.cat([h, skips.pop()], dim=1), t)
            if i < len(self.up) - 1:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
        y = 128.0 * F.softplus(self.out(h))
        return y.permute(0, 2, 3, 1).reshape(counts.shape[0], -1)

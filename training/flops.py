"""Training FLOPs per step, counted (not estimated) with ``torch.utils.flop_counter``.

    python -m training.flops --config training/configs/text_austen_2048.toml --steps 2000
    python -m training.flops --config training/configs/text_austen_2048.toml --family md4 --match 5.6e15

Runs one forward and backward pass of the config's model on random tokens and counts the floating-point
operations of its matrix products, convolutions (Blackout's U-Net) and attention (dense: a masked-out score
costs as much as any other), the bulk of the cost (``ggm_core.flop_count``).
``--steps`` prints the total for a run; ``--match F`` prints how many steps reach F FLOPs, so two model
families (e.g. GGM and the MD4 baseline) can be trained for the same compute.
"""

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from ggm_core.flop_count import counting_flops
from ggm_core.tokenizers.pixels import PixelTokenizer
from training.config import TrainConfig, load_config
from training.families import build_model


@dataclass
class StandInData:
    """What the model builders read from the data: the tokenizer's size and training tokens (for μ)."""

    tokenizer: object
    train: torch.Tensor


@dataclass
class StandInTokenizer:
    vocab_size: int


def stand_in_tokenizer(cfg: TrainConfig):
    """The tokenizer's sizes: pixels for Blackout, the VQ codebook for faces, else the BPE vocabulary."""
    if cfg.family == "blackout":
        return PixelTokenizer()
    return StandInTokenizer(vocab_size(cfg))


def vocab_size(cfg: TrainConfig) -> int:
    if cfg.dataset == "faces":
        return json.loads((Path(cfg.vq_dir) / "vq_config.json").read_text())["codebook_size"]
    return cfg.vocab_size


def flops_per_step(cfg: TrainConfig) -> int:
    """FLOPs of one training step (forward + backward, batch ``cfg.batch_size``) of the config's model."""
    tokenizer, generator = stand_in_tokenizer(cfg), torch.Generator().manual_seed(0)
    data = StandInData(tokenizer, torch.randint(tokenizer.vocab_size, (10_000,), generator=generator))
    model = build_model(cfg, data)
    x0 = torch.randint(model.vocab_size, (cfg.batch_size, model.seq_len), generator=generator)  # Blackout: counts
    with counting_flops() as counter:
        loss, _ = model.loss(x0, generator)
        loss.backward()
    return counter.get_total_flops()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--steps", type=int, help="print the total FLOPs of this many steps")
    parser.add_argument("--match", type=float, help="print the steps that reach this many FLOPs")
    ours, rest = parser.parse_known_args(argv)
    cfg, _ = load_config(rest)
    per_step = flops_per_step(cfg)
    name = cfg.family + (f" ({cfg.denoiser})" if cfg.family == "ggm" else "")
    print(f"{name}: {per_step:.4g} FLOPs per training step (batch {cfg.batch_size})")
    if ours.steps:
        print(f"{ours.steps} steps: {per_step * ours.steps:.4g} FLOPs")
    if ours.match:
        print(f"{math.ceil(ours.match / per_step)} steps reach {ours.match:.4g} FLOPs")


if __name__ == "__main__":
    main()

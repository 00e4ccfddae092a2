"""Training configuration: dataclass defaults, overridden by a TOML file, then by ``--key value`` flags."""

import argparse
import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ggm_core.md4.network import POSITIONS


@dataclass
class TrainConfig:
    # data
    dataset: str = "text"  # "text" or "faces"
    corpus: str = "austen"  # text: "austen", "austen_all" (the judge's), or a folder / .txt file of your own
    faces: str = "dcgan"  # faces: "dcgan" (sampled from gan-face-generate) or a folder of images
    vq_dir: str = "assets/vq_faces"  # faces: the image tokenizer
    augment: str = ""  # faces: "flip" adds every training face mirrored left-right
    cache_dir: str = ""  # prepared data; "" = $GGM_CACHE or ~/.cache/ggm
    vocab_size: int = 2048  # text: BPE size
    windows: str = "stream"  # text: "stream" (any 128 tokens in a row) or "documents" (paragraphs, END, PAD)
    seq_len: int = 128
    # model
    family: str = "ggm"  # "ggm", "md4" (masked diffusion), "blackout" (faces, pixels) or "judge"; training/families.py
    denoiser: str = "two_sided"  # GGM: "two_sided" or "classic"
    d_model: int = 256
    n_layers: int = 6
    n_heads: int = 4
    mlp_ratio: int = 4
    dropout: float = 0.0  # judge: GPT-2's residual, embedding and attention dropout
    positions: str = "learned"  # MD4: "learned" absolute positions or "rotary" (its reference network)
    widths: str = "32,64,96"  # Blackout: the U-Net's channel widths per resolution, comma-separated
    blackout_weighting: str = "elbo"  # Blackout: the loss weight per time, "elbo" (the authors') or "uniform"
    # process (GGM only)
    sweeps: int = 2
    survival: str = "cosine"
    eps: float = 1e-3
    noise: str = "unigram"  # "unigram" or "uniform"
    clean_share: float = 0.0  # GGM: share of sequences trained in the clean context (refinement sweeps; 0 = none)
    # optimisation
    batch_size: int = 32
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 200
    weight_decay: float = 0.01
    beta2: float = 0.95  # AdamW's second-moment decay (MD4's reference recipe: 0.999)
    grad_clip: float = 1.0
    ema_decay: float = 0.999  # weight average validated, sampled and exported (training/weight_average.py)
    max_steps: int = 10_000
    decay_steps: int = 0  # the cosine's length in steps; 0 = max_steps (a run may stop before the decay ends)
    max_minutes: float = 0.0  # stop (with a checkpoint) after this much wall time in this process; 0 = no limit
    seed: int = 0
    init_from: str = ""  # a model folder whose weights start the run (same family, network and process)
    # bookkeeping
    out_dir: str = "runs/ggm"
    eval_every: int = 250
    eval_batches: int = 8
    sample_every: int = 1000
    num_samples: int = 4
    checkpoint_every: int = 250
    checkpoint_minutes: float = 0.0  # also checkpoint when this much wall time passed since the last; 0 = off
    export_dtype: str = "float16"
    device: str = "auto"  # "auto", "cpu" or "cuda"
    threads: int = 0  # CPU threads; 0 = torch's default

    def to_dict(self) -> dict:
        return asdict(self)

    def problems(self) -> list[str]:
        """What is wrong with the values (types from a TOML file, ranges), as readable lines; empty if nothing."""
        out = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type is float and isinstance(value, int) and not isinstance(value, bool):
                setattr(self, f.name, float(value))  # TOML writes 1 for 1.0
            elif not isinstance(value, f.type) or isinstance(value, bool):
                out.append(f"{f.name} = {value!r} is not a{'n' if f.type is int else ''} {f.type.__name__}")
        if out:
            return out
        positive = ("seq_len", "d_model", "n_layers", "n_heads", "mlp_ratio", "sweeps", "batch_size", "max_steps",
                    "eval_every", "eval_batches", "sample_every", "checkpoint_every")  # fmt: skip
        out += [f"{name} = {getattr(self, name)} must be ≥ 1" for name in positive if getattr(self, name) < 1]
        if not self.lr > 0:
            out.append(f"lr = {self.lr} must be > 0 (with 0 nothing would be learned)")
        if self.export_dtype not in ("float16", "bfloat16", "float32"):
            out.append(f"export_dtype = {self.export_dtype!r}: use float16, bfloat16 or float32")
        try:
            if any(int(w) < 1 for w in self.widths.split(",")):
                raise ValueError
        except ValueError:
            out.append(f"widths = {self.widths!r}: positive integers separated by commas, e.g. '32,64,96'")
        if self.blackout_weighting not in ("elbo", "uniform"):
            out.append(f"blackout_weighting = {self.blackout_weighting!r}: use 'elbo' or 'uniform'")
        if self.positions not in POSITIONS:
            out.append(f"positions = {self.positions!r}: use one of {POSITIONS}")
        if self.positions != "learned" and self.family != "md4":
            out.append(f"positions = {self.positions!r} is an MD4 setting; family = {self.family!r} has its own")
        if self.windows not in ("stream", "documents"):
            out.append(f"windows = {self.windows!r}: use 'stream' or 'documents'")
        if self.augment not in ("", "flip"):
            out.append(f"augment = {self.augment!r}: use '' or 'flip'")
        if not 0 < self.beta2 < 1:
            out.append(f"beta2 = {self.beta2} must be in (0, 1)")
        if not 0 <= self.clean_share < 1:
            out.append(f"clean_share = {self.clean_share} must be in [0, 1)")
        if self.clean_share > 0 and self.family != "ggm":
            out.append(f"clean_share is a GGM setting; family {self.family!r} has no clean context")
        if self.decay_steps and self.decay_steps < self.max_steps:
            out.append(f"decay_steps = {self.decay_steps} must be 0 (= max_steps) or ≥ max_steps = {self.max_steps}")
        if not 0 <= self.dropout < 1:
            out.append(f"dropout = {self.dropout} must be in [0, 1)")
        if self.dropout > 0 and self.family != "judge":
            out.append(f"dropout is a judge setting; family {self.family!r} trains without it")
        if not 0 <= self.ema_decay < 1:
            out.append(f"ema_decay = {self.ema_decay} must be in [0, 1)")
        return out


def load_config(argv: list[str] | None = None) -> tuple[TrainConfig, bool]:
    """Parse ``--config FILE``, ``--resume`` and one ``--field value`` flag per config field."""
    parser = argparse.ArgumentParser(description="Train a GGM model (see training/configs/*.toml).")
    parser.add_argument("--config", type=Path, help="TOML file of overrides")
    parser.add_argument("--resume", action="store_true", help="continue from OUT_DIR/checkpoint")
    for f in fields(TrainConfig):
        parser.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, type=f.type, default=None)
    args = parser.parse_args(argv)
    values = {}
    if args.config:
        with open(args.config, "rb") as fh:
            values.update(tomllib.load(fh))
        unknown = set(values) - {f.name for f in fields(TrainConfig)}
        if unknown:
            parser.error(f"{args.config}: unknown keys {sorted(unknown)}")
    values.update({f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name) is not None})
    cfg = TrainConfig(**values)
    if problems := cfg.problems():
        parser.error("; ".join(problems))
    return cfg, args.resume

"""Train the VQ image tokenizer (ggm_core.tokenizers.vq) on prepared 64×64 faces.

    python -m training.prepare_faces
    python -m training.train_vq --steps 2400 --out assets/vq_faces          # add --resume after a kill

Checkpoints (model + optimiser + RNG state as safetensors, step/history as JSON; never pickle) go to
``--ckpt-dir`` (default ``$GGM_CACHE/vq_runs/<out name>``); ``--out`` receives only the final export:
``vq.safetensors``, ``vq_config.json``, ``metrics.json``, ``reconstructions.png``, ``training_curve.png``.
"""

import argparse
import json
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from ggm_core.atomic import atomic_write
from ggm_core.tokenizers.vq import ImageTokenizer, VQAutoencoder, VQConfig, images_to_tensor
from training.face_data import cache_root, faces_dir, save_grid


def lr_at(step: int, steps: int, lr: float, warmup: int) -> float:
    """Linear warm-up, then cosine decay to 5% of ``lr``."""
    if step < warmup:
        return lr * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def train_step(model, opt, x: torch.Tensor, commitment: float = 0.25, l1_weight: float = 0.1) -> dict:
    """One AdamW step on a batch ``x`` (B, 3, H, W) in [-1, 1]; returns the losses and batch code usage."""
    model.train()
    recon, idx, commit = model(x)
    mse = F.mse_loss(recon, x)
    loss = mse + l1_weight * F.l1_loss(recon, x) + commitment * commit
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    used = idx.unique().numel() / model.config.codebook_size
    return {"loss": loss.item(), "mse": mse.item(), "used": used}


@torch.no_grad()
def evaluate(model: VQAutoencoder, images: np.ndarray, batch: int = 250) -> dict:
    """Held-out metrics in uint8 space: PSNR of the pooled MSE, mean per-image PSNR, code usage, perplexity."""
    tok = ImageTokenizer(model, batch_size=batch)
    codes = tok.encode(images)
    recon = tok.decode(codes)
    model.train()
    err = (recon.astype(np.float64) - images.astype(np.float64)) ** 2
    per_image = err.reshape(len(images), -1).mean(1)
    counts = torch.bincount(codes.flatten(), minlength=tok.vocab_size).double()
    p = counts / counts.sum()
    entropy = -(p[p > 0] * p[p > 0].log()).sum().item()
    return {
        "psnr": 10 * math.log10(255**2 / err.mean()),
        "psnr_mean_image": float(np.mean(10 * np.log10(255**2 / np.maximum(per_image, 1e-10)))),
        "usage": (counts > 0).double().mean().item(),
        "perplexity": math.exp(entropy),
    }


def save_checkpoint(folder: Path, model, opt, gen: torch.Generator, state: dict, keep: int = 2) -> None:
    """Atomic checkpoint ``ckpt-<step>.safetensors`` then its ``.json`` (the JSON marks it complete)."""
    folder.mkdir(parents=True, exist_ok=True)
    step = state["step"]
    tensors = {f"model.{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    osd = opt.state_dict()
    for pid, st in osd["state"].items():
        tensors |= {f"optim.{pid}.{k}": torch.as_tensor(v).contiguous() for k, v in st.items()}
    tensors["rng.torch"], tensors["rng.data"] = torch.get_rng_state(), gen.get_state()
    base = folder / f"ckpt-{step:07d}"
    atomic_write(base.with_suffix(".safetensors"), lambda p: save_file(tensors, p))
    meta = {**state, "param_groups": osd["param_groups"]}
    atomic_write(base.with_suffix(".json"), lambda p: Path(p).write_text(json.dumps(meta) + "\n"))
    for old in sorted(folder.glob("ckpt-*.json"))[:-keep]:
        old.unlink()
        old.with_suffix(".safetensors").unlink(missing_ok=True)


def load_checkpoint(folder: Path, model, opt, gen: torch.Generator) -> dict | None:
    """Restore the newest complete checkpoint in ``folder``; returns its JSON state, or None if none."""
    metas = [p for p in sorted(folder.glob("ckpt-*.json")) if p.with_suffix(".safetensors").is_file()]
    if not metas:
        return None
    meta = json.loads(metas[-1].read_text())
    if meta["config"] != json.loads(json.dumps(asdict(model.config))):
        raise ValueError(f"checkpoint {metas[-1]} has config {meta['config']}, not {asdict(model.config)}")
    tensors = load_file(metas[-1].with_suffix(".safetensors"))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    opt_state: dict = {}
    for k, v in tensors.items():
        if k.startswith("optim."):
            _, pid, name = k.split(".", 2)
            opt_state.setdefault(int(pid), {})[name] = v
    opt.load_state_dict({"state": opt_state, "param_groups": meta.pop("param_groups")})
    torch.set_rng_state(tensors["rng.torch"])
    gen.set_state(tensors["rng.data"])
    return meta


def plot_curves(history: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tr, va = history["train"], history["val"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.2))
    a1.plot([h["step"] for h in tr], [h["loss"] for h in tr], color="#0072B2")
    a1.set(xlabel="step", ylabel="training loss", yscale="log")
    a2.plot([h["step"] for h in tr], [h["psnr"] for h in tr], color="#0072B2", label="train batches")
    a2.plot([h["step"] for h in va], [h["psnr"] for h in va], "o-", color="#E69F00", label="held-out")
    a2.set(xlabel="step", ylabel="PSNR (dB)")
    a2.legend()
    fig.tight_layout()
    atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=100))
    plt.close(fig)


def train_vq(
    data_dir: Path | None = None,
    out: Path = Path("assets/vq_faces"),
    steps: int = 2400,
    batch_size: int = 32,
    lr: float = 1e-3,
    threads: int = 1,
    seed: int = 0,
    resume: bool = False,
    ckpt_dir: Path | None = None,
    config: VQConfig | None = None,
    val_every: int = 500,
    ckpt_every: int = 250,
    log_every: int = 25,
    warmup: int = 200,
    commitment: float = 0.25,
    l1_weight: float = 0.1,
) -> dict:
    """Train, checkpoint, validate and export a VQ tokenizer to ``out``; returns the final held-out metrics."""
    torch.set_num_threads(threads)
    data_dir = Path(data_dir) if data_dir else faces_dir("dcgan")
    out, config = Path(out), config or VQConfig()
    ckpt_dir = Path(ckpt_dir) if ckpt_dir else cache_root() / "vq_runs" / out.resolve().name
    if not (data_dir / "train.npy").is_file():
        raise FileNotFoundError(f"{data_dir / 'train.npy'} missing: run python -m training.prepare_faces")
    train = np.load(data_dir / "train.npy", mmap_mode="r")
    val = np.load(data_dir / "val.npy")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = VQAutoencoder(config)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.99), weight_decay=1e-4)
    state = {"step": 0, "seconds": 0.0, "config": asdict(config), "history": {"train": [], "val": []}}
    if resume and (restored := load_checkpoint(ckpt_dir, model, opt, gen)):
        state = restored
        print(f"resumed from step {state['step']} in {ckpt_dir}")
    hist, window = state["history"], []
    t_last = time.perf_counter()
    bar = tqdm(
        range(state["step"], steps), initial=state["step"], total=steps, mininterval=1 if sys.stderr.isatty() else 60
    )
    for step in bar:
        idx = torch.randint(len(train), (batch_size,), generator=gen).sort().values.numpy()
        x = images_to_tensor(train[idx])
        flip = torch.rand(batch_size, generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, steps, lr, warmup)
        window.append(train_step(model, opt, x, commitment, l1_weight))
        done = step + 1
        if done % log_every == 0 or done == steps:
            mse = float(np.mean([w["mse"] for w in window]))
            row = {"step": done, "loss": float(np.mean([w["loss"] for w in window])), "psnr": 10 * math.log10(4 / mse)}
            row["batch_usage"] = float(np.mean([w["used"] for w in window]))
            hist["train"].append(row)
            bar.set_postfix(loss=f"{row['loss']:.4f}", psnr=f"{row['psnr']:.2f}", used=f"{row['batch_usage']:.2f}")
            window = []
        if done % val_every == 0 or done == steps:
            hist["val"].append({"step": done, **evaluate(model, val)})
            tqdm.write(
                " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in hist["val"][-1].items())
            )
        if done % ckpt_every == 0 or done == steps:
            now = time.perf_counter()
            state |= {"step": done, "seconds": state["seconds"] + now - t_last}
            t_last = now
            save_checkpoint(ckpt_dir, model, opt, gen, state)
    bar.close()
    state["seconds"] += time.perf_counter() - t_last
    metrics = hist["val"][-1] if hist["val"] and hist["val"][-1]["step"] == steps else evaluate(model, val)
    tok = ImageTokenizer(model)
    tok.save(out)
    sample = val[:16]
    recon = tok.decode(tok.encode(sample))
    rows = [sample[:8], recon[:8], sample[8:16], recon[8:16]]
    save_grid(np.concatenate(rows), out / "reconstructions.png", cols=8)
    plot_curves(hist, out / "training_curve.png")
    summary = {
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "threads": threads,
        "seed": seed,
        "train_seconds": round(state["seconds"], 1),
        "steps_per_second": round(steps / max(state["seconds"], 1e-9), 3),
        "data": str(data_dir),
        "n_train": len(train),
        "n_val": len(val),
        "val": {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items() if k != "step"},
        "config": asdict(config),
    }
    atomic_write(out / "metrics.json", lambda p: Path(p).write_text(json.dumps(summary, indent=2) + "\n"))
    print(f"exported to {out}: held-out PSNR {metrics['psnr']:.2f} dB, usage {metrics['usage']:.1%}")
    return summary


def main(argv: list[str] | None = None) -> None:
    d = VQConfig()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, help="prepared faces folder (default $GGM_CACHE/faces/dcgan)")
    ap.add_argument("--out", type=Path, default=Path("assets/vq_faces"), help="export folder")
    ap.add_argument("--ckpt-dir", type=Path, help="checkpoint folder (default $GGM_CACHE/vq_runs/<out name>)")
    ap.add_argument("--steps", type=int, default=2400)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--resume", action="store_true", help="continue from the newest checkpoint")
    ap.add_argument("--val-every", type=int, default=500)
    ap.add_argument("--ckpt-every", type=int, default=250)
    ap.add_argument("--codebook-size", type=int, default=d.codebook_size)
    ap.add_argument("--code-dim", type=int, default=d.code_dim)
    ap.add_argument("--channels", type=int, nargs="+", default=list(d.channels))
    ap.add_argument("--res-blocks", type=int, nargs="+", default=list(d.res_blocks))
    a = ap.parse_args(argv)
    config = VQConfig(
        codebook_size=a.codebook_size, code_dim=a.code_dim, channels=tuple(a.channels), res_blocks=tuple(a.res_blocks)
    )
    t0 = time.perf_counter()
    train_vq(
        a.data, a.out, a.steps, a.batch_size, a.lr, a.threads, a.seed, a.resume, a.ckpt_dir, config,
        a.val_every, a.ckpt_every,
    )  # fmt: skip
    print(f"total wall time {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()

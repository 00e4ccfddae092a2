"""Train a GGM model: ``python -m training.train --config training/configs/text_austen.toml``.

Resumable (``--resume``), CPU or CUDA (bf16 autocast), multi-GPU with
``torchrun --nproc_per_node N -m training.train --config ...``. Writes to OUT_DIR:
``checkpoint/state.safetensors`` (resume), ``checkpoint/record.json`` (step, losses, wall time),
``model/`` (the exported checkpoint), ``loss_curve.png`` and ``samples/``. Validation, samples and the
export use the weight average (``ema_decay``, training/weight_average.py).
"""

import gc
import json
import math
import os
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from tqdm import tqdm

from ggm_core.atomic import remove_stale_temporaries
from ggm_core.saving import replace_model_folder
from training.config import TrainConfig, load_config
from training.data import load_data
from training.families import build_model
from training.init_weights import copy_tokenizer, initialise_from
from training.plots import plot_loss_curve, write_samples
from training.train_state import PREVIOUS_FILE, STATE_FILE, load_state, save_state
from training.weight_average import WeightAverage

DIVERGENCE_FACTOR = 100  # a loss risen by this many times the size of its first value gets a warning


class Objective(nn.Module):
    """The loss as a module, so DistributedDataParallel sees the forward pass and syncs gradients."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model
        self.network = model.network

    def forward(self, x0: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, int]:
        return self.model.loss(x0, generator)


def learning_rate(cfg: TrainConfig, step: int) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_ratio · lr`` at ``decay_steps`` (default ``max_steps``)."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    end = cfg.decay_steps or cfg.max_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, end - cfg.warmup_steps))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def validation_loss(model, batches: list[torch.Tensor], device: torch.device, autocast) -> float:
    """Mean loss per supervised position on fixed batches with fixed noise (comparable across evals)."""
    model.network.eval()
    gen = torch.Generator().manual_seed(4321)
    total, count = 0.0, 0
    for batch in batches:
        with autocast():
            loss, n = model.loss(batch.to(device), gen)
        total, count = total + loss.item() * n, count + n
    model.network.train()
    return total / count


# The fields that shape the network, the process or the data: a resumed run must keep them.
ARCHITECTURE = ("dataset", "corpus", "windows", "faces", "vq_dir", "vocab_size", "seq_len", "family", "denoiser", "d_model",
                "n_layers", "n_heads", "mlp_ratio", "positions", "widths", "blackout_weighting", "sweeps",
                "survival", "eps", "noise")  # fmt: skip


def config_changes(saved: Path, cfg: TrainConfig) -> dict:
    """Fields whose value differs from the run's saved ``config.json``: {name: (saved, now)}."""
    if not saved.is_file():
        return {}
    before = json.loads(saved.read_text())
    now = cfg.to_dict()
    return {k: (before[k], now[k]) for k in now if k in before and before[k] != now[k]}


def all_finite(tensors) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in tensors if t.is_floating_point())


def stop_message(problem: str, state_path: Path) -> str:
    """Why training stopped, and what to resume from (the last good checkpoint, if one was written)."""
    if state_path.is_file():
        return f"{problem}; stopping. The last good checkpoint is {state_path} (resume with --resume, perhaps with a lower --lr)."
    return f"{problem}; stopping before any checkpoint was written (start again, perhaps with a lower --lr)."


def agreed(*flags: bool) -> tuple[bool, ...]:
    """Each flag True on every rank when it is True on any (one process: the flags themselves), in one collective.
    Ranks that decided alone (each its own clock, its own loss) could part ways, one in a collective the other
    never enters: a hang."""
    if not (dist.is_available() and dist.is_initialized()):
        return flags
    values = torch.tensor([float(f) for f in flags], device="cuda" if dist.get_backend() == "nccl" else "cpu")
    dist.all_reduce(values, op=dist.ReduceOp.MAX)
    return tuple(bool(v) for v in values.tolist())


def parameter_checksum(module: nn.Module) -> float:
    return float(sum(p.detach().double().sum() for p in module.parameters()))


def train(cfg: TrainConfig, resume: bool = False) -> dict:
    """Run (or resume) training; returns the final record (step, losses, wall time)."""
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank = int(os.environ.get("RANK", "0"))
    device = torch.device(
        "cuda" if cfg.device == "auto" and torch.cuda.is_available() else cfg.device.replace("auto", "cpu")
    )
    if distributed:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
            torch.cuda.set_device(device)
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    main_process = rank == 0
    out = Path(cfg.out_dir)
    torch.manual_seed(cfg.seed)
    preparer = int(os.environ.get("LOCAL_RANK", "0")) == 0  # one process a machine writes the data caches
    if distributed and not preparer:
        dist.barrier()  # it prepares first (corpus, BPE, face codes); the others then read what it wrote
    if cfg.init_from and cfg.dataset == "text":
        copy_tokenizer(Path(cfg.init_from), out / "tokenizer")
    data = load_data(cfg, out, device)
    if distributed and preparer:
        dist.barrier()
    model = build_model(cfg, data)
    if cfg.init_from and not resume:
        initialise_from(model, Path(cfg.init_from))
    model.metadata = {"training_config": cfg.to_dict()}
    model.network.to(device).train()
    average = WeightAverage(model.network, cfg.ema_decay)
    objective = Objective(model)
    if distributed:
        objective = nn.parallel.DistributedDataParallel(
            objective, device_ids=[device.index] if device.type == "cuda" else None
        )
    decay = [p for n, p in model.network.named_parameters() if p.dim() >= 2 and "embedding" not in n]
    no_decay = [p for n, p in model.network.named_parameters() if not (p.dim() >= 2 and "embedding" not in n)]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, cfg.beta2),
    )
    rngs = {
        "data": torch.Generator().manual_seed(cfg.seed * 1000 + rank),
        "noise": torch.Generator().manual_seed(cfg.seed * 1000 + 500 + rank),
    }
    state_path = out / "checkpoint" / STATE_FILE
    record = {"step": 0, "train_loss": [], "val_loss": [], "wall_seconds": 0.0, "positions_seen": 0, "sync_checks": 0}
    for folder in (out / "checkpoint", out / "model"):
        for stale in remove_stale_temporaries(folder):
            print(f"removed {stale}, left by an interrupted write")
    if resume:
        if not state_path.is_file() and not state_path.with_name(PREVIOUS_FILE).is_file():
            raise SystemExit(
                f"--resume: {state_path} does not exist (no checkpoint written yet); start without --resume"
            )
        changed = config_changes(out / "config.json", cfg)
        if fixed := {k: v for k, v in changed.items() if k in ARCHITECTURE}:
            raise SystemExit(
                f"--resume: the run in {out} was trained with a different model or data: "
                + ", ".join(f"{k} {old!r} → {new!r}" for k, (old, new) in fixed.items())
                + ". Resume with the same values, or train into a new --out-dir."
            )
        if changed and main_process:
            print("resuming with changed settings: " + ", ".join(f"{k} {a!r} → {b!r}" for k, (a, b) in changed.items()))
        record = load_state(state_path, model.network, average, optimizer, rngs, rank)
        if main_process:
            print(f"resumed from {state_path} at step {record['step']}")
    val_batches = data.val_batches(cfg.eval_batches, cfg.batch_size, cfg.seq_len)
    use_cuda = device.type == "cuda"

    def autocast():
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_cuda)

    def checkpoint() -> None:
        weights = [*model.network.state_dict().values(), *average.weights.values()]
        finite = all_finite(weights)
        (non_finite,) = agreed(not finite)  # never write a bad state over a good one; every rank stops
        if non_finite:  # (before the sync check, which would call NaN sums "out of sync")
            where = "" if not finite else " on another rank"
            raise SystemExit(stop_message(f"the weights are not finite{where} at step {record['step']}", state_path))
        if distributed:  # the ranks must hold identical weights; fail loudly if they do not
            sums = [None] * dist.get_world_size()
            dist.all_gather_object(sums, parameter_checksum(model.network))
            if len(set(sums)) != 1:
                raise RuntimeError(f"ranks out of sync at step {record['step']}: parameter sums {sums}")
            record["sync_checks"] += 1
        rng_states = [{name: generator.get_state() for name, generator in rngs.items()}]
        if distributed:  # every rank's own streams, so that a resumed rank does not replay rank 0's batches
            rng_states = [None] * dist.get_world_size()
            dist.all_gather_object(rng_states, {name: generator.get_state() for name, generator in rngs.items()})
        if main_process:
            save_state(state_path, model.network, average, optimizer, rng_states, record)
            with average.applied(model.network):
                replace_model_folder(model, out / "model", getattr(torch, cfg.export_dtype))
            plot_loss_curve(record, out / "loss_curve.png")

    if main_process:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=1))

    def validate(step: int) -> float:
        """Record the weight average's validation loss; a GGM trained with the clean context gets its main
        task (comparable with runs without it) and the clean task (``clean_val_loss``) apart."""
        with average.applied(model.network):
            if not getattr(model, "refines", False):
                val = validation_loss(model, val_batches, device, autocast)
            else:
                val = validation_loss(replace(model, clean_share=0.0), val_batches, device, autocast)
                clean = validation_loss(replace(model, clean_share=1.0), val_batches, device, autocast)
                record.setdefault("clean_val_loss", []).append([step, clean])
        record["val_loss"].append([step, val])
        return val

    if record["step"] == 0:
        validate(0)
    start_step, started = record["step"], time.perf_counter()
    saved_at = started
    wall_before = record["wall_seconds"]
    bar = tqdm(total=cfg.max_steps, initial=start_step, disable=not main_process, dynamic_ncols=True, desc="train")
    window_start, window_positions = time.perf_counter(), 0
    first_loss = record["train_loss"][0][1] if record["train_loss"] else None  # the run's, across resumes
    warned = False
    for step in range(start_step, cfg.max_steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(cfg, step)
        x0 = data.batch(cfg.batch_size, cfg.seq_len, rngs["data"]).to(device)
        with autocast():
            loss, supervised = objective(x0, rngs["noise"])
        (non_finite,) = agreed(not torch.isfinite(loss))  # every rank stops, not only the one that saw it
        if non_finite:
            seen = (
                f"loss became {loss.item()}" if not torch.isfinite(loss) else "loss became non-finite on another rank"
            )
            raise SystemExit(stop_message(f"{seen} at step {step}", state_path))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.network.parameters(), cfg.grad_clip)
        if not torch.isfinite(grad_norm):  # a finite loss can still have NaN gradients: do not step on them
            raise SystemExit(stop_message(f"the gradients became non-finite at step {step}", state_path))
        first_loss = loss.item() if first_loss is None else first_loss
        if not warned and loss.item() - first_loss > DIVERGENCE_FACTOR * abs(first_loss) and main_process:
            warned = True
            bar.write(
                f"warning: the loss {loss.item():.3g} at step {step} has risen by over {DIVERGENCE_FACTOR}× the size "
                f"of its first value {first_loss:.3g}: training is diverging (try a lower --lr)"
            )
        optimizer.step()
        average.update(model.network)
        record["step"] = step + 1
        record["positions_seen"] += supervised * (dist.get_world_size() if distributed else 1)
        record["train_loss"].append([step + 1, loss.item()])
        record["wall_seconds"] = wall_before + time.perf_counter() - started
        window_positions += supervised
        if main_process:
            rate = window_positions / max(1e-9, time.perf_counter() - window_start)
            bar.set_postfix(
                loss=f"{loss.item():.4f}",
                pos_s=f"{rate:,.0f}",
                lr=f"{learning_rate(cfg, step):.2e}",
                gnorm=f"{grad_norm:.2f}",
            )
            bar.update(1)
        if (step + 1) % 50 == 0:
            window_start, window_positions = time.perf_counter(), 0
        last = step + 1 == cfg.max_steps
        now = time.perf_counter()
        out_of_time, minutes_up = agreed(
            cfg.max_minutes > 0 and now - started > 60 * cfg.max_minutes,
            cfg.checkpoint_minutes > 0 and now - saved_at > 60 * cfg.checkpoint_minutes,
        )
        if (step + 1) % cfg.eval_every == 0 or last or out_of_time:
            val = validate(step + 1)
            if main_process:
                clean = f" clean {record['clean_val_loss'][-1][1]:.4f}" if "clean_val_loss" in record else ""
                bar.write(
                    f"step {step + 1}: train {loss.item():.4f}  val {val:.4f}{clean}  "
                    f"({record['positions_seen']:,} positions)"
                )
        if main_process and ((step + 1) % cfg.sample_every == 0 or last or out_of_time):
            with average.applied(model.network):
                write_samples(
                    model, data.tokenizer, out / "samples" / f"step_{step + 1:06d}", cfg.num_samples, seed=step
                )
            model.network.train()
        if (step + 1) % cfg.checkpoint_every == 0 or last or out_of_time or minutes_up:
            checkpoint()
            saved_at = time.perf_counter()
        if out_of_time:
            if main_process:
                bar.write(f"max_minutes={cfg.max_minutes} reached at step {step + 1}; resume with --resume")
            break
    bar.close()
    if distributed:
        # Free DDP's reducer while the process group is still registered: freed after it, the reducer held the
        # group's last reference and ran gloo's destructor with the GIL held, which joins worker threads that may
        # need the GIL to free a collective's tensors (a deadlock: rank 0 hung at exit in a 2-rank test).
        objective = None
        gc.collect()
        dist.barrier()  # leave together, with no collective in flight: the group then goes with idle workers
        dist.destroy_process_group()
    return record


def main(argv: list[str] | None = None) -> None:
    cfg, resume = load_config(argv)
    record = train(cfg, resume)
    if int(os.environ.get("RANK", "0")) == 0:
        val = record["val_loss"][-1][1] if record["val_loss"] else float("nan")
        print(
            f"done: step {record['step']}, val loss {val:.4f}, {record['positions_seen']:,} positions, {record['wall_seconds'] / 60:.1f} min"
        )


if __name__ == "__main__":
    main()

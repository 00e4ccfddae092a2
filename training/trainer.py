"""The training loop as a library: :class:`Trainer` builds a run from a :class:`~training.config.TrainConfig` (data,
model, optimiser, weight average, resumed state) and runs it step by step, validating, sampling and checkpointing
as the config says. ``training/train.py`` is its command line.

Resumable (``resume=True``), CPU or CUDA (bf16 autocast), multi-GPU under ``torchrun``. Writes to OUT_DIR:
``checkpoint/state.safetensors`` (resume), ``checkpoint/record.json`` (step, losses, wall time), ``model/`` (the
exported checkpoint), ``model_best/`` (the export with the lowest validation loss yet), ``config.json`` (the run's
settings), ``model_config.json`` (the model's own config, which a resumed run must keep), ``loss_curve.png`` and
``samples/``. Validation, samples and the export use the weight
average (``ema_decay``, training/weight_average.py).
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

from ggm_core.atomic import atomic_write_bytes, remove_stale_temporaries
from ggm_core.saving import CONFIG_FILE, replace_model_folder
from training.config import TrainConfig
from training.data import DATA_FIELDS, load_data
from training.families import build_model
from training.init_weights import copy_tokenizer, initialise_from
from training.plots import plot_loss_curve, write_samples
from training.train_state import PREVIOUS_FILE, STATE_FILE, load_state, save_state
from training.weight_average import WeightAverage

DIVERGENCE_FACTOR = 100  # a loss risen by this many times the size of its first value gets a warning
MODEL_CONFIG_FILE = "model_config.json"


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


def model_signature(model) -> dict:
    """What a resumed run must keep: the family's name and its own config (``config_dict``), as JSON reads it back."""
    return json.loads(json.dumps({"family": model.family, **model.config_dict()}))


def saved_signature(out: Path) -> dict | None:
    """The signature the run in ``out`` was started with (``model_config.json``), or for runs from before that file,
    read from its exported checkpoint's config; None when neither exists."""
    if (out / MODEL_CONFIG_FILE).is_file():
        return json.loads((out / MODEL_CONFIG_FILE).read_text())
    exported = out / "model" / CONFIG_FILE
    if not exported.is_file() or "format_version" not in (config := json.loads(exported.read_text())):
        return None
    own = {k: v for k, v in config.items() if k not in ("format_version", "family", "tokenizer", "metadata")}
    return {"family": config.get("family", "ggm"), **own}


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


def done_line(record: dict) -> str:
    """The line a finished run ends with: step, last validation loss, positions seen, wall time."""
    val = record["val_loss"][-1][1] if record["val_loss"] else float("nan")
    return (
        f"done: step {record['step']}, val loss {val:.4f}, {record['positions_seen']:,} positions, "
        f"{record['wall_seconds'] / 60:.1f} min"
    )


class Trainer:
    """One training run: set up by the constructor (resumed from OUT_DIR/checkpoint when ``resume``), run by
    :meth:`run`, which returns the record (step, losses, wall time)."""

    def __init__(self, cfg: TrainConfig, resume: bool = False) -> None:
        self.cfg, self.resume = cfg, resume
        self.distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
        self.rank = int(os.environ.get("RANK", "0"))
        self.main_process = self.rank == 0
        self.device = self._start_processes()
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        self.out = Path(cfg.out_dir)
        self.state_path = self.out / "checkpoint" / STATE_FILE
        torch.manual_seed(cfg.seed)
        self.data = self._load_data()
        self.model = build_model(cfg, self.data)
        if cfg.init_from and not resume:
            initialise_from(self.model, Path(cfg.init_from))
        self.model.metadata = {"training_config": cfg.to_dict()}
        self.model.network.to(self.device).train()
        self.average = WeightAverage(self.model.network, cfg.ema_decay)
        self.objective = Objective(self.model)
        if self.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.objective = nn.parallel.DistributedDataParallel(self.objective, device_ids=ids)
        self.optimizer = self._optimizer()
        self.rngs = {
            "data": torch.Generator().manual_seed(cfg.seed * 1000 + self.rank),
            "noise": torch.Generator().manual_seed(cfg.seed * 1000 + 500 + self.rank),
        }
        self.record = {"step": 0, "train_loss": [], "val_loss": [], "wall_seconds": 0.0, "positions_seen": 0,
                       "sync_checks": 0}  # fmt: skip
        for folder in (self.out / "checkpoint", self.out / "model"):
            for stale in remove_stale_temporaries(folder):
                print(f"removed {stale}, left by an interrupted write")
        if resume:
            self._resume()
        self.val_batches = self.data.val_batches(cfg.eval_batches, cfg.batch_size, cfg.seq_len)
        if self.main_process:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=1))
            atomic_write_bytes(self.out / MODEL_CONFIG_FILE, json.dumps(model_signature(self.model), indent=1).encode())

    # ------------------------------------------------------------------------------------------ set-up
    def _start_processes(self) -> torch.device:
        cfg = self.cfg
        device = torch.device(
            "cuda" if cfg.device == "auto" and torch.cuda.is_available() else cfg.device.replace("auto", "cpu")
        )
        if self.distributed:
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
            if device.type == "cuda":
                device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
                torch.cuda.set_device(device)
        return device

    def _load_data(self):
        """The data, prepared by one process a machine (corpus, BPE, face codes) while the others wait, then read."""
        cfg = self.cfg
        preparer = int(os.environ.get("LOCAL_RANK", "0")) == 0
        if self.distributed and not preparer:
            dist.barrier()
        if cfg.init_from and cfg.dataset == "text":
            copy_tokenizer(Path(cfg.init_from), self.out / "tokenizer")
        data = load_data(cfg, self.out, self.device)
        if self.distributed and preparer:
            dist.barrier()
        return data

    def _optimizer(self) -> torch.optim.Optimizer:
        """AdamW; weight decay on matrices other than embeddings only."""
        named = list(self.model.network.named_parameters())
        decayed = [p for n, p in named if p.dim() >= 2 and "embedding" not in n]
        others = [p for n, p in named if not (p.dim() >= 2 and "embedding" not in n)]
        groups = [{"params": decayed, "weight_decay": self.cfg.weight_decay}, {"params": others, "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=self.cfg.lr, betas=(0.9, self.cfg.beta2))

    def _resume(self) -> None:
        """Load the last good state, after checking the run keeps its model (the family's own config) and data."""
        if not self.state_path.is_file() and not self.state_path.with_name(PREVIOUS_FILE).is_file():
            raise SystemExit(
                f"--resume: {self.state_path} does not exist (no checkpoint written yet); start without --resume"
            )
        changed = config_changes(self.out / "config.json", self.cfg)
        saved = saved_signature(self.out)
        now = model_signature(self.model)
        sections = sorted(
            k for k in (saved or {}).keys() | now.keys() if saved is not None and saved.get(k) != now.get(k)
        )
        data = [k for k in changed if k in DATA_FIELDS]
        if sections or data:
            settings = ", ".join(f"{k} {old!r} → {new!r}" for k, (old, new) in changed.items()) or "no setting"
            differ = ", ".join([*(f"the model's {s}" for s in sections), *(f"the data's {k}" for k in data)])
            raise SystemExit(
                f"--resume: the run in {self.out} was trained with a different model or data: {settings} (so "
                f"{differ} differ). Resume with the same values, or train into a new --out-dir."
            )
        if changed and self.main_process:
            print("resuming with changed settings: " + ", ".join(f"{k} {a!r} → {b!r}" for k, (a, b) in changed.items()))
        self.record = load_state(
            self.state_path, self.model.network, self.average, self.optimizer, self.rngs, self.rank
        )
        if self.main_process:
            print(f"resumed from {self.state_path} at step {self.record['step']}")

    # ------------------------------------------------------------------------------------------ a step
    def autocast(self):
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda")

    def step(self, step: int) -> tuple[torch.Tensor, int, torch.Tensor]:
        """One optimiser step on a fresh batch: (loss, supervised positions, gradient norm). Stops the run on a
        non-finite loss or gradient, before it could reach the weights."""
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.cfg, step)
        x0 = self.data.batch(self.cfg.batch_size, self.cfg.seq_len, self.rngs["data"]).to(self.device)
        with self.autocast():
            loss, supervised = self.objective(x0, self.rngs["noise"])
        (non_finite,) = agreed(not torch.isfinite(loss))  # every rank stops, not only the one that saw it
        if non_finite:
            seen = (
                f"loss became {loss.item()}" if not torch.isfinite(loss) else "loss became non-finite on another rank"
            )
            raise SystemExit(stop_message(f"{seen} at step {step}", self.state_path))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.network.parameters(), self.cfg.grad_clip)
        if not torch.isfinite(grad_norm):  # a finite loss can still have NaN gradients: do not step on them
            raise SystemExit(stop_message(f"the gradients became non-finite at step {step}", self.state_path))
        self.optimizer.step()
        self.average.update(self.model.network)
        return loss, supervised, grad_norm

    # ------------------------------------------------------------------------------------------ around steps
    def validate(self, step: int) -> float:
        """Record the weight average's validation loss; a GGM trained with the clean context gets its main
        task (comparable with runs without it) and the clean task (``clean_val_loss``) apart."""
        model, batches = self.model, self.val_batches
        with self.average.applied(model.network):
            if not getattr(model, "refines", False):
                val = validation_loss(model, batches, self.device, self.autocast)
            else:
                val = validation_loss(replace(model, clean_share=0.0), batches, self.device, self.autocast)
                clean = validation_loss(replace(model, clean_share=1.0), batches, self.device, self.autocast)
                self.record.setdefault("clean_val_loss", []).append([step, clean])
        self.record["val_loss"].append([step, val])
        return val

    def keep_if_best(self, step: int, val: float) -> None:
        """Export the weight average to OUT_DIR/model_best when its validation loss is the run's lowest yet (``model/``
        is always the latest: a run that overfits keeps its best model too)."""
        earlier = [v for s, v in self.record["val_loss"][:-1] if s > 0]
        if step == 0 or not math.isfinite(val) or (earlier and val >= min(earlier)):
            return
        with self.average.applied(self.model.network):
            replace_model_folder(self.model, self.out / "model_best", getattr(torch, self.cfg.export_dtype))
        self.model.network.train()
        self.record["best_val_loss"] = [step, val]

    def write_samples(self, step: int) -> None:
        with self.average.applied(self.model.network):
            folder = self.out / "samples" / f"step_{step:06d}"
            write_samples(self.model, self.data.tokenizer, folder, self.cfg.num_samples, seed=step - 1)
        self.model.network.train()

    def checkpoint(self) -> None:
        """Write the state and the exported model, never a non-finite state over a good one; ranks must agree."""
        record, network = self.record, self.model.network
        finite = all_finite([*network.state_dict().values(), *self.average.weights.values()])
        (non_finite,) = agreed(not finite)  # every rank stops (before the sync check, which would call NaN sums
        if non_finite:  # "out of sync")
            where = "" if not finite else " on another rank"
            raise SystemExit(
                stop_message(f"the weights are not finite{where} at step {record['step']}", self.state_path)
            )
        if self.distributed:  # the ranks must hold identical weights; fail loudly if they do not
            sums = [None] * dist.get_world_size()
            dist.all_gather_object(sums, parameter_checksum(network))
            if len(set(sums)) != 1:
                raise RuntimeError(f"ranks out of sync at step {record['step']}: parameter sums {sums}")
            record["sync_checks"] += 1
        rng_states = [{name: generator.get_state() for name, generator in self.rngs.items()}]
        if self.distributed:  # every rank's own streams, so that a resumed rank does not replay rank 0's batches
            rng_states = [None] * dist.get_world_size()
            dist.all_gather_object(rng_states, {name: g.get_state() for name, g in self.rngs.items()})
        if self.main_process:
            save_state(self.state_path, network, self.average, self.optimizer, rng_states, record)
            with self.average.applied(network):
                replace_model_folder(self.model, self.out / "model", getattr(torch, self.cfg.export_dtype))
            plot_loss_curve(record, self.out / "loss_curve.png")

    # ------------------------------------------------------------------------------------------ the loop
    def run(self) -> dict:
        """Train to ``max_steps`` (or ``max_minutes``); returns the record."""
        cfg, record = self.cfg, self.record
        if record["step"] == 0:
            self.validate(0)
        start_step, started = record["step"], time.perf_counter()
        saved_at, wall_before = started, record["wall_seconds"]
        bar = tqdm(total=cfg.max_steps, initial=start_step, disable=not self.main_process, dynamic_ncols=True,
                   desc="train")  # fmt: skip
        window_start, window_positions = time.perf_counter(), 0
        first_loss = record["train_loss"][0][1] if record["train_loss"] else None  # the run's, across resumes
        warned = False
        for step in range(start_step, cfg.max_steps):
            loss, supervised, grad_norm = self.step(step)
            first_loss = loss.item() if first_loss is None else first_loss
            if not warned and loss.item() - first_loss > DIVERGENCE_FACTOR * abs(first_loss) and self.main_process:
                warned = True
                bar.write(
                    f"warning: the loss {loss.item():.3g} at step {step} has risen by over {DIVERGENCE_FACTOR}× the "
                    f"size of its first value {first_loss:.3g}: training is diverging (try a lower --lr)"
                )
            record["step"] = step + 1
            record["positions_seen"] += supervised * (dist.get_world_size() if self.distributed else 1)
            record["train_loss"].append([step + 1, loss.item()])
            record["wall_seconds"] = wall_before + time.perf_counter() - started
            window_positions += supervised
            if self.main_process:
                rate = window_positions / max(1e-9, time.perf_counter() - window_start)
                bar.set_postfix(loss=f"{loss.item():.4f}", pos_s=f"{rate:,.0f}", lr=f"{learning_rate(cfg, step):.2e}",
                                gnorm=f"{grad_norm:.2f}")  # fmt: skip
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
                val = self.validate(step + 1)
                if self.main_process:
                    self.keep_if_best(step + 1, val)
                    clean = f" clean {record['clean_val_loss'][-1][1]:.4f}" if "clean_val_loss" in record else ""
                    bar.write(f"step {step + 1}: train {loss.item():.4f}  val {val:.4f}{clean}  "
                              f"({record['positions_seen']:,} positions)")  # fmt: skip
            if self.main_process and ((step + 1) % cfg.sample_every == 0 or last or out_of_time):
                self.write_samples(step + 1)
            if (step + 1) % cfg.checkpoint_every == 0 or last or out_of_time or minutes_up:
                self.checkpoint()
                saved_at = time.perf_counter()
            if out_of_time:
                if self.main_process:
                    bar.write(f"max_minutes={cfg.max_minutes} reached at step {step + 1}; resume with --resume")
                break
        bar.close()
        self.close()
        return record

    def close(self) -> None:
        if not self.distributed:
            return
        # Free DDP's reducer while the process group is still registered: freed after it, the reducer held the
        # group's last reference and ran gloo's destructor with the GIL held, which joins worker threads that may
        # need the GIL to free a collective's tensors (a deadlock: rank 0 hung at exit in a 2-rank test).
        self.objective = None
        gc.collect()
        dist.barrier()  # leave together, with no collective in flight: the group then goes with idle workers
        dist.destroy_process_group()


def train(cfg: TrainConfig, resume: bool = False) -> dict:
    """Run (or resume) training; returns the final record (step, losses, wall time)."""
    return Trainer(cfg, resume).run()

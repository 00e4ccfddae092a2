"""Classic versus two-sided denoiser on this machine: training supervision rate and exact sampling cost.

    python -m training.benchmark_denoisers [--lengths 64 256] [--threads 1]

The two-sided sample is timed (the median of ``--repeats``; the classic one, K·L full passes, once) on the eager
decode step and on the compiled one (ggm_core.ggm.denoisers.decode_step;
its compile time is printed), beside the floor of a decode step: the weights it reads once, over this machine's
measured memory bandwidth. Prints a markdown table (and writes it with ``--out``). Random weights and tokens:
speed does not depend on what the model learned.
"""

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch

from ggm_core.events import run_to_end
from ggm_core.ggm.denoisers import build_denoiser
from ggm_core.ggm.model import GlauberModel
from ggm_core.ggm.noise import NoiseDistribution
from ggm_core.ggm.schedule import GlauberSchedule
from ggm_core.transformer import TransformerConfig


def training_rate(model: GlauberModel, batch_size: int, steps: int) -> float:
    """Supervised positions per second over ``steps`` optimiser steps (after one warm-up step)."""
    optimizer = torch.optim.AdamW(model.denoiser.parameters(), lr=1e-4)
    gen = torch.Generator().manual_seed(0)
    x0 = torch.randint(model.noise.vocab_size, (batch_size, model.schedule.seq_len), generator=gen)
    model.denoiser.train()
    positions, elapsed = 0, 0.0
    for step in range(steps + 1):
        start = time.perf_counter()
        loss, supervised = model.loss(x0, gen)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step > 0:
            positions, elapsed = positions + supervised, elapsed + time.perf_counter() - start
    return positions / elapsed


def sampling_cost(model: GlauberModel, repeats: int = 1) -> tuple[float, int]:
    """Wall seconds (the median of ``repeats``) and network calls of one exact sample (batch 1)."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        last = run_to_end(model.sample(batch_size=1, seed=0))
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), last.nfe


def read_bandwidth(megabytes: int = 512, repeats: int = 5) -> float:
    """Bytes a second this machine reads from memory (the best of ``repeats`` sums over a buffer)."""
    buffer = torch.ones(megabytes * 2**20 // 4)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        buffer.sum()
        best = min(best, time.perf_counter() - start)
    return buffer.numel() * 4 / best


def decode_weight_bytes(denoiser) -> int:
    """Bytes of the weights one cached decode step reads: every block's linear layers and the output layer
    (the time modulations are computed once a sweep)."""
    layers = [m for block in denoiser.blocks for m in (block.qkv, block.proj, block.mlp[0], block.mlp[2])]
    layers.append(denoiser.head.linear)
    return sum(p.numel() * p.element_size() for layer in layers for p in layer.parameters())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--sweeps", type=int, default=4)
    parser.add_argument("--vocab-size", type=int, default=512)
    parser.add_argument("--d-model", type=int, default=256)
    parser.add_argument("--n-layers", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--train-steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5, help="two-sided samples timed per path (the median)")
    parser.add_argument("--out", type=Path, help="also write the table to this markdown file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    bandwidth = read_bandwidth()
    print(f"memory read bandwidth: {bandwidth / 1e9:.1f} GB/s", flush=True)
    rows = []
    for L in args.lengths:
        results = {}
        for kind in ("classic", "two_sided"):
            torch.manual_seed(0)
            config = TransformerConfig(args.vocab_size, L, args.d_model, args.n_layers, n_heads=4)
            model = GlauberModel(
                build_denoiser(kind, config),
                GlauberSchedule(L, args.sweeps),
                NoiseDistribution.uniform(args.vocab_size),
            )
            params = sum(p.numel() for p in model.denoiser.parameters())
            rate = training_rate(model, args.batch_size, args.train_steps)
            seconds, calls = sampling_cost(model, 1 if kind == "classic" else args.repeats)  # classic: K·L calls
            results[kind] = (rate, seconds, calls)
            print(
                f"L={L} {kind}: {params / 1e6:.1f}M params, {rate:,.0f} positions/s, sample {seconds:.2f}s / {calls} calls",
                flush=True,
            )
        print(f"L={L} two_sided: {model.warm_up()}", flush=True)
        compiled, _ = sampling_cost(model, args.repeats)
        floor = decode_weight_bytes(model.denoiser) / bandwidth * calls
        print(f"L={L} two_sided compiled: sample {compiled:.2f}s; floor {floor:.3f}s", flush=True)
        (rc, sc, nc), (rt, st, nt) = results["classic"], results["two_sided"]
        rows.append(
            f"| {L} | {rc:,.0f} | {rt:,.0f} | **{rt / rc:.0f}×** | {sc:.2f} s ({nc} calls) | {st:.2f} s "
            f"(**{sc / st:.1f}×**) | {compiled:.2f} s (**{sc / compiled:.1f}×**) | {floor:.3f} s "
            f"| {st / floor:.1f}× / {compiled / floor:.1f}× |"
        )
    header = [
        f"Model: d_model={args.d_model}, {args.n_layers} layers, V={args.vocab_size} ({params / 1e6:.1f}M parameters); "
        f"K={args.sweeps} sweeps; training batch {args.batch_size}; {args.threads} CPU thread(s); "
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}; memory read "
        f"{bandwidth / 1e9:.1f} GB/s.",
        "",
        "| L | classic: positions/s (train) | two-sided: positions/s | ratio | classic: exact sample "
        f"| two-sided, eager: exact sample ({nt} calls), speed-up | two-sided, compiled: speed-up "
        "| floor: decode weights / bandwidth | eager / compiled over the floor |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    table = "\n".join(header + rows)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()

"""The plan for a lent GPU: one command trains, at once on the one GPU, the runs that most improve what users see.

    python -m tools.gpu_plan --minutes 8 --pack $OUT         # on the GPU machine (see below)
    python -m tools.gpu_plan --unpack /path/to/returned/files  # back here: run folders under runs/gpu/
    python -m tools.gpu_plan --smoke --minutes 1              # the same plan, tiny, on this CPU (a test runs it)

Every run is one ``training.train`` process (the judge's through ``training.train_judge``) with its config file
plus the overrides below, all started together, each stopping after ``--minutes`` (``max_minutes``, agreed over
ranks) and checkpointing every minute (``checkpoint_minutes``); started again with the same ``--out``, each
resumes from its last checkpoint. The text runs share the shipped BPE (``assets/text_austen/tokenizer.json``), so
the judge can read them all. ``--pack DIR`` then writes one ``<run>.tar`` per run (the exported fp16 model, record,
loss curve and config; never the optimiser state or the VQ tokenizer, which is ``assets/vq_faces``): at most 8
files of at most 16 MiB, 64 MiB in all, what the device tool brings back. Each run folder is then ready for
``training.publish_text`` / ``training.publish_faces``.

On the device tool (its README): the machine has torch, tokenizers, safetensors, transformers and matplotlib but
no network and no Debian packages, so carry the prepared data: here, ``python -m tools.gpu_plan --stage
gpu_carry`` copies the Austen splits and the ``gan-face-generate`` wheel into ``gpu_carry/`` (ignored by git);
then ``run`` with ``carry: ["gpu_carry"]`` and the command ``python3 -m pip install -q --no-deps --target
/tmp/site gpu_carry/*.whl && PYTHONPATH=/tmp/site:. GGM_CACHE=gpu_carry/cache python3 -m tools.gpu_plan
--prepare --minutes 8 --pack $OUT`` (``--prepare`` makes the DCGAN faces there first, about a minute on its 16
cores).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from training.init_weights import copy_tokenizer

ROOT = Path(__file__).resolve().parents[1]
PACK_LIMIT = 16 * 2**20  # the device tool brings back files of at most 16 MiB, 64 MiB in all
PACKED = ("model", "checkpoint/record.json", "loss_curve.png", "config.json", "samples")
SKIPPED_IN_PACK = ("vq.safetensors",)  # the face models' VQ tokenizer: assets/vq_faces has it
BPE = ROOT / "assets" / "text_austen" / "tokenizer.json"


@dataclass(frozen=True)
class PlanRun:
    """One run of the plan: a config file, what the GPU run changes, and what the CPU smoke run changes."""

    name: str
    config: str
    gpu: dict
    smoke: dict = field(default_factory=dict)
    module: str = "training.train"

    @property
    def text(self) -> bool:
        return "austen" in self.config or "judge" in self.config


SMOKE = {"max_steps": 3, "warmup_steps": 1, "threads": 1, "eval_batches": 1, "num_samples": 1}
SMOKE_TEXT = SMOKE | {"seq_len": 32, "d_model": 32, "n_layers": 2, "n_heads": 2, "batch_size": 8}
SMOKE_FACES = SMOKE | {"d_model": 32, "n_layers": 1, "n_heads": 2, "batch_size": 4}
COMMON = {"eval_every": 500, "sample_every": 100000, "checkpoint_every": 100000, "checkpoint_minutes": 1.0}

# Sizes: on the H200 each of six processes gets about a sixth of it for ~8 minutes; the exported fp16 models
# must fit the 64 MiB that comes back (text 8192-token models ~15 MB each, the rest smaller).
RUNS = (
    PlanRun("faces_ggm", "training/configs/faces.toml",
            {"d_model": 320, "n_layers": 8, "n_heads": 5, "batch_size": 128, "lr": 1e-3, "warmup_steps": 300,
             "max_steps": 6000, "clean_share": 0.25, "augment": "flip", "ema_decay": 0.999}, SMOKE_FACES),
    PlanRun("text_ggm", "training/configs/text_austen.toml",  # whole documents (END, PAD), as the app reads text
            {"windows": "documents", "batch_size": 64, "lr": 1.5e-3, "max_steps": 6000, "clean_share": 0.25},
            SMOKE_TEXT),
    PlanRun("text_md4", "training/configs/md4_austen_documents.toml",  # MD4's reference recipe (arXiv 2406.04329)
            {"batch_size": 256, "lr": 3e-4, "warmup_steps": 2000, "beta2": 0.999,
             "weight_decay": 0.0, "ema_decay": 0.9999, "max_steps": 20000}, SMOKE_TEXT),
    PlanRun("faces_md4", "training/configs/md4_faces.toml",
            {"batch_size": 128, "lr": 1e-3, "warmup_steps": 300, "max_steps": 6000, "augment": "flip",
             "ema_decay": 0.999}, SMOKE_FACES),
    PlanRun("faces_blackout", "training/configs/blackout_faces.toml",
            {"batch_size": 128, "lr": 2e-4, "max_steps": 20000, "augment": "flip"}, SMOKE | {"widths": "8,16", "batch_size": 2}),
    PlanRun("judge", "training/configs/judge_austen_all.toml",  # its own 1750 of 3000 steps: ranks real text first
            {"export_dtype": "float16"}, SMOKE_TEXT, "training.train_judge"),
)  # fmt: skip


def run_args(run: PlanRun, out: Path, minutes: float, smoke: bool, extra: dict) -> list[str]:
    values = COMMON | run.gpu | (run.smoke | extra if smoke else {}) | {"max_minutes": minutes}
    values |= {"out_dir": str(out / run.name), "device": "cpu" if smoke else "auto"}
    args = [sys.executable, "-m", run.module, "--config", str(ROOT / run.config)]
    for key, value in values.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    if (out / run.name / "checkpoint" / "state.safetensors").is_file():
        args.append("--resume")
    return args


def seed_bpe(run: PlanRun, out: Path) -> None:
    """Every text run reads the shipped BPE (the judge seeds its own folder the same way)."""
    if run.text and run.module == "training.train":
        copy_tokenizer(BPE.parent, out / run.name / "tokenizer")


def launch(runs, out: Path, minutes: float, smoke: bool, extra: dict) -> dict[str, int]:
    """Start every run, wait for all, and return their exit codes; each run's output goes to ``<run>.log``."""
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    if smoke:
        env["OMP_NUM_THREADS"] = "1"
    procs = {}
    for run in runs:
        seed_bpe(run, out)
        args = run_args(run, out, minutes, smoke, extra.get("faces" if not run.text else "text", {}))
        log = open(out / f"{run.name}.log", "w")  # noqa: SIM115 (closed when the run ends)
        procs[run.name] = (subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log)
        print(f"started {run.name}: {' '.join(args[1:])}")
    began, codes = time.perf_counter(), {}
    while len(codes) < len(procs):
        for name, (proc, log) in procs.items():
            if name not in codes and proc.poll() is not None:
                codes[name] = proc.returncode
                log.close()
                print(f"{name}: exit {proc.returncode} after {time.perf_counter() - began:.0f} s")
        time.sleep(1)
    return codes


def pack(out: Path, into: Path, names) -> list[Path]:
    """One ``<run>.tar`` per run folder; refuses to write past the device tool's limits."""
    into.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        path = into / f"{name}.tar"
        with tarfile.open(path, "w") as tar:
            for item in PACKED:
                source = out / name / item
                if source.exists():
                    tar.add(source, arcname=f"{name}/{item}", filter=_skip_vq)
        if path.stat().st_size > PACK_LIMIT:
            raise SystemExit(f"{path} is {path.stat().st_size / 2**20:.1f} MiB, over the 16 MiB a returned file may be")
        written.append(path)
    total = sum(p.stat().st_size for p in written)
    if len(written) > 8 or total > 4 * PACK_LIMIT:
        raise SystemExit(f"{len(written)} files, {total / 2**20:.1f} MiB: over the 8 files / 64 MiB that come back")
    return written


def _skip_vq(member: tarfile.TarInfo):
    return None if Path(member.name).name in SKIPPED_IN_PACK else member


def unpack(files: Path, out: Path) -> list[Path]:
    """Run folders from returned ``<run>.tar`` files; a face model gets the VQ tokenizer back from assets/."""
    folders = []
    for path in sorted(files.glob("*.tar")):
        with tarfile.open(path) as tar:
            tar.extractall(out, filter="data")
        folder = out / path.stem
        model = folder / "model"
        config = json.loads((model / "config.json").read_text()) if (model / "config.json").is_file() else {}
        if config.get("tokenizer", {}).get("kind") == "vq":
            for name in ("vq.safetensors", "vq_config.json"):
                shutil.copyfile(ROOT / "assets" / "vq_faces" / name, model / name)
        folders.append(folder)
    return folders


def stage(carry: Path) -> None:
    """Copy what the GPU machine cannot make itself into ``carry``: the prepared Austen splits (the models' and the
    judge's) and the DCGAN wheel."""
    from training.corpus import SOURCES, prepare_text
    from training.face_data import cache_root

    for source in SOURCES:
        text = prepare_text(source=source)
        shutil.copytree(text, carry / "cache" / "text" / text.name, dirs_exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "gan-face-generate==1.1.1", "-d",
                    str(carry)], check=True)  # fmt: skip
    print(f"staged the text splits {SOURCES} (from {cache_root()}) and the gan-face-generate wheel in {carry}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=8.0, help="training wall time of every run")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "gpu")
    parser.add_argument("--only", help="comma-separated run names (default: all)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU (for the test)")
    parser.add_argument("--corpus", help="smoke: a text corpus (file or folder) instead of the Austen novels")
    parser.add_argument("--faces", help="smoke: a folder of face images instead of the DCGAN's")
    parser.add_argument("--prepare", action="store_true", help="make the DCGAN faces first (on the GPU machine)")
    parser.add_argument("--pack", type=Path, help="write <run>.tar files here after the runs (e.g. $OUT)")
    parser.add_argument("--unpack", type=Path, help="unpack returned <run>.tar files from here into --out, then stop")
    parser.add_argument("--stage", type=Path, help="copy what the GPU machine needs into this folder, then stop")
    args = parser.parse_args(argv)
    if args.stage:
        return stage(args.stage)
    if args.unpack:
        for folder in unpack(args.unpack, args.out):
            print(f"unpacked {folder}")
        return
    runs = [r for r in RUNS if not args.only or r.name in args.only.split(",")]
    if args.prepare:
        from training.face_data import prepare_faces

        prepare_faces()
    extra = {
        "text": {"corpus": args.corpus} if args.corpus else {},
        "faces": {"faces": args.faces} if args.faces else {},
    }
    codes = launch(runs, args.out, args.minutes, args.smoke, extra)
    if args.pack:
        for path in pack(args.out, args.pack, [r.name for r in runs if codes[r.name] == 0]):
            print(f"packed {path} ({path.stat().st_size / 2**20:.1f} MiB)")
    if failed := [name for name, code in codes.items() if code != 0]:
        raise SystemExit(f"failed: {', '.join(failed)} (see {args.out}/<run>.log)")


if __name__ == "__main__":
    main()

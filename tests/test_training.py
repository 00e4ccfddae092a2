"""The shared training script on a tiny text config: learning, export, exact resume, two-process sync."""

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ggm_core import load_model, sample_tokens
from training.config import TrainConfig, load_config
from training.plot_runs import main as plot_runs
from training.train_state import training_record
from training.trainer import learning_rate, train

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "training" / "configs" / "tiny_text.toml"


def tiny_args(corpus, out, *extra):
    return ["--config", str(TINY), "--corpus", str(corpus), "--out-dir", str(out), "--threads", "1", *extra]


def run_cli(args, env_extra=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "training.train", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_config_file_and_flags_override_defaults(corpus, tmp_path):
    cfg, resume = load_config(tiny_args(corpus, tmp_path, "--lr", "0.01", "--resume"))
    assert (cfg.vocab_size, cfg.seq_len, cfg.lr, resume) == (300, 32, 0.01, True)
    bad = tmp_path / "bad.toml"
    bad.write_text("no_such_key = 1\n")
    with pytest.raises(SystemExit):
        load_config(["--config", str(bad)])


def test_tiny_run_learns_exports_and_samples(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("GGM_CACHE", str(tmp_path / "cache"))
    cfg, _ = load_config(tiny_args(corpus, tmp_path / "run", "--max-steps", "60", "--eval-every", "30"))
    record = train(cfg)
    (_, first), *_, (_, last) = record["val_loss"]
    assert last < first, record["val_loss"]
    assert (tmp_path / "run" / "loss_curve.png").stat().st_size > 1000
    assert list((tmp_path / "run" / "samples").glob("*.txt"))
    model = load_model(tmp_path / "run" / "model")
    assert model.metadata["training_config"]["max_steps"] == 60
    best_step, best = record["best_val_loss"]  # the lowest validation loss after step 0, exported apart
    assert best == min(v for s, v in record["val_loss"] if s > 0) and best_step in (30, 60)
    assert load_model(tmp_path / "run" / "model_best") is not None
    state = load_file(tmp_path / "run" / "checkpoint" / "state.safetensors")
    exported = load_file(tmp_path / "run" / "model" / "model.safetensors")
    assert all(torch.equal(v, state[f"ema.{k}"].half()) for k, v in exported.items())  # the export is the average
    assert any(not torch.equal(v, state[f"model.{k}"].half()) for k, v in exported.items())
    written = training_record(tmp_path / "run" / "checkpoint")  # record.json, publishable without the state
    assert (tmp_path / "run" / "checkpoint" / "record.json").is_file()
    assert (written["step"], written["val_loss"], written["positions_seen"]) == (
        60,
        record["val_loss"],
        record["positions_seen"],
    )
    plot_runs([str(tmp_path / "run"), "--out", str(tmp_path / "val.png")])
    assert (tmp_path / "val.png").stat().st_size > 1000
    with pytest.raises(SystemExit):
        plot_runs([str(tmp_path / "run"), "--labels", "a", "b", "--out", str(tmp_path / "bad.png")])
    tokens = sample_tokens(model.denoiser, model.schedule, model.noise, batch_size=2, seed=0)
    assert tokens.shape == (2, 32) and isinstance(model.tokenizer.decode(tokens[0]), str)


@pytest.mark.slow
def test_killed_run_resumes_exactly(corpus, tmp_path):
    env = {"GGM_CACHE": str(tmp_path / "cache")}
    common = ("--max-steps", "40", "--checkpoint-every", "5", "--eval-every", "20", "--sample-every", "1000")
    straight = run_cli(tiny_args(corpus, tmp_path / "straight", *common), env)
    assert straight.wait(timeout=300) == 0, straight.stdout.read().decode()[-2000:]

    state = tmp_path / "killed" / "checkpoint" / "state.safetensors"
    victim = run_cli(tiny_args(corpus, tmp_path / "killed", *common), env)
    deadline = time.time() + 300
    while not state.exists() and time.time() < deadline and victim.poll() is None:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    resumed = run_cli(tiny_args(corpus, tmp_path / "killed", *common, "--resume"), env)
    output = resumed.stdout.read().decode()
    assert resumed.wait(timeout=300) == 0, output[-2000:]
    assert "resumed from" in output

    a = load_file(tmp_path / "straight" / "checkpoint" / "state.safetensors")
    b = load_file(state)
    for key in a:
        if key.startswith(("model.", "ema.")):
            assert torch.equal(a[key], b[key]), key


@pytest.mark.slow
def test_two_processes_stay_in_sync(corpus, tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GGM_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    args = tiny_args(corpus, tmp_path / "ddp", "--max-steps", "12", "--checkpoint-every", "6", "--eval-every", "6")
    result = subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "training.train", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    from safetensors import safe_open

    with safe_open(tmp_path / "ddp" / "checkpoint" / "state.safetensors", "pt") as fh:
        record = json.loads(fh.metadata()["record"])
    assert record["step"] == 12 and record["sync_checks"] == 2
    assert record["positions_seen"] == 12 * 2 * 16 * 32  # both ranks' batches counted


def test_nan_loss_stops_with_a_clear_message(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("GGM_CACHE", str(tmp_path / "cache"))
    from ggm_core.ggm.model import GlauberModel

    real_loss = GlauberModel.loss
    calls = {"n": 0}

    def exploding(self, x0, generator=None):
        loss, n = real_loss(self, x0, generator)
        calls["n"] += 1
        return (loss * float("nan") if calls["n"] > 3 else loss), n

    monkeypatch.setattr(GlauberModel, "loss", exploding)
    cfg, _ = load_config(tiny_args(corpus, tmp_path / "run", "--max-steps", "10"))
    with pytest.raises(SystemExit, match="loss became nan at step 1"):
        train(cfg)


def test_nan_gradients_keep_the_last_good_checkpoint(corpus, tmp_path, monkeypatch):
    """A step whose loss is finite but whose gradients are NaN, at a checkpoint step: training stops, and the
    state and the exported model stay those of the last good checkpoint (which still load, finite)."""
    monkeypatch.setenv("GGM_CACHE", str(tmp_path / "cache"))
    import training.trainer as train_module

    real_clip = torch.nn.utils.clip_grad_norm_
    calls = {"n": 0}

    def poisoned(parameters, max_norm):
        parameters = list(parameters)
        calls["n"] += 1
        if calls["n"] == 10:  # step index 9: the step that would write the step-10 checkpoint
            for p in parameters:
                p.grad.fill_(float("nan"))
        return real_clip(parameters, max_norm)

    monkeypatch.setattr(train_module.torch.nn.utils, "clip_grad_norm_", poisoned)
    out = tmp_path / "run"
    cfg, _ = load_config(tiny_args(corpus, out, "--max-steps", "20", "--checkpoint-every", "5"))
    with pytest.raises(SystemExit, match="gradients became non-finite at step 9.*last good checkpoint"):
        train(cfg)
    record = json.loads((out / "checkpoint" / "record.json").read_text())
    assert record["step"] == 5
    model = load_model(out / "model")  # the step-5 export: finite, so it loads
    assert all(bool(torch.isfinite(p).all()) for p in model.network.parameters())


def test_a_diverging_loss_is_warned_about_against_the_run_s_first_loss_even_after_a_resume(
    corpus, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("GGM_CACHE", str(tmp_path / "cache"))
    from ggm_core.ggm.model import GlauberModel

    real_loss = GlauberModel.loss
    boost = {"from_call": 3, "calls": 0}

    def blown_up(self, x0, generator=None):
        loss, n = real_loss(self, x0, generator)
        if torch.is_grad_enabled():  # training steps only, not validation
            boost["calls"] += 1
            loss = loss * 1e4 if boost["calls"] >= boost["from_call"] else loss
        return loss, n

    monkeypatch.setattr(GlauberModel, "loss", blown_up)
    out = tmp_path / "run"
    cfg, _ = load_config(tiny_args(corpus, out, "--max-steps", "4"))
    record = train(cfg)
    first = record["train_loss"][0][1]
    warning = f"has risen by over 100× the size of its first value {first:.3g}: training is diverging"
    assert "at step 2 " + warning in capsys.readouterr().out
    boost |= {"from_call": 1, "calls": 0}  # the resumed run's first loss is already huge
    resumed, resume = load_config(tiny_args(corpus, out, "--max-steps", "6", "--resume"))
    train(resumed, resume)
    assert "at step 4 " + warning in capsys.readouterr().out


def test_a_stop_before_any_checkpoint_says_so(tmp_path):
    from training.trainer import stop_message

    assert "before any checkpoint was written" in stop_message("the loss became nan", tmp_path / "none.safetensors")


def test_load_model_refuses_non_finite_weights(tmp_path):
    from ggm_core import CheckpointError, GlauberModel, GlauberSchedule, NoiseDistribution, TransformerConfig
    from ggm_core.ggm.denoisers import TwoSidedDenoiser

    config = TransformerConfig(8, 4, 16, 1, 2)
    model = GlauberModel(TwoSidedDenoiser(config), GlauberSchedule(4, 2), NoiseDistribution.uniform(8))
    with torch.no_grad():
        next(model.network.parameters()).fill_(float("nan"))
    model.save(tmp_path / "nan")
    with pytest.raises(CheckpointError, match="non-finite weights"):
        load_model(tmp_path / "nan")


@pytest.mark.parametrize(
    "toml, message",
    [
        ('lr = "fast"', "lr = 'fast' is not a float"),
        ("max_steps = 6.5", "max_steps = 6.5 is not an int"),
        ('batch_size = "8"', "batch_size = '8' is not an int"),
        ("eval_every = 0", "eval_every = 0 must be ≥ 1"),
        ("lr = 0", "lr = 0.0 must be > 0"),
        ('export_dtype = "fp16"', "export_dtype = 'fp16'"),
        ("clean_share = 1.0", "clean_share = 1.0 must be in [0, 1)"),
        ('clean_share = 0.2\nfamily = "md4"', "clean_share is a GGM setting"),
        ('positions = "alibi"\nfamily = "md4"', "positions = 'alibi': use one of"),
        ('positions = "rotary"', "positions = 'rotary' is an MD4 setting"),
        ('dropout = 1.0\nfamily = "judge"', "dropout = 1.0 must be in [0, 1)"),
        ("max_steps = 100\ndecay_steps = 50", "decay_steps = 50 must be 0 (= max_steps) or ≥ max_steps = 100"),
        ("dropout = 0.1", "dropout is a judge setting"),
    ],
)
def test_bad_config_values_are_refused_at_once(tmp_path, capsys, toml, message):
    path = tmp_path / "bad.toml"
    path.write_text(toml + "\n")
    with pytest.raises(SystemExit):
        load_config(["--config", str(path)])
    assert message in capsys.readouterr().err


def test_decay_steps_stretch_the_cosine_past_the_run_s_end():
    short = TrainConfig(lr=1.0, min_lr_ratio=0.1, warmup_steps=10, max_steps=110)
    stretched = TrainConfig(lr=1.0, min_lr_ratio=0.1, warmup_steps=10, max_steps=110, decay_steps=210)
    assert learning_rate(short, 5) == learning_rate(stretched, 5) == 0.6  # warm-up: (step + 1) / warmup_steps
    assert learning_rate(short, 110) == pytest.approx(0.1)  # decayed to min_lr_ratio · lr at max_steps
    assert learning_rate(stretched, 110) == pytest.approx(0.55)  # half way down its 200-step cosine
    assert learning_rate(stretched, 210) == pytest.approx(0.1)


def test_a_whole_number_is_a_valid_float(tmp_path):
    path = tmp_path / "ok.toml"
    path.write_text("weight_decay = 1\n")
    cfg, _ = load_config(["--config", str(path)])
    assert cfg.weight_decay == 1.0 and isinstance(cfg.weight_decay, float)


@pytest.mark.slow
def test_a_tiny_blackout_run_trains_exports_and_samples(tmp_path, monkeypatch, random_faces):
    monkeypatch.setenv("GGM_CACHE", str(tmp_path / "cache"))
    images = random_faces
    out = tmp_path / "run"
    config = ROOT / "training" / "configs" / "tiny_blackout.toml"
    cfg, _ = load_config(["--config", str(config), "--faces", str(images), "--out-dir", str(out), "--threads", "1"])
    record = train(cfg)
    assert record["step"] == 6 and all(math.isfinite(v) for _, v in record["val_loss"])
    model = load_model(out / "model")
    assert model.family == "blackout" and (out / "samples" / "step_000006.png").is_file()
    tokens = model.generate_tokens(1, seed=0, bridge_steps=3)
    assert tokens.shape == (1, 64 * 64 * 3) and int(tokens.max()) <= 255


def test_a_blackout_run_refuses_another_familys_checkpoint_by_name(corpus, tmp_path, monkeypatch, random_faces):
    """Where a Blackout checkpoint is expected (``init_from``, ``--resume``), another family's stops the run with a
    message naming the mismatch, not a traceback: GGM and MD4 face weights, a GGM whose config.json was relabelled
    "blackout", and a text GGM run's training state."""
    import shutil

    from app_checkpoints import make_face_checkpoint, make_md4_checkpoint

    monkeypatch.setenv("GGM_CACHE", str(tmp_path / "cache"))
    ggm = make_face_checkpoint(tmp_path / "ggm")
    relabelled = shutil.copytree(ggm, tmp_path / "relabelled")
    config = json.loads((relabelled / "config.json").read_text())
    (relabelled / "config.json").write_text(json.dumps(config | {"family": "blackout"}))
    blackout = ["--config", str(ROOT / "training" / "configs" / "tiny_blackout.toml"), "--faces", str(random_faces)]
    cases = {
        ggm: "the checkpoint does not match this run.s config in: family, denoiser, schedule",
        make_md4_checkpoint(tmp_path / "md4", ggm): "the checkpoint does not match this run.s config in: family, ",
        relabelled: r"the checkpoint cannot be loaded: .*config.json: invalid config .*'two_sided' is not 'unet'",
    }
    for folder, message in cases.items():
        cfg, _ = load_config([*blackout, "--out-dir", str(tmp_path / "run"), "--init-from", str(folder)])
        with pytest.raises(SystemExit, match=f"--init-from {re.escape(str(folder))}: {message}"):
            train(cfg)
    text, _ = load_config(tiny_args(corpus, tmp_path / "text", "--max-steps", "2", "--checkpoint-every", "2"))
    train(text)
    cfg, resume = load_config([*blackout, "--out-dir", str(tmp_path / "text"), "--resume"])
    with pytest.raises(SystemExit, match=r"different model or data: .*family 'ggm' → 'blackout'"):
        train(cfg, resume)


def test_resume_refuses_another_architecture_and_reports_changed_settings(corpus, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GGM_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    cfg, _ = load_config(tiny_args(corpus, out, "--max-steps", "4", "--checkpoint-every", "2"))
    train(cfg)
    bigger, resume = load_config(tiny_args(corpus, out, "--max-steps", "6", "--d-model", "64", "--resume"))
    with pytest.raises(SystemExit, match=r"d_model 32 → 64.*new --out-dir"):
        train(bigger, resume)
    longer, resume = load_config(tiny_args(corpus, out, "--max-steps", "6", "--resume"))
    assert train(longer, resume)["step"] == 6
    assert "resuming with changed settings: max_steps 4 → 6" in capsys.readouterr().out


def test_resume_refuses_another_md4_position_encoding(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("GGM_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    cfg, _ = load_config(tiny_args(corpus, out, "--family", "md4", "--max-steps", "2", "--checkpoint-every", "2"))
    train(cfg)
    rotary, resume = load_config(
        tiny_args(corpus, out, "--family", "md4", "--positions", "rotary", "--max-steps", "4", "--resume")
    )
    with pytest.raises(SystemExit, match=r"positions 'learned' → 'rotary'.*new --out-dir"):
        train(rotary, resume)


def test_a_truncated_state_falls_back_to_the_one_before_and_stale_temporaries_go(corpus, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GGM_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    cfg, _ = load_config(tiny_args(corpus, out, "--max-steps", "4", "--checkpoint-every", "2"))
    train(cfg)
    state = out / "checkpoint" / "state.safetensors"
    previous = out / "checkpoint" / "state.previous.safetensors"
    assert previous.is_file()  # the step-2 state, kept when step 4 was written
    state.write_bytes(state.read_bytes()[:1000])  # a truncated copy
    stale = out / "checkpoint" / ".state.safetensors.abc123.tmp"
    stale.write_bytes(b"half a file")
    resumed, resume = load_config(tiny_args(corpus, out, "--max-steps", "6", "--checkpoint-every", "2", "--resume"))
    record = train(resumed, resume)
    printed = capsys.readouterr().out
    assert "cannot be read" in printed and "resuming from the checkpoint before it" in printed
    assert f"removed {stale}" in printed and not stale.exists()
    assert record["step"] == 6  # from step 2, the previous state
    assert (out / "checkpoint" / "state.unreadable.safetensors").is_file()  # kept aside, not rotated over a good one


def test_an_export_killed_between_its_renames_is_recovered(tmp_path):
    from ggm_core import GlauberModel, GlauberSchedule, NoiseDistribution, TransformerConfig
    from ggm_core.ggm.denoisers import TwoSidedDenoiser
    from ggm_core.saving import replace_model_folder

    model = GlauberModel(
        TwoSidedDenoiser(TransformerConfig(8, 4, 16, 1, 2)), GlauberSchedule(4, 2), NoiseDistribution.uniform(8)
    )
    folder = replace_model_folder(model, tmp_path / "model")
    folder.rename(tmp_path / "model.old")  # the kill: the old export moved aside, the new one not yet in place
    replace_model_folder(model, folder)
    assert load_model(folder) is not None and sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_fine_tuning_from_a_checkpoint_teaches_the_clean_context(corpus, tmp_path, monkeypatch):
    """``init_from`` starts from a trained model's weights (and BPE); ``clean_share`` adds the clean context, whose
    validation loss is recorded apart; the export offers refinement sweeps. A mismatched network is refused."""
    monkeypatch.setenv("GGM_CACHE", str(tmp_path / "cache"))
    base, _ = load_config(tiny_args(corpus, tmp_path / "base", "--max-steps", "20"))
    train(base)
    base_model = tmp_path / "base" / "model"
    extra = ("--max-steps", "20", "--init-from", str(base_model), "--clean-share", "0.3")
    tuned, _ = load_config(tiny_args(corpus, tmp_path / "tuned", *extra))
    record = train(tuned)
    start_val, base_val = record["val_loss"][0][1], training_record(tmp_path / "base" / "checkpoint")["val_loss"][-1][1]
    assert abs(start_val - base_val) < 0.02, (start_val, base_val)  # it starts where the base run ended (fp16)
    (_, clean_first), *_, (_, clean_last) = record["clean_val_loss"]
    assert clean_last < clean_first
    model = load_model(tmp_path / "tuned" / "model")
    assert model.refines and "refine_sweeps" in {k.name for k in model.knobs()}
    known = torch.zeros(32, dtype=torch.long)
    tokens = sample_tokens(model.denoiser, model.schedule, model.noise, known=[0], known_tokens=known, refine_sweeps=2)
    assert int(tokens[0, 0]) == 0
    wider, _ = load_config(tiny_args(corpus, tmp_path / "wider", *extra, "--d-model", "64"))
    with pytest.raises(SystemExit, match="does not match this run.s config in: denoiser"):
        train(wider)


def torchrun(args, tmp_path, timeout=600, pythonpath=()):
    runner = Path(sys.executable).with_name("torchrun")
    path = os.pathsep.join([*map(str, pythonpath), str(ROOT)])
    env = {**os.environ, "PYTHONPATH": path, "GGM_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [str(runner), "--standalone", "--nproc_per_node", "2", "-m", "training.train", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def failed_rank(result) -> str:
    """A failed rank's own traceback comes first in stderr, before torchrun's summary of it."""
    return result.stdout[-1000:] + result.stderr[:3000] + "\n…\n" + result.stderr[-1000:]


@pytest.mark.slow
def test_two_processes_resume_exactly_each_with_its_own_random_streams(corpus, tmp_path):
    """12 steps on two ranks straight, and 6 + a resumed 6: the same weights bit for bit. With every rank given
    rank 0's saved streams (the old behaviour) the ranks draw identical batches after the resume and it differs."""
    common = ("--checkpoint-every", "6", "--eval-every", "6")
    straight = torchrun(tiny_args(corpus, tmp_path / "straight", "--max-steps", "12", *common), tmp_path)
    first = torchrun(tiny_args(corpus, tmp_path / "resumed", "--max-steps", "6", *common), tmp_path)
    second = torchrun(tiny_args(corpus, tmp_path / "resumed", "--max-steps", "12", *common, "--resume"), tmp_path)
    for result in (straight, first, second):
        assert result.returncode == 0, failed_rank(result)
    a = load_file(tmp_path / "straight" / "checkpoint" / "state.safetensors")
    b = load_file(tmp_path / "resumed" / "checkpoint" / "state.safetensors")
    assert not torch.equal(a["rng.0.data"], a["rng.1.data"])  # two ranks, two streams, both saved
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.mark.slow
def test_max_minutes_stops_both_ranks_at_the_same_step(corpus, tmp_path):
    """Each rank's clock differs; the stop is agreed, so both leave together with a checkpoint (no hang)."""
    out = tmp_path / "timed"
    result = torchrun(tiny_args(corpus, out, "--max-steps", "100000", "--max-minutes", "0.02"), tmp_path, 300)
    assert result.returncode == 0, failed_rank(result)
    record = training_record(out / "checkpoint")
    assert 0 < record["step"] < 100000 and "max_minutes=0.02 reached" in result.stdout + result.stderr


# Loaded by every process of a torchrun (through PYTHONPATH); on rank 1 only, it spoils the loss of the 6th
# training step (step index 5) or, after the 8th optimiser step, the weights.
RANK_1_POISON = """
import os

if os.environ.get("RANK") == "1":
    import torch
    from ggm_core.ggm.model import GlauberModel

    calls = {"loss": 0, "step": 0}
    real_loss, real_step = GlauberModel.loss, torch.optim.AdamW.step

    def loss(self, x0, generator=None):
        value, n = real_loss(self, x0, generator)
        if torch.is_grad_enabled():
            calls["loss"] += 1
            value = value * float("nan") if WHAT == "loss" and calls["loss"] == 6 else value
        return value, n

    def step(self, *args, **kwargs):
        result = real_step(self, *args, **kwargs)
        calls["step"] += 1
        if WHAT == "weights" and calls["step"] == 8:
            with torch.no_grad():
                for group in self.param_groups:
                    for p in group["params"]:
                        p.fill_(float("nan"))
        return result

    GlauberModel.loss, torch.optim.AdamW.step = loss, step
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "what, messages, kept_step",
    [
        ("loss", ["loss became nan at step 5", "loss became non-finite on another rank at step 5"], 4),
        ("weights", ["weights are not finite at step 8", "weights are not finite on another rank at step 8"], 4),
    ],
)
def test_a_nan_on_one_rank_stops_both_and_keeps_the_last_good_checkpoint(corpus, tmp_path, what, messages, kept_step):
    """Only rank 1 sees the NaN; both ranks stop with the message (no hang), and the step-4 checkpoint stays."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(f"WHAT = {what!r}\n" + RANK_1_POISON)
    out = tmp_path / "run"
    args = tiny_args(corpus, out, "--max-steps", "12", "--checkpoint-every", "4", "--eval-every", "4")
    result = torchrun(args, tmp_path, timeout=300, pythonpath=[hook])
    printed = result.stdout + result.stderr
    assert result.returncode != 0 and "last good checkpoint is" in printed, failed_rank(result)
    for message in messages:
        assert message in printed, failed_rank(result)
    assert "out of sync" not in printed
    assert training_record(out / "checkpoint")["step"] == kept_step
    model = load_model(out / "model")
    assert all(bool(torch.isfinite(p).all()) for p in model.network.parameters())

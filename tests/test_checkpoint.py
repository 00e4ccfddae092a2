"""Checkpoint folders: round trips, fp16, tokenizers, and clear errors for bad files."""

import json

import pytest
import torch

from ggm_core.checkpoint import CONFIG_FILE, WEIGHTS_FILE, CheckpointError, load_model, save_model
from ggm_core.ggm.denoisers import build_denoiser
from ggm_core.ggm.model import GlauberModel
from ggm_core.ggm.noise import NoiseDistribution
from ggm_core.ggm.sampler import sample_tokens
from ggm_core.ggm.schedule import GlauberSchedule
from ggm_core.tokenizers.text import TextTokenizer
from ggm_core.transformer import TransformerConfig
from training.bpe import train_bpe

V, L = 13, 10


def tiny_model(kind="classic", vocab_size=V, tokenizer=None):
    torch.manual_seed(0)
    denoiser = build_denoiser(
        kind, TransformerConfig(vocab_size=vocab_size, seq_len=L, d_model=32, n_layers=2, n_heads=2)
    )
    for p in denoiser.parameters():
        torch.nn.init.normal_(p, std=0.2)
    noise = NoiseDistribution.unigram([torch.arange(vocab_size), torch.tensor([1, 1, 2])], vocab_size)
    return GlauberModel(denoiser, GlauberSchedule(L, 3, kind="linear"), noise, tokenizer, {"note": "tiny"})


def outputs(model):
    x = torch.randint(model.noise.vocab_size, (4, L), generator=torch.Generator().manual_seed(1))
    return model.denoiser(x, torch.tensor([[2], [5], [0], [9]]), torch.tensor([0.1, 0.5, 0.7, 1.0]))


@pytest.mark.parametrize("kind", ["classic", "two_sided"])
def test_round_trip_is_exact(tmp_path, kind):
    model = tiny_model(kind)
    save_model(model, tmp_path / "ckpt")
    loaded = load_model(tmp_path / "ckpt")
    assert loaded.denoiser.kind == kind and loaded.schedule == model.schedule and loaded.metadata == {"note": "tiny"}
    torch.testing.assert_close(loaded.noise.probs, model.noise.probs, rtol=0, atol=1e-15)
    for a, b in zip(model.denoiser.state_dict().values(), loaded.denoiser.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    a = sample_tokens(model.denoiser, model.schedule, model.noise, batch_size=3, seed=4)
    b = sample_tokens(loaded.denoiser, loaded.schedule, loaded.noise, batch_size=3, seed=4)
    assert torch.equal(a, b)
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == [CONFIG_FILE, WEIGHTS_FILE]  # no temp files


def test_fp16_checkpoint_is_half_the_size_and_close(tmp_path):
    model = tiny_model()
    save_model(model, tmp_path / "full")
    save_model(model, tmp_path / "half", dtype=torch.float16)
    full, half = (tmp_path / n / WEIGHTS_FILE for n in ("full", "half"))
    assert half.stat().st_size < 0.6 * full.stat().st_size
    loaded = load_model(tmp_path / "half")
    assert next(loaded.denoiser.parameters()).dtype == torch.float32
    torch.testing.assert_close(outputs(loaded), outputs(model), rtol=2e-2, atol=2e-2)


def test_text_tokenizer_travels_with_the_checkpoint(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("It is a truth universally acknowledged.\nEmma Woodhouse, handsome, clever, and rich.\n" * 20)
    tokenizer = TextTokenizer.load(train_bpe(corpus, 300, tmp_path / "bpe"))
    model = tiny_model(vocab_size=tokenizer.vocab_size, tokenizer=tokenizer)
    save_model(model, tmp_path / "ckpt")
    loaded = load_model(tmp_path / "ckpt")
    text = "Emma is clever, naïve — and rich."
    assert loaded.tokenizer.decode(loaded.tokenizer.encode(text)) == text
    assert loaded.tokenizer.encode(text) == tokenizer.encode(text)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint folder"):
        load_model(tmp_path / "nowhere")
    save_model(tiny_model(), tmp_path / "ckpt")
    (tmp_path / "ckpt" / WEIGHTS_FILE).unlink()
    with pytest.raises(CheckpointError, match=rf"{WEIGHTS_FILE}: missing"):
        load_model(tmp_path / "ckpt")
    (tmp_path / "ckpt" / CONFIG_FILE).unlink()
    with pytest.raises(CheckpointError, match=rf"{CONFIG_FILE}: missing"):
        load_model(tmp_path / "ckpt")


def test_corrupt_files_are_named(tmp_path):
    save_model(tiny_model(), tmp_path / "ckpt")
    weights = tmp_path / "ckpt" / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(CheckpointError, match=rf"{WEIGHTS_FILE}: corrupt"):
        load_model(tmp_path / "ckpt")
    (tmp_path / "ckpt" / CONFIG_FILE).write_text("{not json")
    with pytest.raises(CheckpointError, match=rf"{CONFIG_FILE}: not a GGM config"):
        load_model(tmp_path / "ckpt")


def test_mismatched_checkpoints_are_named(tmp_path):
    save_model(tiny_model(), tmp_path / "ckpt")
    config_path = tmp_path / "ckpt" / CONFIG_FILE
    config = json.loads(config_path.read_text())
    config["denoiser"]["d_model"] = 64
    config_path.write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=rf"{WEIGHTS_FILE}: tensor .* has shape"):
        load_model(tmp_path / "ckpt")
    config["denoiser"]["d_model"] = 32
    config["denoiser"]["n_layers"] = 3
    config_path.write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="does not match config.json"):
        load_model(tmp_path / "ckpt")
    config["denoiser"]["n_layers"] = 2
    config["noise"]["probs"] = [0.5, 0.5]
    config_path.write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="vocab_size"):
        load_model(tmp_path / "ckpt")
    config["format_version"] = 99
    config_path.write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="format_version 99"):
        load_model(tmp_path / "ckpt")


def test_a_ggm_checkpoint_posing_as_blackout_is_named(tmp_path):
    """A GGM's config.json relabelled "blackout", or a Blackout config.json over a GGM's weights, is refused naming
    the file and the mismatch."""
    import shutil

    from app_checkpoints import make_blackout_checkpoint

    ggm = save_model(tiny_model("two_sided"), tmp_path / "ggm")
    config = json.loads((ggm / CONFIG_FILE).read_text())
    (ggm / CONFIG_FILE).write_text(json.dumps(config | {"family": "blackout"}))
    with pytest.raises(
        CheckpointError, match=rf"{CONFIG_FILE}: invalid config .*denoiser kind 'two_sided' is not 'unet'"
    ):
        load_model(ggm)
    blackout = make_blackout_checkpoint(tmp_path / "blackout")
    shutil.copyfile(ggm / WEIGHTS_FILE, blackout / WEIGHTS_FILE)
    with pytest.raises(CheckpointError, match=rf"{WEIGHTS_FILE}: does not match config.json: missing \['down"):
        load_model(blackout)


def test_hub_ids_fail_clearly_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CheckpointError, match="Hugging Face Hub"):
        load_model("nobody-here/no-such-ggm-model")


def test_an_edited_config_is_caught_and_unnormalised_noise_refused(tmp_path):
    folder = save_model(tiny_model(), tmp_path / "m")
    config = json.loads((folder / CONFIG_FILE).read_text())
    config["denoiser"]["n_heads"] = 1  # same weight shapes, another network
    (folder / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="edited after"):
        load_model(folder)
    config["denoiser"]["n_heads"] = tiny_model().denoiser.config.n_heads
    config["noise"]["probs"] = [2 * p for p in config["noise"]["probs"]]
    (folder / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="sum to 2"):
        load_model(folder)


def test_the_model_folder_is_replaced_whole(tmp_path):
    from ggm_core.saving import replace_model_folder

    folder = replace_model_folder(tiny_model(), tmp_path / "model")
    (folder / "stale.txt").write_text("from the previous export")
    replace_model_folder(tiny_model(), folder)
    assert not (folder / "stale.txt").exists() and load_model(folder) is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_the_shipped_checkpoints_still_load():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "assets"
    shipped = {"text_austen": "ggm", "faces": "ggm", "md4_faces": "md4", "blackout_faces": "blackout"}
    for name, family in shipped.items():
        assert load_model(root / name).family == family


def test_every_shipped_checkpoint_refuses_an_edited_config(tmp_path):
    """Each shipped weights file carries the digest of its config.json (md4_faces was written before digests)."""
    import shutil
    from pathlib import Path

    from safetensors import safe_open

    from ggm_core.saving import config_digest

    root = Path(__file__).resolve().parents[1] / "assets"
    for name in ("text_austen", "faces", "md4_faces", "blackout_faces"):
        config = json.loads((root / name / CONFIG_FILE).read_text())
        family_part = {
            k: v for k, v in config.items() if k not in ("format_version", "family", "tokenizer", "metadata")
        }
        with safe_open(root / name / WEIGHTS_FILE, "pt") as fh:
            assert (fh.metadata() or {}).get("config_sha256") == config_digest(family_part), name
    folder = shutil.copytree(root / "md4_faces", tmp_path / "md4_faces")
    config = json.loads((folder / CONFIG_FILE).read_text())
    config["denoiser"]["n_heads"] = 8  # same weight shapes, another network
    (folder / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="edited after"):
        load_model(folder)

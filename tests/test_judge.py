"""The autoregressive judge, the text metrics and the quality benchmark command, on tiny models."""

import csv
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from transformers import GPT2LMHeadModel

from ggm_core.tokenizers.text import TextTokenizer
from training.benchmark_quality import COLUMNS, FACE_COLUMNS
from training.benchmark_quality import main as benchmark_main
from training.config import TrainConfig, load_config
from training.image_metrics import frechet_distance, frechet_distance_from_stats, mean_term, vq_features
from training.judge import (
    JudgeModel,
    build_judge,
    generative_perplexity,
    gpt2_config,
    load_judge,
    mean_nll,
    unigram_entropy,
)
from training.train_judge import main as judge_main
from training.trainer import train
from training.word_metrics import copied_ngram_rate, real_word_rate, word_ngrams, word_vocabulary

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "training" / "configs" / "tiny_text.toml"


def tiny_judge(vocab_size=16, seq_len=16, tokenizer=None, seed=0) -> JudgeModel:
    torch.manual_seed(seed)
    return JudgeModel(GPT2LMHeadModel(gpt2_config(vocab_size, seq_len, 32, 2, 2)), tokenizer, vocab_size)


def test_loss_falls_on_a_repeated_corpus_and_samples_are_seeded():
    judge = tiny_judge()
    pattern = torch.tensor([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 2])
    x0 = torch.stack([pattern.roll(-shift) for shift in range(8)])
    optimizer = torch.optim.AdamW(judge.network.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss, supervised = judge.loss(x0, torch.Generator())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert supervised == x0.numel()
    assert losses[-1] < 0.5 * losses[0], losses[::10]
    a, b = judge.generate_tokens(3, seed=7), judge.generate_tokens(3, seed=7)
    assert torch.equal(a, b) and a.shape == (3, 16) and a.min() >= 0 and a.max() < 16
    assert not torch.equal(a, judge.generate_tokens(3, seed=8))


def test_dropout_acts_in_training_only_and_scoring_is_deterministic():
    torch.manual_seed(0)
    cfg = TrainConfig(family="judge", seq_len=16, d_model=32, n_layers=2, n_heads=2, dropout=0.3)
    judge = build_judge(cfg, SimpleNamespace(tokenizer=SimpleNamespace(vocab_size=16)))
    assert judge.network.config.resid_pdrop == judge.network.config.attn_pdrop == 0.3
    x0 = torch.randint(0, 16, (4, 16))
    judge.network.train()
    first, second = judge.loss(x0)[0].item(), judge.loss(x0)[0].item()
    assert first != second, "dropout draws a new mask each training pass"
    assert mean_nll(judge, x0) == mean_nll(judge, x0)
    assert judge.network.training, "scoring restores the training mode"


def test_save_load_round_trip_gives_identical_logits(tmp_path):
    tokenizer = TextTokenizer.load(ROOT / "assets" / "text_austen")
    judge = tiny_judge(tokenizer.vocab_size, 24, tokenizer)
    judge.metadata = {"training_config": {"seq_len": 24}}
    judge.save(tmp_path / "judge")
    loaded = load_judge(tmp_path / "judge")
    tokens = torch.tensor([tokenizer.encode("It is a truth universally acknowledged, that a single man")[:24]])
    with torch.no_grad():
        assert torch.equal(judge.network.eval()(input_ids=tokens).logits, loaded.network(input_ids=tokens).logits)
    assert loaded.metadata == judge.metadata and loaded.vocab_size == tokenizer.vocab_size
    assert loaded.tokenizer.decode(tokens[0]) == tokenizer.decode(tokens[0])
    assert not list(tmp_path.glob(".judge.*")), "the temporary folder is removed"


def test_generative_perplexity_is_exp_of_the_hand_computed_mean_nll():
    judge = tiny_judge(seed=1)
    judge.network.eval()
    tokens = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8], [8, 8, 0, 15, 2, 2, 9, 1]])
    nll = []
    with torch.no_grad():  # one prefix at a time: the start token, then the tokens before position j
        for row in tokens:
            for j in range(len(row)):
                prefix = torch.cat([torch.tensor([judge.start_token]), row[:j]]).unsqueeze(0)
                logits = judge.network(input_ids=prefix).logits[0, -1, : judge.vocab_size].double()
                nll.append(-torch.log_softmax(logits, -1)[row[j]].item())
    expected = math.exp(sum(nll) / len(nll))
    assert generative_perplexity(judge, tokens) == pytest.approx(expected, rel=1e-5)
    assert generative_perplexity(judge, [tokens[:1], tokens[1:]]) == pytest.approx(expected, rel=1e-5)


def test_unigram_entropy_of_a_known_token_list():
    # frequencies 1/2, 1/4, 1/4: H = 1.5 ln 2 nats
    assert unigram_entropy(torch.tensor([[0, 0, 1, 2]])) == pytest.approx(1.5 * math.log(2), abs=1e-12)
    assert unigram_entropy([torch.tensor([[7, 7]]), torch.tensor([[3, 9]])]) == pytest.approx(1.5 * math.log(2))
    assert unigram_entropy(torch.full((2, 5), 4)) == 0.0


def test_real_word_rate_skips_the_edge_words_and_ignores_case():
    vocabulary = word_vocabulary("It is a truth universally acknowledged, that a single man...")
    assert vocabulary == {"it", "is", "a", "truth", "universally", "acknowledged", "that", "single", "man"}
    # inner words: "truth", "Unchowled", "single" (the cut "th" and "ma" at the edges are skipped)
    assert real_word_rate(["th truth Unchowled single ma"], vocabulary) == pytest.approx(2 / 3)
    assert real_word_rate(["x It, IS! y", "z a-man w"], vocabulary) == 1.0  # punctuation splits words
    with pytest.raises(ValueError, match="fewer than three words"):
        real_word_rate(["two words", "!!"], vocabulary)


def test_copied_ngram_rate_counts_training_phrases():
    reference = word_ngrams("It is a truth universally acknowledged, that a single man", 3)
    assert ("a", "truth", "universally") in reference and len(reference) == 8
    # inner 3-grams of the first text: "it is a" (copied), "is a lie" (not); the second has none
    assert copied_ngram_rate(["x IT, is a lie y", "a single man"], reference, 3) == pytest.approx(1 / 2)
    assert copied_ngram_rate(["ledged that a single man..."], reference, 3) == 1.0  # the cut edge word is skipped
    with pytest.raises(ValueError, match="fewer than 3 inner words"):
        copied_ngram_rate(["four words in all"], reference, 3)


def test_benchmark_command_end_to_end(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("GGM_CACHE", str(tmp_path / "cache"))
    common = ["--config", str(TINY), "--corpus", str(corpus), "--threads", "1", "--max-steps", "8"]
    common += ["--eval-every", "8", "--sample-every", "8", "--checkpoint-every", "8"]
    cfg, _ = load_config([*common, "--out-dir", str(tmp_path / "ggm")])
    train(cfg)
    judge_args = [*common, "--family", "judge", "--out-dir", str(tmp_path / "judge")]
    judge_main([*judge_args, "--tokenizer-from", str(tmp_path / "ggm" / "model")])
    out = tmp_path / "bench"
    benchmark_main(
        ["--ggm", str(tmp_path / "ggm" / "model"), "--judge", str(tmp_path / "judge" / "model")]
        + ["--samples", "4", "--budgets", "16", "64", "--out", str(out), "--device", "cpu"]
    )
    with open(out / "results.csv") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    assert reader.fieldnames == COLUMNS
    assert [(r["model"], r["budget"]) for r in rows] == [
        ("GGM two-sided", "16"),
        ("GGM two-sided", "64"),
        ("GGM two-sided", "exact"),
        ("real text (held-out)", ""),
    ]
    # L = 32, 2 sweeps, one context encoding per sweep: exact = 2·33 calls; budgets are met
    assert [float(r["network_calls"]) for r in rows[:3]] == [16, 34, 66]
    for r in rows:
        assert 1 < float(r["gen_perplexity"]) < 1e4 and float(r["unigram_entropy_nats"]) > 0
        assert 0 <= float(r["real_word_rate"]) <= 1 and 0 <= float(r["copied_6grams"]) <= 1
    # held-out text of the repeated corpus: only seen words and phrases
    assert float(rows[-1]["real_word_rate"]) == 1.0 and float(rows[-1]["copied_6grams"]) == 1.0
    assert rows[0]["train_rate_source"] == "training record" and float(rows[0]["train_positions_per_second"]) > 0
    assert (out / "perplexity_vs_calls.png").stat().st_size > 1000
    assert (out / "results.md").read_text().count("| GGM two-sided |") == 3
    assert len(list((out / "samples").glob("*.txt"))) == 3

    def bench(model: str, name: str, *extra: str) -> list[dict]:
        """The benchmark's rows for ``tmp_path/model`` at budget 64 and exact, into ``out/name``."""
        benchmark_main(
            ["--ggm", str(tmp_path / model / "model"), "--judge", str(tmp_path / "judge" / "model")]
            + ["--samples", "4", "--budgets", "64", "--out", str(out / name), "--device", "cpu", *extra]
        )
        with open(out / name / "results.csv") as fh:
            return list(csv.DictReader(fh))

    # a model with another BPE: the judge cannot read its tokens, the real-word rate still counts its text
    cfg, _ = load_config([*common, "--vocab-size", "280", "--out-dir", str(tmp_path / "ggm280")])
    train(cfg)
    *model_rows, reference = bench("ggm280", "v280")
    assert [r["budget"] for r in model_rows] == ["64", "exact"]
    for r in model_rows:
        assert r["gen_perplexity"] == "" and 0 <= float(r["real_word_rate"]) <= 1
    assert float(reference["gen_perplexity"]) > 1 and float(reference["real_word_rate"]) == 1.0
    assert "the judge cannot read its tokens" in (out / "v280" / "results.md").read_text()
    # ... unless the judge reads its decoded text, re-encoded in the judge's BPE and cut to 8 tokens
    rows = bench("ggm280", "v280_text", "--judge-text-tokens", "8")
    assert all(1 < float(r["gen_perplexity"]) < 1e4 for r in rows)
    assert "first 8 tokens of each sample's decoded text" in (out / "v280_text" / "results.md").read_text()
    # a model of whole documents (END, PAD): its text is read up to END, however short, and the share that ended
    cfg, _ = load_config([*common, "--windows", "documents", "--out-dir", str(tmp_path / "docs")])
    train(cfg)
    *model_rows, reference = bench("docs", "docs", "--judge-text-tokens", "8")
    assert all(1 < float(r["gen_perplexity"]) < 1e4 and 0 <= float(r["ended"]) <= 1 for r in model_rows)
    assert reference["ended"] == ""
    with pytest.raises(SystemExit, match="lower --judge-text-tokens 1000"):
        benchmark_main(
            ["--ggm", str(tmp_path / "ggm280" / "model"), "--judge", str(tmp_path / "judge" / "model")]
            + ["--samples", "4", "--budgets", "64", "--out", str(out / "v280_long"), "--judge-text-tokens", "1000"]
        )


def test_frechet_distance_matches_the_closed_form_for_diagonal_gaussians():
    mu_a, mu_b = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 1.0, 0.0])
    var_a, var_b = torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 4.0, 1.0])
    expected = (mu_a - mu_b).square().sum() + (var_a.sqrt() - var_b.sqrt()).square().sum()  # 5 + 1 + 0 + 4
    got = frechet_distance_from_stats(mu_a, torch.diag(var_a), mu_b, torch.diag(var_b))
    assert got == pytest.approx(float(expected), abs=1e-9)
    feats = torch.randn(200, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert frechet_distance(feats, feats) == pytest.approx(0.0, abs=1e-8)
    rotated = feats @ torch.linalg.qr(torch.randn(5, 5, dtype=torch.float64))[0] + 3
    assert frechet_distance(feats, rotated) == pytest.approx(frechet_distance(rotated, feats), rel=1e-6)
    assert mean_term(feats, feats + torch.tensor([1.0, 2.0, 0.0, 0.0, 0.0])) == pytest.approx(5.0, abs=1e-9)
    assert mean_term(feats, rotated) <= frechet_distance(feats, rotated)  # the covariance part is never negative


@pytest.mark.slow  # samples every setting and runs the two-sample test per row: 10–27 s
def test_faces_benchmark_end_to_end(tmp_path, monkeypatch):
    """A tiny face GGM and MD4 over one tiny VQ tokenizer; random images stand in for the face data set."""
    from ggm_core import ClassicDenoiser, GlauberModel, GlauberSchedule, NoiseDistribution, TransformerConfig
    from ggm_core.md4 import MaskedDenoiser, MaskedDiffusionModel
    from ggm_core.tokenizers.vq import ImageTokenizer, VQAutoencoder, VQConfig
    from training import benchmark_quality

    torch.manual_seed(0)
    tokenizer = ImageTokenizer(VQAutoencoder(VQConfig(codebook_size=16, code_dim=4, channels=(4, 8, 8))).eval())
    assert vq_features(tokenizer, np.zeros((3, 64, 64, 3), np.uint8)).shape == (3, 4 * 16)
    config = TransformerConfig(vocab_size=16, seq_len=256, d_model=16, n_layers=1, n_heads=2)
    model = GlauberModel(ClassicDenoiser(config), GlauberSchedule(256, 1), NoiseDistribution.uniform(16), tokenizer)
    model.save(tmp_path / "faces")
    MaskedDiffusionModel(MaskedDenoiser(config), tokenizer).save(tmp_path / "md4_faces")
    rng = np.random.default_rng(0)
    fake = (rng.integers(0, 256, (6, 64, 64, 3), dtype=np.uint8), rng.integers(0, 256, (6, 64, 64, 3), np.uint8))
    monkeypatch.setattr(benchmark_quality, "real_faces", lambda model, count, seed: fake)
    out = tmp_path / "bench"
    rows = benchmark_main(
        ["--faces", str(tmp_path / "faces"), str(tmp_path / "md4_faces"), "--face-samples", "6", "--budgets", "64"]
        + ["--train-steps", "1"]
        + ["--out", str(out), "--device", "cpu", "--keep-samples", "4"]
    )
    assert [(r["model"], r["budget"]) for r in rows] == [
        ("GGM classic (faces)", "64"),
        ("GGM classic (faces)", "exact"),
        ("MD4 (faces)", "64"),
        ("MD4 (faces)", "exact"),
        ("real held-out faces", ""),
        ("VQ reconstructions of them", ""),
    ]
    assert [r["network_calls"] for r in rows[:2]] == [64, 256]  # classic: one call per position group
    assert rows[2]["network_calls"] <= 64 and rows[3]["network_calls"] == 256  # MD4 exact: one reveal per call
    assert all(0 <= r["frechet_vq_mean"] <= r["frechet_vq"] + 1e-9 and 0 <= r["brightness"] <= 255 for r in rows)
    assert rows[4]["brightness"] == pytest.approx(float(fake[0].mean()))
    assert all(0 <= r["two_sample"] <= 1 and r["two_sample_ci"].startswith("[") for r in rows)  # the classifier test
    assert rows[0]["train_rate_source"].startswith("measured here")
    with open(out / "faces_results.csv") as fh:
        assert csv.DictReader(fh).fieldnames == FACE_COLUMNS
    assert (out / "frechet_vs_calls.png").is_file() and len(list((out / "samples").glob("*.png"))) == 4
    other = ImageTokenizer(VQAutoencoder(VQConfig(codebook_size=16, code_dim=4, channels=(4, 8, 8))).eval())
    MaskedDiffusionModel(MaskedDenoiser(config), other).save(tmp_path / "md4_other_vq")
    with pytest.raises(SystemExit, match="different VQ tokenizers"):
        benchmark_main(["--faces", str(tmp_path / "faces"), str(tmp_path / "md4_other_vq"), "--out", str(out)])


@pytest.mark.slow  # samples every setting and runs the two-sample test per row: 10–27 s
def test_faces_benchmark_scores_a_blackout_model_with_the_given_vq_encoder(tmp_path, monkeypatch):
    from app_checkpoints import make_blackout_checkpoint

    from ggm_core.tokenizers.vq import ImageTokenizer, VQAutoencoder, VQConfig
    from training import benchmark_quality

    torch.manual_seed(0)
    ImageTokenizer(VQAutoencoder(VQConfig(codebook_size=16, code_dim=4, channels=(4, 8, 8))).eval()).save(tmp_path)
    blackout = make_blackout_checkpoint(tmp_path / "blackout")
    rng = np.random.default_rng(0)
    fake = (rng.integers(0, 256, (3, 64, 64, 3), dtype=np.uint8), rng.integers(0, 256, (3, 64, 64, 3), np.uint8))
    monkeypatch.setattr(benchmark_quality, "real_faces", lambda model, count, seed: fake)
    rows = benchmark_main(
        ["--faces", str(blackout), "--vq", str(tmp_path), "--no-exact", "--face-samples", "3", "--budgets", "2", "5"]
        + ["--train-steps", "1", "--out", str(tmp_path / "bench"), "--device", "cpu"]
    )
    assert [(r["model"], r["budget"], r["network_calls"]) for r in rows[:2]] == [
        ("Blackout (faces)", "2", 2),
        ("Blackout (faces)", "5", 5),
    ]  # the exact 1000-step grid left out
    assert [r["model"] for r in rows[2:]] == ["real held-out faces", "VQ reconstructions of them"]
    assert all(r["frechet_vq"] >= r["frechet_vq_mean"] >= 0 for r in rows)


def test_top_p_truncates_every_benchmark_setting():
    from ggm_core.md4 import MaskedDenoiser, MaskedDiffusionModel
    from ggm_core.transformer import TransformerConfig
    from training.benchmark_quality import settings_for

    model = MaskedDiffusionModel(MaskedDenoiser(TransformerConfig(8, 32, 16, 1, 2)))
    exact = settings_for(model, [16, 64])  # 64 calls cover the 32 positions: the exact chain fits
    assert [(s.label, s.kwargs) for s in exact] == [
        ("steps=16", {"steps": 16}),
        ("exact", {"steps": 0}),
        ("exact", {"steps": 0}),
    ]
    truncated = settings_for(model, [16], top_p=0.9)
    assert [(s.label, s.budget, s.kwargs) for s in truncated] == [
        ("steps=16, top-p 0.9", "16", {"steps": 16, "top_p": 0.9}),
        ("one per call, top-p 0.9", "exact", {"steps": 0, "top_p": 0.9}),
    ]
    with pytest.raises(SystemExit):
        benchmark_main(["--md4", "unused", "--judge", "unused", "--top-p", "0"])

"""The infill benchmark's measures: the gap cut, the split at the real text after a gap, its perplexity."""

import math
from pathlib import Path

import pytest
import torch
from transformers import GPT2LMHeadModel

from ggm_core.tokenizers.text import TextTokenizer
from tools.benchmark_infill import cut_gaps, split_at_suffix, suffix_perplexity
from training.judge import JudgeModel, gpt2_config

ROOT = Path(__file__).resolve().parents[1]


def test_cut_gaps_rebuild_the_original_window():
    text = " ".join(["alpha", "beta", "gamma", "delta"] * 50)
    for prefix, removed, suffix in cut_gaps(text, 5, seed=1, before=5, after=4):
        assert prefix.endswith(" ") and len(removed.split()) == 3
        assert prefix + removed + suffix in text


def test_split_moves_the_space_before_the_suffix_into_it():
    completed = "He said that the weather was fine. And then they walked home, and the tail goes on"
    offset = completed.index("the weather")
    assert split_at_suffix(completed, offset, " And then they walked home,") == (
        "He said that the weather was fine.",
        " And then they walked home,",
    )
    assert split_at_suffix(completed, offset, " not in the text") is None
    assert split_at_suffix(completed, len(completed), " And then") is None, "the suffix must follow the gap"


def test_suffix_perplexity_scores_only_the_text_after_the_gap():
    tokenizer = TextTokenizer.load(ROOT / "assets" / "text_austen")
    torch.manual_seed(0)
    network = GPT2LMHeadModel(gpt2_config(tokenizer.vocab_size, 32, 32, 2, 2)).eval()
    judge = JudgeModel(network, tokenizer, tokenizer.vocab_size)
    before, after = "It is a truth universally acknowledged,", " that a single man"
    head, tail = tokenizer.encode(before), tokenizer.encode(after)
    nll = judge.token_nll(torch.tensor([head + tail]))[0, len(head) :]
    assert math.isclose(suffix_perplexity(judge, [(before, after)]), math.exp(nll.double().mean().item()), rel_tol=1e-6)
    long_before = " ".join(["word"] * 100)  # over the judge's 32 tokens: the window's start is dropped
    kept = (tokenizer.encode(long_before) + tail)[-32:]
    nll = judge.token_nll(torch.tensor([kept]))[0, 32 - len(tail) :]
    expected = math.exp(nll.double().mean().item())
    assert math.isclose(suffix_perplexity(judge, [(long_before, after)]), expected, rel_tol=1e-6)
    assert math.isclose(suffix_perplexity(judge, [(long_before, after), (before, "")]), expected, rel_tol=1e-6)
    with pytest.raises(ValueError, match="no text after the gaps"):
        suffix_perplexity(judge, [(before, "")])

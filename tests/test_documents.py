"""Document windows (training/documents.py): END and PAD in the BPE, paragraph-aligned windows, and a GGM
fine-tuned onto the grown vocabulary."""

from pathlib import Path

import pytest
import torch

from ggm_core.tokenizers.text import TextTokenizer
from training.documents import document_windows, sentences
from training.init_weights import grown_state

ASSET = Path(__file__).resolve().parents[1] / "assets" / "text_austen"


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory) -> TextTokenizer:
    return TextTokenizer.load(ASSET).save_with_document_tokens(tmp_path_factory.mktemp("bpe"))


def test_document_tokens_follow_the_bpe_and_never_come_from_text(tokenizer):
    plain = TextTokenizer.load(ASSET)
    assert (tokenizer.end_id, tokenizer.pad_id, tokenizer.vocab_size) == (8192, 8193, 8194)
    text = "It was a <|end|> fine day. é"
    assert tokenizer.encode(text) == plain.encode(text)
    ids = [*tokenizer.encode(text), tokenizer.end_id, tokenizer.pad_id]
    assert tokenizer.decode(ids) == text == "".join(tokenizer.pieces(ids))
    assert tokenizer.document([*tokenizer.encode("Yes."), tokenizer.end_id, *tokenizer.encode(" No.")]) == "Yes."


def test_sentences_keep_titles_and_quotes_whole():
    assert sentences('"Oh!" said she. "Is it so?" I know. Mr. Elton came. And') == [
        '"Oh!" said she.',
        '"Is it so?"',
        "I know.",
        "Mr. Elton came.",
        "And",
    ]


def test_windows_are_whole_paragraphs_then_end_then_pad(tokenizer):
    short = ["It was a fine day.", "She smiled.", "Nobody came."]
    long = " ".join(f"Sentence number {i} is here." for i in range(40))
    windows = document_windows([*short, long], tokenizer, seq_len=32)
    texts = [tokenizer.document(w) for w in windows]
    assert texts[:3] == [
        "It was a fine day.",
        "It was a fine day.\nShe smiled.",
        "It was a fine day.\nShe smiled.\nNobody came.",
    ]
    for w in windows.tolist():
        end = w.index(tokenizer.end_id)
        assert set(w[end + 1 :]) <= {tokenizer.pad_id} and tokenizer.pad_id not in w[:end]
    assert texts[-2].startswith("Sentence number 0 is here.") and texts[-2].endswith("here.")
    assert texts[-1].startswith("Sentence number") and texts[-1].endswith("number 39 is here.")


def test_a_sentence_longer_than_the_window_is_cut_without_end(tokenizer):
    (window,) = document_windows(["word " * 60], tokenizer, seq_len=16)
    assert tokenizer.end_id not in window.tolist() and len(window) == 16


def test_grown_state_keeps_the_old_rows_and_starts_the_new_at_the_mean_and_zero():
    source = {"token_embedding.weight": torch.randn(5, 3), "out.weight": torch.randn(5, 3), "out.bias": torch.randn(5)}
    target = {"token_embedding.weight": torch.empty(7, 3), "out.weight": torch.empty(7, 3), "out.bias": torch.empty(7)}
    grown = grown_state(source, target)
    assert torch.equal(grown["out.weight"][:5], source["out.weight"]) and not grown["out.bias"][5:].any()
    assert torch.allclose(grown["token_embedding.weight"][6], source["token_embedding.weight"].mean(0))

"""Text data pipeline (training/prepare_text.py), BPE training and ggm_core.tokenizers.text.

The Austen corpus is fetched with `apt-get download` (needs root and a Debian mirror) once per session.
"""

import json

import pytest
import torch

from ggm_core.tokenizers.text import TextTokenizer
from training.bpe import read_paragraphs, train_bpe
from training.corpus import (
    AUSTEN_NOVELS,
    HEADING,
    VAL_BLOCK,
    VAL_EVERY,
    default_cache_dir,
    paragraphs,
    prepare_text,
)
from training.prepare_text import main

NON_ASCII = "Émilie — naïve café 日本 🙂"


@pytest.fixture(scope="session")
def austen(tmp_path_factory):
    folder = prepare_text(cache_dir=tmp_path_factory.mktemp("cache"))
    return {
        "dir": folder,
        "train": read_paragraphs(folder / "train.txt"),
        "val": read_paragraphs(folder / "val.txt"),
        "stats": json.loads((folder / "stats.json").read_text()),
    }


@pytest.fixture(scope="session")
def bpe(austen, tmp_path_factory):
    return TextTokenizer.load(train_bpe(austen["dir"] / "train.txt", 2048, tmp_path_factory.mktemp("bpe")))


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("GGM_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path


def test_paragraphs_joins_lines_and_drops_headings():
    lines = ["CHAPTER IV", "", "  First  line", "wrapped here--", "no space.", "", "", "Chapter 2", "Second."]
    assert paragraphs(lines) == ["First line wrapped here--no space.", "Second."]
    assert paragraphs(["one per line", "when there are", "no blank lines"]) == [
        "one per line",
        "when there are",
        "no blank lines",
    ]


def test_austen_six_novels_and_held_out_validation(austen):
    stats = austen["stats"]
    assert sorted(stats["train"]["sources"] + stats["val"]["sources"]) == sorted(AUSTEN_NOVELS)
    assert stats["val"]["sources"] == ["persuasion"]
    for split in ("train", "val"):
        assert stats[split]["paragraphs"] == len(austen[split])
        assert stats[split]["characters"] == sum(map(len, austen[split]))
    assert austen["val"][0].startswith("Sir Walter Elliot, of Kellynch Hall")
    assert austen["val"][-1].endswith("than in its national importance.")
    assert not set(austen["val"]) & set(austen["train"])
    assert not any("Kellynch" in p for p in austen["train"])  # Persuasion's setting
    assert sum("Kellynch" in p for p in austen["val"]) > 20


def test_the_judges_corpus_holds_out_blocks_of_every_novel(austen, tmp_path):
    """austen_all: the same paragraphs as austen, every 20th block of 20 held out, from all six novels."""
    folder = prepare_text(cache_dir=tmp_path, source="austen_all")
    assert folder.name == "austen_all"
    train, val = read_paragraphs(folder / "train.txt"), read_paragraphs(folder / "val.txt")
    assert sorted(train + val) == sorted(austen["train"] + austen["val"])
    assert abs(len(val) / (len(train) + len(val)) - 1 / VAL_EVERY) < 0.005
    stats = json.loads((folder / "stats.json").read_text())
    assert stats["train"]["sources"] == stats["val"]["sources"] == list(AUSTEN_NOVELS)
    # Emma comes first in both corpora: its first held-out block is its paragraphs 380-399, read as one stretch
    first_block = (VAL_EVERY - 1) * VAL_BLOCK
    assert val[:VAL_BLOCK] == austen["train"][first_block : first_block + VAL_BLOCK]
    assert train[:first_block] == austen["train"][:first_block]
    for place in ("Hartfield", "Kellynch", "Pemberley", "Norland"):  # Emma, Persuasion, P&P, S&S
        assert any(place in p for p in val) and any(place in p for p in train), place


def test_austen_front_matter_and_headings_removed(austen):
    corpus = austen["train"] + austen["val"]
    assert austen["train"][0].startswith("Emma Woodhouse, handsome, clever, and rich")
    for marker in ("Project Gutenberg", "By Jane Austen", "ADVERTISEMENT BY THE AUTHORESS", "A NOTE ON THE TEXT"):
        assert not any(marker.lower() in p.lower() for p in corpus), marker
    assert not any(HEADING.fullmatch(p) or p in ("THE END", "FINIS", "Finis") for p in corpus)


def test_austen_paragraphs_joined_and_clean(austen):
    corpus = austen["train"] + austen["val"]
    assert len(corpus) > 9000
    assert sum(len(p) < 20 for p in corpus) < 0.03 * len(corpus)
    assert all(p and p == " ".join(p.split()) for p in corpus)


def test_user_folder_holds_out_every_20th_paragraph(tmp_path, capsys):
    texts = tmp_path / "texts"
    (texts / "sub").mkdir(parents=True)
    (texts / "a.txt").write_text("\n\n".join(f"Paragraph {i} of a,\nwrapped." for i in range(60)))
    (texts / "sub" / "b.txt").write_text("\n".join(f"Line {i} of b — {NON_ASCII}" for i in range(40)))
    (texts / "ignored.md").write_text("not text")
    out = prepare_text(cache_dir=tmp_path / "cache", folder=texts, name="mine")
    assert out == tmp_path / "cache" / "text" / "mine"
    train, val = read_paragraphs(out / "train.txt"), read_paragraphs(out / "val.txt")
    everything = [f"Paragraph {i} of a, wrapped." for i in range(60)] + [
        f"Line {i} of b — {NON_ASCII}" for i in range(40)
    ]
    assert val == everything[19::20] and len(val) == 5
    assert train == [p for p in everything if p not in val]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["source"] == "files" and stats["val"]["paragraphs"] == 5 and stats["train"]["paragraphs"] == 95

    (out / "train.txt").write_text("sentinel\n")  # an existing corpus is kept unless forced
    prepare_text(cache_dir=tmp_path / "cache", folder=texts, name="mine")
    assert "already prepared" in capsys.readouterr().out
    assert read_paragraphs(out / "train.txt") == ["sentinel"]
    main(
        [
            "--cache-dir",
            str(tmp_path / "cache"),
            "--files",
            *map(str, sorted(texts.rglob("*.txt"))),
            "--name",
            "mine",
            "--force",
        ]
    )
    assert read_paragraphs(out / "train.txt") == train
    assert not list(out.glob("*.tmp"))


def test_user_corpus_too_small(tmp_path):
    (tmp_path / "t.txt").write_text("just one paragraph")
    with pytest.raises(ValueError, match="at least 20 paragraphs"):
        prepare_text(cache_dir=tmp_path, files=[tmp_path / "t.txt"])


def test_bpe_round_trips_whole_corpus(austen, bpe):
    assert bpe.kind == "bpe" and bpe.vocab_size == 2048
    for p in austen["train"] + austen["val"]:
        assert bpe.decode(bpe.encode(p)) == p
    ids = bpe.encode(NON_ASCII)
    assert max(ids) < bpe.vocab_size
    assert bpe.decode(ids) == NON_ASCII
    assert bpe.decode(torch.tensor(ids)) == NON_ASCII


def test_pieces_join_to_decoded_text(bpe):
    ids = bpe.encode(NON_ASCII + ' "Yes," said she.')
    pieces = bpe.pieces(torch.tensor(ids))
    assert len(pieces) == len(ids)
    assert "".join(pieces) == bpe.decode(ids)
    assert "日" in pieces and " said" in pieces
    assert "".join(bpe.pieces(ids[:1])) == bpe.decode(ids[:1]) == "\ufffd"  # half of "É"


def test_save_load_round_trip(bpe, tmp_path):
    bpe.save(tmp_path / "tok")
    loaded = TextTokenizer.load(tmp_path / "tok")
    text = "It is a truth universally acknowledged. " + NON_ASCII
    assert loaded.vocab_size == bpe.vocab_size
    assert loaded.encode(text) == bpe.encode(text)
    assert loaded.decode(loaded.encode(text)) == text


def test_missing_or_corrupt_tokenizer_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        TextTokenizer.load(tmp_path)
    (tmp_path / "tokenizer.json").write_text('{"model": ')
    with pytest.raises(ValueError, match="tokenizer.json"):
        TextTokenizer.load(tmp_path)


def test_two_corpus_folders_with_one_name_and_an_edited_corpus_are_prepared_apart(tmp_path):
    from training.config import TrainConfig
    from training.data import prepared_corpus

    texts = {}
    for side in ("a", "b"):
        folder = tmp_path / side / "texts"
        folder.mkdir(parents=True)
        (folder / "book.txt").write_text("\n\n".join(f"Side {side} paragraph {i}." for i in range(40)))
        texts[side] = folder
    cfg = {"cache_dir": str(tmp_path / "cache")}
    prepared = {side: prepared_corpus(TrainConfig(corpus=str(folder), **cfg)) for side, folder in texts.items()}
    assert prepared["a"] != prepared["b"]
    assert (
        "Side a" in (prepared["a"] / "train.txt").read_text()
        and "Side a" not in (prepared["b"] / "train.txt").read_text()
    )
    (texts["a"] / "book.txt").write_text("\n\n".join(f"Edited paragraph {i}." for i in range(40)))
    again = prepared_corpus(TrainConfig(corpus=str(texts["a"]), **cfg))
    assert again == prepared["a"] and "Edited" in (again / "train.txt").read_text()

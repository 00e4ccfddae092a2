"""The flexible-gap benchmark (training/benchmark_gaps.py): its cuts, its first-word rule, and a run end to end on
a tiny document model and a tiny judge."""

from app_checkpoints import CORPUS, make_text_checkpoint
from test_judge import tiny_judge

from ggm_core.tokenizers.text import TextTokenizer
from training import benchmark_gaps
from training.benchmark_gaps import ROWS
from training.gap_sentences import cut_sentences, first_word


def test_cuts_remove_one_to_four_plain_words_and_put_the_sentence_back():
    paragraphs = [line for line in CORPUS.splitlines() if line] * 3
    cases = cut_sentences(paragraphs, 12, seed=0)
    assert len(cases) == 12
    for prefix, removed, suffix in cases:
        assert 1 <= len(removed.split()) <= 4 and all(w.isalpha() for w in removed.split())
        assert prefix == "" or prefix.endswith(" ")
        assert any(prefix + removed + suffix in p for p in paragraphs)


def test_the_first_word_of_a_fill_extends_into_the_word_it_completes():
    assert first_word(" fine and", "It was a") == "fine"
    assert first_word("piness itself", "hap") == "happiness"
    assert first_word(", said", "Yes") == "said" and first_word("", "x") == ""


def test_the_benchmark_prints_every_row_for_a_document_model(tmp_path, monkeypatch, capsys):
    model = make_text_checkpoint(tmp_path / "docs", documents=True, seq_len=128)
    plain = TextTokenizer.load(make_text_checkpoint(tmp_path / "plain"))
    text = tmp_path / "text"
    text.mkdir()
    (text / "train.txt").write_text(CORPUS, encoding="utf-8")
    (text / "val.txt").write_text(CORPUS, encoding="utf-8")
    monkeypatch.setattr(benchmark_gaps, "prepare_text", lambda: text)
    monkeypatch.setattr(benchmark_gaps, "load_judge", lambda folder: tiny_judge(plain.vocab_size, 128, plain))
    benchmark_gaps.main(["--model", str(model), "--judge", "tiny", "--sentences", "3", "--examples", "1"])
    printed = capsys.readouterr().out
    for row in [*ROWS, "the original sentences"]:
        assert f"| {row} |" in printed
    assert "3 held-out Persuasion sentences" in printed and "(0 longer than the canvas skipped)" in printed
    assert "- original:" in printed
    benchmark_gaps.main(["--model", str(model), "--judge", "tiny", "--sentences", "3", "--fixed-only"])
    printed = capsys.readouterr().out
    assert f"| {ROWS[0]} |" in printed and f"| {ROWS[1]} |" not in printed

"""Byte-level BPE for the text models: train one on a prepared corpus (training/corpus.py) and measure how well it
compresses (``python -m training.train_tokenizer`` from the command line).
"""

import statistics
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from ggm_core.atomic import atomic_write
from ggm_core.tokenizers.text import FILENAME, TextTokenizer


def read_paragraphs(path: Path) -> list[str]:
    return Path(path).read_text(encoding="utf-8").splitlines()


def train_bpe(train_txt: Path, vocab_size: int, out_dir: Path) -> Path:
    """Train a byte-level BPE on the paragraphs (lines) of train_txt; write out_dir/tokenizer.json, return out_dir.

    All 256 bytes are in the initial alphabet, so any text encodes losslessly.
    """
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    paras = read_paragraphs(train_txt)
    tok.train_from_iterator(paras, trainer, length=len(paras))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(out_dir / FILENAME, lambda tmp: tok.save(tmp))  # a reader never sees half a file
    return out_dir


def evaluate(tokenizer: TextTokenizer, paras: list[str]) -> dict:
    """Compression and coverage of `tokenizer` on paragraphs; `lossless` checks decode(encode(p)) == p."""
    ids = [tokenizer.encode(p) for p in paras]
    lengths = [len(x) for x in ids]
    chars, tokens = sum(map(len, paras)), sum(lengths)
    return {
        "paragraphs": len(paras),
        "tokens": tokens,
        "chars_per_token": chars / tokens,
        "words_per_256_tokens": 256 * sum(len(p.split()) for p in paras) / tokens,
        "tokens_per_paragraph_mean": tokens / len(paras),
        "tokens_per_paragraph_median": statistics.median(lengths),
        "paragraphs_over_256_tokens": sum(n > 256 for n in lengths) / len(paras),
        "vocab_used": len({i for x in ids for i in x}) / tokenizer.vocab_size,
        "lossless": all(tokenizer.decode(x) == p for x, p in zip(ids, paras, strict=True)),
    }

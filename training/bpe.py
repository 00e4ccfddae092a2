"""Train a byte-level BPE on a prepared corpus (training/prepare_text.py) and report how well it compresses.

python -m training.train_tokenizer --vocab-size 2048          # -> <text dir>/bpe-2048/tokenizer.json
python -m training.train_tokenizer --vocab-size 1024 2048 4096 # compare sizes on val.txt
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from ggm_core.atomic import atomic_write
from ggm_core.tokenizers.text import FILENAME, TextTokenizer
from training.prepare_text import default_cache_dir


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


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--text-dir", type=Path, help="folder with train.txt/val.txt (default: <cache>/text/austen)")
    ap.add_argument("--vocab-size", type=int, nargs="+", default=[2048])
    ap.add_argument("--out", type=Path, help="tokenizers go to <out>/bpe-<size>/ (default: --text-dir)")
    args = ap.parse_args(argv)
    text_dir = args.text_dir or default_cache_dir() / "text" / "austen"
    if not (text_dir / "train.txt").is_file():
        sys.exit(f"{text_dir / 'train.txt'} not found: run python -m training.prepare_text first")
    splits = {s: read_paragraphs(text_dir / f"{s}.txt") for s in ("train", "val") if (text_dir / f"{s}.txt").is_file()}
    ok = True
    for size in args.vocab_size:
        out = train_bpe(text_dir / "train.txt", size, (args.out or text_dir) / f"bpe-{size}")
        tokenizer = TextTokenizer.load(out)
        print(f"{out / FILENAME}: vocab {tokenizer.vocab_size}")
        for split, paras in splits.items():
            stats = evaluate(tokenizer, paras)
            ok &= stats["lossless"]
            print(
                f"  {split}: " + json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in stats.items()})
            )
    if not ok:
        sys.exit("round trip failed: decode(encode(text)) != text")


if __name__ == "__main__":
    main()

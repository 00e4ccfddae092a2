"""Train a byte-level BPE on a prepared corpus (training/prepare_text.py) and report how well it compresses.

python -m training.train_tokenizer --vocab-size 2048          # -> <text dir>/bpe-2048/tokenizer.json
python -m training.train_tokenizer --vocab-size 1024 2048 4096 # compare sizes on val.txt
"""

import argparse
import json
import sys
from pathlib import Path

from ggm_core.tokenizers.text import FILENAME, TextTokenizer
from training.bpe import evaluate, read_paragraphs, train_bpe
from training.corpus import default_cache_dir


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

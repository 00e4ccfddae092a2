"""Train the autoregressive judge (training/judge.py) with the shared training loop.

python -m training.train_judge --config training/configs/judge_austen.toml   # reuses the text model's BPE
python -m training.train_judge --config training/configs/judge_austen.toml --resume
"""

import argparse
import json
from pathlib import Path

from ggm_core.atomic import atomic_write_bytes
from training.config import load_config
from training.trainer import done_line, train


def seed_tokenizer(out_dir: Path, source: Path) -> None:
    """Put ``source/tokenizer.json`` where training/data.py looks (``OUT_DIR/tokenizer/``), or check it is there.

    The judge must tokenize exactly like the models it scores, so it reuses their BPE instead of training one.
    """
    target = Path(out_dir) / "tokenizer" / "tokenizer.json"
    source_file = Path(source) / "tokenizer.json"
    if not source_file.is_file():
        raise SystemExit(f"{source_file} not found: pass --tokenizer-from a folder holding the models' tokenizer.json")
    if target.is_file():
        if json.loads(target.read_text())["model"] != json.loads(source_file.read_text())["model"]:
            raise SystemExit(f"{target} differs from {source_file}; use a fresh --out-dir")
        return
    atomic_write_bytes(target, source_file.read_bytes())


def main(argv: list[str] | None = None) -> None:
    """Training (training/trainer.py) with family "judge", after seeding OUT_DIR with the models' tokenizer."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--tokenizer-from", type=Path, default=Path("assets/text_austen"))
    ours, rest = parser.parse_known_args(argv)
    cfg, resume = load_config(rest)
    if cfg.family != "judge":
        raise SystemExit(f"family is {cfg.family!r}; the judge config needs family = 'judge'")
    if cfg.dataset != "text":
        raise SystemExit("the judge scores text: use dataset = 'text'")
    seed_tokenizer(Path(cfg.out_dir), ours.tokenizer_from)
    print(done_line(train(cfg, resume)))


if __name__ == "__main__":
    main()

"""Train a model: ``python -m training.train --config training/configs/text_austen.toml``.

The command line of :class:`training.trainer.Trainer` (which documents what a run writes): ``--config FILE``,
``--resume`` and one ``--field value`` flag per setting of training/config.py. Multi-GPU with
``torchrun --nproc_per_node N -m training.train --config ...``.
"""

import os

from training.config import load_config
from training.trainer import done_line, train


def main(argv: list[str] | None = None) -> None:
    cfg, resume = load_config(argv)
    record = train(cfg, resume)
    if int(os.environ.get("RANK", "0")) == 0:
        print(done_line(record))


if __name__ == "__main__":
    main()

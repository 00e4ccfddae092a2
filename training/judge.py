"""The autoregressive judge: a small GPT-2 trained on the same tokens, used to score generated samples.

Train it with ``python -m training.train_judge`` (training/train_judge.py).

The judge is a ``transformers`` ``GPT2LMHeadModel`` built from a ``GPT2Config`` (no downloads), wrapped
in :class:`JudgeModel` with the training loop's family interface (``network``, ``loss``,
``generate_tokens``, ``save``, ``tokenizer``), so the training loop (training/trainer.py) trains it like any family.

Its vocabulary is the tokenizer's plus one start token (id ``V``): the network reads ``[start, x_0, …,
x_{L-2}]`` and predicts ``x_0, …, x_{L-1}``, so every token of a window is scored and sampling needs no
seed text. The start token is never predicted (its logit is dropped).

Metrics: :func:`generative_perplexity` (exp of the mean next-token NLL of samples under the judge) and
:func:`unigram_entropy` (entropy, in nats, of the pooled token frequencies of the samples). The judge's
training validation loss is the same NLL on held-out windows, so exp(val loss) is its own perplexity;
training/benchmark_quality.py scores held-out windows alongside the samples as the reference.
"""

import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import GPT2Config, GPT2LMHeadModel

from ggm_core.atomic import atomic_write_bytes
from ggm_core.draws import sample_categorical

JUDGE_FILE = "judge.json"  # written last: its presence marks a complete judge checkpoint


class JudgeModel:
    """A GPT-2 over ``V`` tokens plus a start token, with the family interface of training/families.py."""

    family = "judge"

    def __init__(self, network: GPT2LMHeadModel, tokenizer, vocab_size: int, metadata: dict | None = None) -> None:
        if network.config.vocab_size != vocab_size + 1:
            raise ValueError(f"network vocab {network.config.vocab_size} != tokenizer vocab {vocab_size} + start token")
        if tokenizer is not None and tokenizer.vocab_size != vocab_size:
            raise ValueError(f"tokenizer vocab_size {tokenizer.vocab_size} != judge vocab_size {vocab_size}")
        self.network = network
        self.tokenizer = tokenizer
        self.vocab_size = vocab_size
        self.metadata = metadata or {}

    @property
    def seq_len(self) -> int:
        return self.network.config.n_positions

    @property
    def start_token(self) -> int:
        return self.vocab_size

    def logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """Next-token logits over the ``V`` real tokens, (B, L, V): row j predicts ``tokens[:, j]``."""
        if tokens.shape[1] > self.seq_len:
            raise ValueError(f"sequences of {tokens.shape[1]} tokens exceed the judge's seq_len {self.seq_len}")
        start = torch.full_like(tokens[:, :1], self.start_token)
        inputs = torch.cat([start, tokens[:, :-1]], dim=1)
        return self.network(input_ids=inputs).logits[..., : self.vocab_size]

    def token_nll(self, tokens: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of every token given the ones before it, float32 (B, L)."""
        tokens = tokens.long().to(self.network.device)
        logits = self.logits(tokens).float()
        return F.cross_entropy(logits.transpose(1, 2), tokens, reduction="none")

    def loss(self, x0: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, int]:
        """Mean next-token cross-entropy per predicted token, and the number of predicted tokens.

        ``generator`` is unused (the loss has no noise); it keeps the family interface.
        """
        return self.token_nll(x0).mean(), x0.numel()

    @torch.no_grad()
    def generate_tokens(self, count: int, seed: int, length: int | None = None) -> torch.Tensor:
        """``count`` ancestral samples of ``length`` tokens (default seq_len), float64 draws from a seeded generator."""
        length = length or self.seq_len
        generator = torch.Generator().manual_seed(seed)
        was_training = self.network.training
        self.network.eval()
        device = self.network.device
        tokens = torch.full((count, 1), self.start_token, dtype=torch.long, device=device)
        past = None
        for _ in range(length):
            out = self.network(input_ids=tokens[:, -1:], past_key_values=past, use_cache=True)
            past = out.past_key_values
            probs = torch.softmax(out.logits[:, -1, : self.vocab_size].double(), dim=-1)
            tokens = torch.cat([tokens, sample_categorical(probs, generator).view(count, 1)], dim=1)
        self.network.train(was_training)
        return tokens[:, 1:].cpu()

    def config_dict(self) -> dict:
        """The GPT-2's sizes: what a resumed judge run must keep (training/trainer.py)."""
        sizes = self.network.config.to_dict()
        return {"gpt2": {k: sizes[k] for k in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "n_inner")}}

    def save(self, folder, dtype: torch.dtype = torch.float32) -> Path:
        """``model.safetensors`` + ``config.json`` (``save_pretrained``), the tokenizer, then ``judge.json``.

        Each file is moved into place with ``os.replace`` from a temporary folder beside ``folder``.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in self.network.state_dict().items()}
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
        try:
            self.network.save_pretrained(tmp, state_dict=state)
            umask = os.umask(0)
            os.umask(umask)
            for path in sorted(tmp.iterdir()):
                os.chmod(path, 0o666 & ~umask)
                os.replace(path, folder / path.name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if self.tokenizer is not None:
            self.tokenizer.save(folder)
        record = {
            "kind": "judge",
            "vocab_size": self.vocab_size,
            "tokenizer": {"kind": getattr(self.tokenizer, "kind", "none")},
            "metadata": self.metadata,
        }
        atomic_write_bytes(folder / JUDGE_FILE, json.dumps(record, indent=1).encode())
        return folder


def gpt2_config(
    vocab_size: int, seq_len: int, d_model: int, n_layers: int, n_heads: int, mlp_ratio: int = 4, dropout: float = 0.0
):
    """A small GPT-2 over ``vocab_size`` tokens plus the start token, with one ``dropout`` rate (training only).

    Input and output embeddings are untied: the training state is one safetensors file, which stores no
    shared tensors.
    """
    return GPT2Config(
        vocab_size=vocab_size + 1,
        n_positions=seq_len,
        n_embd=d_model,
        n_layer=n_layers,
        n_head=n_heads,
        n_inner=mlp_ratio * d_model,
        resid_pdrop=dropout,
        embd_pdrop=dropout,
        attn_pdrop=dropout,
        bos_token_id=vocab_size,
        eos_token_id=None,
        tie_word_embeddings=False,
    )


def build_judge(cfg, data) -> JudgeModel:
    """The training-script family: a judge sized by the config's d_model / n_layers / n_heads / seq_len."""
    vocab = data.tokenizer.vocab_size
    config = gpt2_config(vocab, cfg.seq_len, cfg.d_model, cfg.n_layers, cfg.n_heads, cfg.mlp_ratio, cfg.dropout)
    return JudgeModel(GPT2LMHeadModel(config), data.tokenizer, vocab)


def load_judge(folder, device: str | torch.device = "cpu") -> JudgeModel:
    """Load a judge checkpoint written by :meth:`JudgeModel.save` (float32, eval mode)."""
    from ggm_core.checkpoint import CheckpointError, load_tokenizer

    folder = Path(folder)
    path = folder / JUDGE_FILE
    if not path.is_file():
        raise CheckpointError(path, "missing: not a judge checkpoint (train one with python -m training.judge)")
    record = json.loads(path.read_text())
    network = GPT2LMHeadModel.from_pretrained(folder, dtype=torch.float32, local_files_only=True)
    tokenizer = load_tokenizer(record["tokenizer"]["kind"], folder)
    return JudgeModel(network.to(device).eval(), tokenizer, record["vocab_size"], record.get("metadata", {}))


def _batches(token_batches) -> Iterable[torch.Tensor]:
    return [token_batches] if isinstance(token_batches, torch.Tensor) else token_batches


@torch.no_grad()
def mean_nll(judge: JudgeModel, token_batches, batch_size: int = 64) -> float:
    """Mean NLL per token (nats) of ``token_batches`` (a (B, L) tensor or an iterable of them) under the judge."""
    was_training = judge.network.training
    judge.network.eval()
    total, count = 0.0, 0
    for batch in _batches(token_batches):
        for chunk in batch.split(batch_size):
            total += judge.token_nll(chunk).double().sum().item()
            count += chunk.numel()
    judge.network.train(was_training)
    if count == 0:
        raise ValueError("no tokens to score")
    return total / count


def generative_perplexity(judge: JudgeModel, token_batches, batch_size: int = 64) -> float:
    """exp(mean next-token NLL) of the samples under the judge; every token of each window is scored."""
    return math.exp(mean_nll(judge, token_batches, batch_size))


def unigram_entropy(token_batches) -> float:
    """Entropy in nats of the token frequency distribution pooled over all the samples."""
    counts = torch.bincount(torch.cat([b.reshape(-1).long().cpu() for b in _batches(token_batches)]))
    probs = counts[counts > 0].double() / counts.sum()
    return float(-(probs * probs.log()).sum())

"""One cached decode step of the two-sided denoiser as a single module call, eager or compiled.

The step takes the new rows' input states (pending B tokens, then queries), writes their keys and values into
the per-layer cache at ``slots``, attends over the first ``mask.shape[-1]`` slots and returns h for the queries
(the last ``head_mods.shape[1]`` rows). Eagerly it runs the same operators on the same values as the blocks'
own methods, so its output is bit-identical to the layer-by-layer decode.

:class:`CompiledDecode` compiles it with ``torch.compile`` (weights frozen, CPU GEMM templates autotuned, a C++
wrapper so that runs in several threads proceed in parallel) for
the shape of the common call, one B token and one query at batch ``n``, with that call's inputs assembled
inside it (:class:`PairDecodeStep`); it is compiled once per batch size,
in the caller's thread (the app runs it in the background at start-up), and serves only calls of a compiled
shape, never compiling in a request. If compilation fails (no C++ compiler, an unsupported platform) it
records why and the eager step serves. Compiled logits equal the eager ones up to fp32 rounding (a test bounds
the softmax TV at every step of a run).
"""

import math
import os
import threading
import time

import torch
import torch.nn.functional as F
from torch import nn

COMPILE_ENV = "GGM_COMPILE"  # "0" turns the compiled decode step off
COMPILE_MODE = "max-autotune-no-cudagraphs"  # CPU GEMM templates autotuned against the ATen/MKL kernels


def masked_attention(q, k, v, attn_mask):
    """softmax(q·kᵀ/√d + mask)·v written out, so the compiler fuses it (SDPA's CPU kernel costs more than the
    arithmetic at two query rows); every row attends at least one key (a query attends itself)."""
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
    return torch.softmax(scores.masked_fill(~attn_mask, float("-inf")), dim=-1) @ v


class DecodeStep(nn.Module):
    """The decode step over a denoiser's blocks and head (shared modules: no copied weights); ``attention`` is
    SDPA eagerly (what the blocks' own forward runs) and :func:`masked_attention` for the compiler."""

    def __init__(self, blocks: nn.ModuleList, head: nn.Module, attention=F.scaled_dot_product_attention) -> None:
        super().__init__()
        self.blocks, self.head, self.attention = blocks, head, attention

    def forward(self, x, mods, head_mods, mask, slots, keys, values):
        """h (n, m, V) for input states ``x`` (n, p + m, d), per-layer modulations ``mods`` (layers, 1 or n,
        p + m, 6d), the head's (1 or n, m, 2d), the attention ``mask`` (p + m, width), the cache ``slots``
        (p + m,) the rows fill, and the per-layer ``keys``/``values`` caches (n, H, 2L, d_head), updated in place."""
        width = mask.shape[-1]
        for block, block_mods, key_cache, value_cache in zip(self.blocks, mods, keys, values, strict=True):
            q, k, v, chunks = block.attention_inputs(x, block_mods)
            key_cache.index_copy_(2, slots, k)
            value_cache.index_copy_(2, slots, v)
            attended = self.attention(q, key_cache[:, :, :width], value_cache[:, :, :width], attn_mask=mask)
            x = block.attention_outputs(x, attended, chunks)
        return self.head.project(x[:, -head_mods.shape[1] :], head_mods)


class PairDecodeStep(nn.Module):
    """The common call, one pending B token (at i − 1) and one query (at i), from views of a sweep's tables: the
    B token's input state (token + position + stream embedding, the sum the eager session forms) and the two
    rows' modulations are assembled inside the step, so the compiler fuses them with it."""

    def __init__(self, step: DecodeStep, token_embedding: nn.Embedding) -> None:
        super().__init__()
        self.step, self.token_embedding = step, token_embedding

    def assemble(self, token, position, stream, query, mods_b, mods_q):
        """The step's input states (n, 2, d) and modulations (layers, 1, 2, 6d) from the B token (n, 1), its
        position and stream embeddings, the query's input state (n, 1, d) and both rows' modulations."""
        x = torch.cat([self.token_embedding(token) + position + stream, query], dim=1)
        return x, torch.cat([mods_b, mods_q], dim=2)

    def forward(self, token, position, stream, query, mods_b, mods_q, head_mods, mask, slots, keys, values):
        return self.step(*self.assemble(token, position, stream, query, mods_b, mods_q), head_mods, mask, slots,
                         keys, values)  # fmt: skip


def compile_allowed() -> bool:
    """Whether the compiled step may be built here (``GGM_COMPILE=0`` turns it off)."""
    return os.environ.get(COMPILE_ENV, "1") != "0"


class CompiledDecode:
    """The compiled :class:`PairDecodeStep` over ``step``'s blocks and head, per batch size; ``step`` is the eager
    step for every other call. Thread-safe to query while it compiles."""

    def __init__(self, step: DecodeStep, token_embedding: nn.Embedding) -> None:
        self.step, self.token_embedding = step, token_embedding
        self._compiled: dict[int, object] = {}
        self._lock = threading.Lock()
        self.error: str | None = None  # why compilation failed, if it did
        self.seconds: dict[int, float] = {}  # compile (and warm-up) wall time per batch size

    def ready(self, batch_size: int) -> bool:
        return batch_size in self._compiled

    def __call__(self, batch_size: int, *inputs):
        return self._compiled[batch_size](*inputs)

    def compile(self, example_inputs, batch_size: int) -> bool:
        """Compile for ``example_inputs`` (:class:`PairDecodeStep`'s, at ``batch_size``) and run them once;
        False (with :attr:`error` set) when compilation is off or fails."""
        with self._lock:
            if batch_size in self._compiled:
                return True
            if self.error is not None:
                return False
            if not compile_allowed():
                self.error = f"turned off ({COMPILE_ENV}=0)"
                return False
            began = time.perf_counter()
            try:
                import torch._inductor.config as inductor_config

                fused = PairDecodeStep(DecodeStep(self.step.blocks, self.step.head, masked_attention),
                                       self.token_embedding)  # fmt: skip
                compiled = torch.compile(fused, dynamic=False, mode=COMPILE_MODE)
                # weights as constants, prepacked; the graph run from C++, which does not hold the interpreter's lock
                # between kernels (two threads on Python's wrapper took 2.9× one sample, on C++'s 1.5×)
                with torch.no_grad(), inductor_config.patch(freezing=True, cpp_wrapper=True):
                    compiled(*example_inputs)
            except Exception as error:  # any failure of the compiler stack leaves the eager step serving
                self.error = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
                return False
            self.seconds[batch_size] = time.perf_counter() - began
            self._compiled[batch_size] = torch._dynamo.run(compiled)  # serve: never compile again in a request
            return True

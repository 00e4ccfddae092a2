"""The two-sided denoiser's decode step: eager is bit-identical to a layer-by-layer decode, the compiled step
keeps every heat-bath conditional of a run within TV 1e-5 of the eager one, and a failed compile falls back."""

import shutil

import pytest
import torch
import torch.nn.functional as F

from ggm_core.events import run_to_end
from ggm_core.ggm.denoisers import TwoSidedDenoiser
from ggm_core.ggm.denoisers.decode_step import COMPILE_ENV, CompiledDecode, PairDecodeStep
from ggm_core.ggm.model import GlauberModel
from ggm_core.ggm.noise import NoiseDistribution
from ggm_core.ggm.schedule import GlauberSchedule
from ggm_core.transformer import TransformerConfig

V, L, K = 11, 12, 2


def tiny_model(seed=0) -> GlauberModel:
    torch.manual_seed(seed)
    denoiser = TwoSidedDenoiser(TransformerConfig(vocab_size=V, seq_len=L, d_model=32, n_layers=2, n_heads=2))
    for p in denoiser.parameters():
        torch.nn.init.normal_(p, std=0.2)
    noise = NoiseDistribution.unigram([torch.arange(V), torch.tensor([1, 1, 2])], V)
    return GlauberModel(denoiser.eval(), GlauberSchedule(L, K), noise)


def layer_by_layer(session, positions):
    """The decode as the blocks' own methods run it: slices of the cache written, then attended, layer by layer."""
    model, L = session.model, session.canvas.shape[1]
    first, p, m = positions[0], positions[0] - session.encoded, len(positions)
    keys, values = [k.clone() for k in session.keys], [v.clone() for v in session.values]
    x, mods, head_mods, *_ = session.step_inputs(positions, p)
    queries = torch.tensor(positions)
    mask = session._mask(torch.arange(first - p, first), queries, first, L)  # not the session's table
    for block, block_mods, k_cache, v_cache in zip(model.blocks, mods, keys, values, strict=True):
        q, k, v, chunks = block.attention_inputs(x, block_mods)
        k_cache[:, :, first - p : first], v_cache[:, :, first - p : first] = k[:, :, :p], v[:, :, :p]
        k_cache[:, :, L : L + m], v_cache[:, :, L : L + m] = k[:, :, p:], v[:, :, p:]
        attended = F.scaled_dot_product_attention(q, k_cache[:, :, : L + m], v_cache[:, :, : L + m], attn_mask=mask)
        x = block.attention_outputs(x, attended, chunks)
    return model.head.project(x[:, p:], head_mods)


@torch.no_grad()
def test_eager_decode_step_is_bit_identical_to_the_layer_by_layer_decode():
    model = tiny_model()
    canvas = torch.randint(V, (3, L), generator=torch.Generator().manual_seed(1))
    session = model.denoiser.begin_sweep(canvas, 1, model.schedule)
    for positions in ([0], [1], [4, 5], [6], [9], [10, 11]):  # pending B tokens 0, 1, 3, 1, 3, 1; 1 or 2 queries
        expected = layer_by_layer(session, positions)
        assert torch.equal(session.predict(positions), expected)


@torch.no_grad()
@pytest.mark.parametrize("batch", [1, 3])
def test_the_compiled_call_is_fed_what_the_eager_call_is(batch):
    """PairDecodeStep's inputs (views of the sweep's tables) assemble into exactly the eager common call's."""
    model = tiny_model()
    canvas = torch.randint(V, (batch, L), generator=torch.Generator().manual_seed(2))
    session = model.denoiser.begin_sweep(canvas, 1, model.schedule)
    pair = PairDecodeStep(model.denoiser.decoder.step, model.denoiser.token_embedding)
    for first in range(1, L):
        *rows, head_mods, mask, slots, keys, values = session.pair_inputs(first)
        x, mods, *rest = session.step_inputs([first], pending=1)
        assembled = (*pair.assemble(*rows), head_mods, mask, slots)
        assert all(torch.equal(a, b) for a, b in zip(assembled, (x, mods, *rest[:3]), strict=True)), first
        assert keys is session.keys and values is session.values


@pytest.mark.skipif(
    not (shutil.which("g++") or shutil.which("c++")), reason="torch.compile on CPU needs a C++ compiler"
)
def test_compiled_decode_keeps_every_conditional_of_a_run_within_tv_1e_5(monkeypatch):
    monkeypatch.setenv(COMPILE_ENV, "1")
    model = tiny_model(2)
    assert "compiled" in model.warm_up(), model.denoiser.decoder.error
    log_mu = model.noise.log_probs.double()
    tvs, compiled_call = [], CompiledDecode.__call__

    def checked(decoder, n, *inputs):
        *rows, head_mods, mask, slots, keys, values = inputs
        copies = [k.clone() for k in keys], [v.clone() for v in values]
        eager = decoder.step(
            *PairDecodeStep(decoder.step, decoder.token_embedding).assemble(*rows), head_mods, mask, slots, *copies
        )
        h = compiled_call(decoder, n, *inputs)
        probs = [torch.softmax(t.double() + log_mu, -1) for t in (h, eager)]
        tvs.append(0.5 * (probs[0] - probs[1]).abs().sum(-1).max().item())
        return h

    monkeypatch.setattr(CompiledDecode, "__call__", checked)
    run_to_end(model.sample(batch_size=1, seed=3))
    assert len(tvs) == K * (L - 1)  # every call but each sweep's first (no pending B token) took the compiled step
    assert max(tvs) <= 1e-5, max(tvs)
    print(f"compiled vs eager: largest TV {max(tvs):.2e} over {len(tvs)} steps")


def test_a_failed_or_disabled_compile_leaves_the_eager_chain_unchanged(monkeypatch):
    reference = tiny_model(4).generate_tokens(2, seed=5)
    monkeypatch.setenv(COMPILE_ENV, "1")

    def no_compiler(*args, **kwargs):
        raise RuntimeError("no working C++ compiler found")

    monkeypatch.setattr(torch, "compile", no_compiler)
    model = tiny_model(4)
    message = model.warm_up()
    assert "eager decode step" in message and "no working C++ compiler" in message
    assert not model.denoiser.decoder.ready(1)
    assert torch.equal(model.generate_tokens(2, seed=5), reference)
    monkeypatch.setenv(COMPILE_ENV, "0")
    turned_off = tiny_model(4)
    assert "turned off" in turned_off.warm_up()
    assert torch.equal(turned_off.generate_tokens(2, seed=5), reference)


@pytest.mark.skipif(
    not (shutil.which("g++") or shutil.which("c++")), reason="torch.compile on CPU needs a C++ compiler"
)
def test_a_batch_on_the_compiled_step_draws_each_row_as_its_run_alone(monkeypatch):
    """Batched visitors (ggm_app.batcher) must each get the sample their seed gives alone: a batch runs the compiled
    batch-1 step row by row (a step compiled at another batch size rounds differently), bit for bit."""
    monkeypatch.setenv(COMPILE_ENV, "1")
    model = tiny_model(6)
    assert "compiled" in model.warm_up(), model.denoiser.decoder.error
    calls, compiled_call = [], CompiledDecode.__call__
    monkeypatch.setattr(
        CompiledDecode, "__call__", lambda d, n, *inputs: calls.append(n) or compiled_call(d, n, *inputs)
    )
    alone = [model.generate_tokens(1, seed=s) for s in (4, 0, 9)]
    batch = run_to_end(model.sample(batch_size=3, seed=[4, 0, 9]))
    assert all(torch.equal(batch.tokens[i], alone[i][0]) for i in range(3))
    assert set(calls) == {1} and len(calls) == 2 * 3 * K * (L - 1)  # alone, then batched: every row compiled
    assert batch.nfe == run_to_end(model.sample(batch_size=1, seed=4)).nfe  # a row counts its own calls

"""Property tests of the sampler on a small untrained denoiser (random weights, so h ≠ 0)."""

import pytest
import torch

from ggm_core.clamp import known_mask_from
from ggm_core.draws import sample_categorical
from ggm_core.ggm.denoisers import build_denoiser
from ggm_core.ggm.noise import NoiseDistribution
from ggm_core.ggm.sampler import heat_bath_probs, sample
from ggm_core.ggm.schedule import GlauberSchedule
from ggm_core.transformer import TransformerConfig

V, L, K = 11, 12, 2
KINDS = ["classic", "two_sided"]


def make(kind):
    torch.manual_seed(0)
    denoiser = build_denoiser(kind, TransformerConfig(vocab_size=V, seq_len=L, d_model=32, n_layers=2, n_heads=2))
    for p in denoiser.parameters():  # zero-initialised heads would make h ≡ 0; randomise everything
        torch.nn.init.normal_(p, std=0.3)
    return denoiser, GlauberSchedule(L, K), NoiseDistribution.unigram([torch.arange(V).repeat(3), torch.tensor([0])], V)


@pytest.mark.parametrize("kind", KINDS)
def test_clamped_positions_never_change_and_ids_in_range(kind):
    denoiser, schedule, noise = make(kind)
    known = torch.tensor([0, 3, 4, 11])
    tokens = torch.randint(V, (L,))
    for event in sample(denoiser, schedule, noise, batch_size=5, known_tokens=tokens, known=known, seed=1):
        assert torch.equal(event.tokens[:, known], tokens[known].expand(5, -1))
        assert not set(event.positions) & set(known.tolist())
        assert event.tokens.min() >= 0 and event.tokens.max() < V
        assert bool(((event.new >= 0) & (event.new < V)).all())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("per_call", [1, 3])
def test_seed_reproduces_trajectory_and_nfe_counts(kind, per_call):
    denoiser, schedule, noise = make(kind)
    runs = [
        list(sample(denoiser, schedule, noise, batch_size=2, seed=7, positions_per_call=per_call)) for _ in range(2)
    ]
    assert len(runs[0]) == len(runs[1])
    for a, b in zip(*runs, strict=True):
        assert torch.equal(a.tokens, b.tokens) and a.positions == b.positions and a.nfe == b.nfe
    other = list(sample(denoiser, schedule, noise, batch_size=2, seed=8, positions_per_call=per_call))
    assert not torch.equal(other[-1].tokens, runs[0][-1].tokens)
    events = runs[0]
    calls = -(-L // per_call) * K
    overhead = K if kind == "two_sided" else 0  # the two-sided denoiser encodes the A stream once per sweep
    assert events[0].nfe == 0 and events[0].positions == ()
    assert len(events) == calls + 1
    assert [e.nfe for e in events[1 :: -(-L // per_call)]] == [
        1 + overhead // K + s * (calls + overhead) // K for s in range(K)
    ]
    assert events[-1].updates_done == events[-1].total_updates == L * K
    assert events[-1].nfe == calls + overhead
    # Each event applies exactly its update to the previous canvas.
    for before, after in zip(events, events[1:], strict=False):
        index = list(after.positions)
        assert torch.equal(before.tokens[:, index], after.old)
        assert torch.equal(after.tokens[:, index], after.new)
        rest = [j for j in range(L) if j not in index]
        assert torch.equal(before.tokens[:, rest], after.tokens[:, rest])
    # Within a sweep the reverse chain runs left to right; steps count down.
    steps = [e.step for e in events[1:]]
    assert steps == sorted(steps, reverse=True)
    assert events[1].positions[0] == 0


def test_everything_known_returns_the_known_tokens():
    denoiser, schedule, noise = make("classic")
    tokens = torch.randint(V, (L,))
    events = list(sample(denoiser, schedule, noise, known_tokens=tokens, known=torch.ones(L, dtype=torch.bool)))
    assert len(events) == 1 and torch.equal(events[0].tokens[0], tokens)


def test_bad_arguments_are_rejected_clearly():
    denoiser, schedule, noise = make("classic")
    with pytest.raises(ValueError, match="known_tokens"):
        next(sample(denoiser, schedule, noise, known=[1, 2]))
    with pytest.raises(ValueError, match=r"\[0, 12\)"):
        known_mask_from([12], L)
    with pytest.raises(ValueError, match="temperature"):
        heat_bath_probs(torch.zeros(V), torch.zeros(V), temperature=0)
    with pytest.raises(ValueError, match="top_p"):
        heat_bath_probs(torch.zeros(V), torch.zeros(V), top_p=0)
    with pytest.raises(ValueError, match="disagree"):
        next(sample(denoiser, GlauberSchedule(L + 1, K), noise))


def test_heat_bath_probs_temperature_and_top_p():
    h = torch.tensor([1.0, 0.0, -1.0, 2.0])
    log_mu = torch.log(torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64))
    exact = torch.softmax(h.double() + log_mu, -1)
    torch.testing.assert_close(heat_bath_probs(h, log_mu), exact, rtol=0, atol=1e-15)
    cold = heat_bath_probs(h, log_mu, temperature=0.5)
    assert cold.max() > exact.max()
    nucleus = heat_bath_probs(h, log_mu, top_p=0.8)
    kept = exact > 0
    order = exact.argsort(descending=True)
    mass = exact[order].cumsum(0)
    n_keep = int((mass - exact[order] < 0.8).sum())
    kept = torch.zeros(4, dtype=torch.bool)
    kept[order[:n_keep]] = True
    assert bool((nucleus[~kept] == 0).all()) and abs(float(nucleus.sum()) - 1) < 1e-12
    torch.testing.assert_close(nucleus[kept], exact[kept] / exact[kept].sum())


def test_sample_categorical_matches_probabilities_in_float64():
    probs = torch.tensor([[0.7, 0.2, 0.1, 0.0], [1e-9, 0.0, 0.0, 1 - 1e-9]], dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    draws = sample_categorical(probs.repeat(20_000, 1), gen).view(20_000, 2)
    freq = torch.nn.functional.one_hot(draws[:, 0], 4).double().mean(0)
    assert (freq - probs[0]).abs().max() < 0.015
    assert bool((draws[:, 1] == 3).all())
    assert int((draws[:, 0] == 3).sum()) == 0


@pytest.mark.parametrize("family", ["ggm", "md4"])
def test_allowed_tokens_hold_at_every_step(family):
    """A restricted position only ever holds allowed tokens, from the start canvas to the end (GGM: every
    redraw; MD4: its reveal), and the other positions are untouched by the restriction."""
    from ggm_core import GlauberModel, MaskedDenoiser, MaskedDiffusionModel
    from ggm_core.ggm.denoisers import TwoSidedDenoiser

    V, L = 9, 6
    config = TransformerConfig(V, L, 16, 1, 2)
    torch.manual_seed(0)
    if family == "ggm":
        model = GlauberModel(TwoSidedDenoiser(config), GlauberSchedule(L, 2), NoiseDistribution.uniform(V))
    else:
        model = MaskedDiffusionModel(MaskedDenoiser(config))
    allowed = torch.ones(L, V, dtype=torch.bool)
    allowed[2] = False
    allowed[2, [1, 4]] = True
    seen = set()
    for ev in model.sample(batch_size=64, seed=1, allowed=allowed):
        column = ev.tokens[:, 2]
        seen |= set(column[column < V].tolist())
    assert seen == {1, 4}
    with pytest.raises(ValueError, match="without any token"):
        list(model.sample(allowed=torch.zeros(L, V, dtype=torch.bool)))

"""The family interface (ggm_core.family) on GGM with both denoisers and on MD4: budgets, knobs, the shared
event stream, save/load, the belief reading and the forward ("noise it") stream."""

import pytest
import torch

from ggm_core import (
    ClassicDenoiser,
    GlauberModel,
    GlauberSchedule,
    MaskedDenoiser,
    MaskedDiffusionModel,
    NoiseDistribution,
    TransformerConfig,
    load_model,
    run_to_end,
)
from ggm_core.ggm.denoisers import TwoSidedDenoiser
from ggm_core.ggm.objective import log_odds

V, L = 7, 12


def make(kind: str):
    torch.manual_seed(0)
    config = TransformerConfig(V, L, 16, 1, 2)
    if kind == "md4":
        return MaskedDiffusionModel(MaskedDenoiser(config))
    denoiser = {"classic": ClassicDenoiser, "two_sided": TwoSidedDenoiser}[kind](config)
    return GlauberModel(denoiser, GlauberSchedule(L, 2), NoiseDistribution.uniform(V))


KINDS = ["classic", "two_sided", "md4"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("budget", [2, 5, 8, 13, 40])
def test_a_budget_is_never_exceeded(kind, budget):
    model = make(kind)
    known = torch.zeros(L, dtype=torch.bool)
    known[[0, 5]] = True
    n_free = L - 2
    knobs = model.knobs_for_budget(budget, n_free)
    last = run_to_end(model.sample(known_tokens=torch.zeros(L, dtype=torch.long), known=known, seed=1, **knobs))
    floor = model.knobs_for_budget(1, n_free)  # the cheapest setting the family has
    cheapest = run_to_end(model.sample(known_tokens=torch.zeros(L, dtype=torch.long), known=known, **floor)).nfe
    assert last.nfe <= max(budget, cheapest)
    assert (last.tokens[0, known] == 0).all()


@pytest.mark.parametrize("kind", KINDS)
def test_no_budget_is_the_exact_setting(kind):
    model = make(kind)
    assert model.knobs_for_budget(None, L) == model.exact_knobs()
    assert model.approximations(**model.exact_knobs()) == []
    assert model.knobs_for_budget(10_000, L) == model.exact_knobs()


@pytest.mark.parametrize("kind", KINDS)
def test_knobs_clean_any_input(kind):
    model = make(kind)
    for knob in model.knobs():
        assert (
            knob.clean(None) == knob.exact
            and knob.clean("junk") == knob.exact
            and knob.clean(float("nan")) == knob.exact
        )
        assert knob.clean(-(10**9)) == knob.minimum and knob.clean(10**9) == knob.maximum
        assert knob.describe(knob.exact) is None
        other = knob.maximum if knob.maximum != knob.exact else knob.minimum
        assert knob.describe(other)


def test_clamping_is_an_approximation_for_ggm_only():
    assert make("two_sided").approximations(clamped=True)
    assert make("md4").approximations(clamped=True) == []


@pytest.mark.parametrize("kind", KINDS)
def test_save_and_load_through_the_interface(kind, tmp_path):
    model = make(kind)
    loaded = load_model(model.save(tmp_path / kind))
    assert type(loaded) is type(model) and loaded.family == model.family
    a = run_to_end(model.sample(batch_size=2, seed=4)).tokens
    b = run_to_end(loaded.sample(batch_size=2, seed=4)).tokens
    assert torch.equal(a, b)


@pytest.mark.parametrize("kind", KINDS)
def test_noising_ends_where_the_sampler_starts(kind):
    model = make(kind)
    x0 = torch.arange(L) % V
    events = list(model.noising(x0, seed=3))
    assert torch.equal(events[0].tokens[0], x0) and all(e.nfe == 0 for e in events)
    end = events[-1].tokens[0]
    if kind == "md4":
        assert (end == model.mask_id).all()
    last = run_to_end(model.sample(start=end, seed=0))
    assert last.tokens.shape == (1, L) and int(last.tokens.max()) < V


def test_ggm_noising_is_the_literal_forward_chain():
    """Over many runs, the share of positions still holding x_0 after the chain matches the schedule's ε-tail."""
    model = make("two_sided")
    x0 = torch.zeros(L, dtype=torch.long)
    kept = torch.stack([list(model.noising(x0, seed=s))[-1].tokens[0] == 0 for s in range(400)]).double().mean()
    # a position holds 0 if it survived (ε) or a fresh μ draw is 0: ε + (1 − ε)/V
    expected = model.schedule.eps + (1 - model.schedule.eps) / V
    assert abs(kept - expected) < 4 * (expected * (1 - expected) / (400 * L)) ** 0.5


@pytest.mark.parametrize("kind", ["classic", "two_sided"])
def test_belief_is_the_classifier_at_every_position(kind):
    """D_i = σ(h_i[x_i] + log κ/(1-κ)), with h_i the denoiser's output when position i is visited."""
    model = make(kind)
    with torch.no_grad():
        for p in model.denoiser.parameters():  # a non-zero head, so h is not constant
            p.add_(0.3 * torch.randn_like(p))
    tokens = torch.randint(V, (L,), generator=torch.Generator().manual_seed(0))
    sweep = 1
    belief = model.belief(tokens, sweep)
    assert belief.shape == (L,) and bool(((belief > 0) & (belief < 1)).all())
    with torch.no_grad():
        session = model.denoiser.begin_sweep(tokens[None].clone(), sweep, model.schedule)
        for i in range(L):  # the sampler's own session, reading the same canvas left to right
            h = session.predict([i])[0, 0].double()
            kappa = model.schedule.kappa[model.schedule.step_of(i, sweep)]
            expected = torch.sigmoid(h[tokens[i]] + log_odds(kappa))
            torch.testing.assert_close(belief[i], expected, atol=1e-5, rtol=0)


def test_belief_is_none_for_md4():
    assert make("md4").belief(torch.zeros(L, dtype=torch.long), 0) is None


@pytest.mark.parametrize("kind", KINDS)
def test_flops_per_call_is_counted(kind):
    assert make(kind).flops_per_call() > 0


def test_one_sweep_reads_sweep_s():
    denoiser = TwoSidedDenoiser(TransformerConfig(V, L, 16, 1, 2))
    model = GlauberModel(denoiser, GlauberSchedule(L, 1), NoiseDistribution.uniform(V), clean_share=0.5)
    assert "trained with 1 sweep(s)" in model.describe()
    (refine,) = model.refine_knob()
    assert refine.describe(1) == "1 refinement sweep(s)"


def test_the_app_budget_gives_the_app_defaults_back():
    """Compare starts each column at ``app_budget``: for a generation and for any infill, the app's own knobs."""
    from ggm_core.family import app_budget, app_knobs
    from tests.test_row_seeds import blackout

    for model in [*(make(kind) for kind in KINDS), blackout()]:
        expected = {k: v for k, v in app_knobs(model).items() if k != "refine_sweeps"}
        for n_free in (model.seq_len, model.seq_len // 2, 1):
            got = model.knobs_for_budget(app_budget(model), n_free)
            assert {k: got.get(k, model.exact_knobs().get(k)) for k in expected} == expected, (model.family, n_free)

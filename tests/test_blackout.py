"""Blackout Diffusion's math on spaces small enough to compute (ggm_core/blackout): thinning against the
literal death process, the loss's minimiser, the bridge step's law, and the whole sampler driven by the exact
posterior-mean denoiser reproducing a small law of counts as the number of steps grows.

Thresholds: for n draws from a law p, E|p̂_i − p_i| ≤ √(p_i(1 − p_i)/n), so the expected total variation is
at most ½ Σ_i √(p_i(1 − p_i)/n) =: τ; each test allows 3τ (fixed seeds)."""

import itertools
import math

import pytest
import torch

from ggm_core.blackout import BlackoutSchedule, blackout_loss, sample_blackout, simulate_lifetimes, thin
from ggm_core.blackout.forward import thin_successively
from ggm_core.events import run_to_end

MAX = 7


def binomial_pmf(n: int, p: float) -> torch.Tensor:
    return torch.tensor([math.comb(n, m) * p**m * (1 - p) ** (n - m) for m in range(n + 1)], dtype=torch.float64)


def tv(a: torch.Tensor, b: torch.Tensor) -> float:
    return 0.5 * float((a - b).abs().sum())


def noise_floor(law: torch.Tensor, n: int) -> float:
    return 0.5 * float((law * (1 - law) / n).sqrt().sum())


def histogram(values: torch.Tensor, size: int) -> torch.Tensor:
    return torch.bincount(values.long(), minlength=size).double() / len(values)


def test_schedule_matches_the_authors_grid():
    s = BlackoutSchedule()
    p = s.survival
    assert len(p) == 1001 and p[0] == 1 and bool((p.diff() < 0).all())
    logits = (p[1:] / (1 - p[1:])).log()
    torch.testing.assert_close(logits, torch.linspace(15, -15, 1000, dtype=torch.float64), rtol=0, atol=1e-9)
    assert abs(s.end_survival - float(p[-1])) < 1e-15 and bool((s.weights > 0).all())
    grid = s.grid(16)
    assert grid[0] == 1000 and grid[-1] == 0 and len(grid) == 17 and all(a > b for a, b in itertools.pairwise(grid))
    assert s.grid(1000) == list(range(1000, -1, -1))
    for bad in (0, 1001):
        with pytest.raises(ValueError, match="budget"):
            s.grid(bad)


@pytest.mark.parametrize("k", [150, 500, 850])
def test_thinning_marginals_match_the_literal_death_process(k):
    s, n, trials = BlackoutSchedule(), 7, 20_000
    t, p = s.times[k], float(s.survival[k])
    gen = torch.Generator().manual_seed(k)
    literal = simulate_lifetimes(torch.full((trials,), n), t, gen)[:, 0]
    closed = thin(torch.full((trials,), n), p, gen)
    law = binomial_pmf(n, p)
    assert tv(histogram(literal, n + 1), law) < 3 * noise_floor(law, trials)
    assert tv(histogram(closed, n + 1), law) < 3 * noise_floor(law, trials)


def test_successive_thinning_has_the_binomial_marginal_at_every_time():
    s, n, trials = BlackoutSchedule(), 7, 20_000
    indices = [100, 400, 600, 900]
    path = thin_successively(torch.full((trials,), n), [float(s.survival[k]) for k in indices], torch.Generator())
    for k, counts in zip(indices, path, strict=True):
        law = binomial_pmf(n, float(s.survival[k]))
        assert tv(histogram(counts, n + 1), law) < 3 * noise_floor(law, trials)
    assert all(bool((a >= b).all()) for a, b in itertools.pairwise(path))  # a unit never comes back


def posterior(law: torch.Tensor, nt: torch.Tensor, p: float) -> torch.Tensor:
    """P(n_0 | n_t) for a law over joint counts (states enumerated as in ``states``): (B, S)."""
    states = torch.tensor(list(itertools.product(range(MAX + 1), repeat=nt.shape[1])), dtype=torch.long)
    logp = torch.zeros(nt.shape[0], len(states), dtype=torch.float64)
    for j in range(nt.shape[1]):
        n0, m = states[None, :, j], nt[:, j : j + 1]
        ok = m <= n0
        comb = torch.lgamma(n0 + 1.0) - torch.lgamma(m + 1.0) - torch.lgamma((n0 - m).clamp(min=0) + 1.0)
        term = comb + m * math.log(p) + (n0 - m) * math.log1p(-p)
        logp += torch.where(ok, term, torch.full_like(term, -math.inf))
    weights = logp + law.log()[None]
    return torch.softmax(weights, dim=1), states


def oracle(law: torch.Tensor, schedule: BlackoutSchedule):
    """The exact posterior-mean denoiser E[n_0 − n_t | n_t] for a law over a few pixels' joint counts: a
    table over every n_t at time t_k, looked up per image."""
    pixels = round(math.log(len(law), MAX + 1))
    every = torch.tensor(list(itertools.product(range(MAX + 1), repeat=pixels)), dtype=torch.long)
    place = (MAX + 1) ** torch.arange(pixels - 1, -1, -1)

    def predict(counts: torch.Tensor, k: int) -> torch.Tensor:
        post, states = posterior(law, every, float(schedule.survival[k]))
        table = post @ states.double() - every.double()
        return table[(counts * place).sum(1)]

    return predict


def test_the_loss_is_minimised_at_the_posterior_mean():
    s, k, nt = BlackoutSchedule(), 600, 2
    law = torch.distributions.Dirichlet(torch.ones(MAX + 1, dtype=torch.float64)).sample((1,))[0]
    post, states = posterior(law, torch.tensor([[nt]]), float(s.survival[k]))
    births, probs = (states[:, 0] - nt).clamp(min=0), post[0]
    mean = float((births.double() * probs).sum())
    y = torch.tensor(mean, dtype=torch.float64, requires_grad=True)
    expected = (probs * blackout_loss(y, births, s.weights[k - 1])).sum()
    expected.backward()
    assert abs(float(y.grad)) < 1e-12  # stationary at the mean
    grid = torch.linspace(0.05, 8, 4000, dtype=torch.float64)
    curve = (probs[None] * blackout_loss(grid[:, None], births[None], 1.0)).sum(1)
    assert abs(float(grid[curve.argmin()]) - mean) < 0.005


def test_the_bridge_step_is_the_exact_conditional_binomial():
    """Given n_0 and n_t, the count at an earlier time s is n_t + Binomial(n_0 − n_t, (p_s − p_t)/(1 − p_t))."""
    s, n, trials = BlackoutSchedule(), 7, 60_000
    k, j = 520, 450  # t_k > t_j, survivals about 0.36 and 0.82
    gen = torch.Generator().manual_seed(1)
    alive = simulate_lifetimes(torch.full((trials,), n), s.times[[j, k]], gen)
    picked = alive[alive[:, 1] == 3]  # condition on n_t = 3
    q = float((s.survival[j] - s.survival[k]) / (1 - s.survival[k]))
    law = binomial_pmf(n - 3, q)
    assert len(picked) > 5_000
    assert tv(histogram(picked[:, 0] - 3, n - 3 + 1), law) < 3 * noise_floor(law, len(picked))


@pytest.fixture(scope="module")
def correlated_law():
    """Two pixels, counts 0..7, most mass on n¹ = n² (a law a pixel-by-pixel sampler cannot fake)."""
    states = list(itertools.product(range(MAX + 1), repeat=2))
    weights = torch.tensor([8.0 if a == b else 0.25 for a, b in states], dtype=torch.float64)
    weights *= torch.tensor([1 + a for a, _ in states], dtype=torch.float64)
    return weights / weights.sum()


def sampled_law(law, steps, trials=20_000, seed=0, **options):
    s = BlackoutSchedule()
    sampler = sample_blackout(oracle(law, s), s, 2, batch_size=trials, steps=steps, max_count=MAX, seed=seed, **options)
    last = run_to_end(sampler)
    index = last.tokens[:, 0] * (MAX + 1) + last.tokens[:, 1]
    return histogram(index, (MAX + 1) ** 2), last


def test_the_sampler_with_the_exact_denoiser_reproduces_the_law(correlated_law):
    fine, last = sampled_law(correlated_law, 1000)
    assert last.nfe == 1000 and int(last.tokens.max()) <= MAX and int(last.tokens.min()) >= 0
    floor = noise_floor(correlated_law, 20_000)
    assert tv(fine, correlated_law) < 3 * floor
    coarse, _ = sampled_law(correlated_law, 2)
    assert tv(coarse, correlated_law) > 3 * floor  # two bridge steps cannot: visibly worse
    assert tv(coarse, correlated_law) > 2 * tv(fine, correlated_law)


def test_sampling_is_seeded_and_known_pixels_follow_their_path(correlated_law):
    s = BlackoutSchedule()
    runs = [
        run_to_end(sample_blackout(oracle(correlated_law, s), s, 2, batch_size=4, steps=50, max_count=MAX, seed=3))
        for _ in range(2)
    ]
    assert torch.equal(runs[0].tokens, runs[1].tokens)
    known = torch.tensor([True, False])
    events = list(
        sample_blackout(
            oracle(correlated_law, s), s, 2, batch_size=500, steps=50, max_count=MAX,
            known_counts=torch.tensor([5, 0]), known=known, seed=0,
        )
    )  # fmt: skip
    assert bool((events[-1].tokens[:, 0] == 5).all())  # the known pixel ends at its value
    assert all(bool((a.tokens[:, 0] <= b.tokens[:, 0]).all()) for a, b in itertools.pairwise(events))
    assert float(events[0].tokens[:, 0].double().mean()) < 0.01  # it starts (nearly) black like the rest
    # the free pixel, given the known 5, is mostly 5 too (the law's diagonal)
    assert float((events[-1].tokens[:, 1] == 5).double().mean()) > 0.5
    with pytest.raises(ValueError, match="known counts"):
        list(
            sample_blackout(
                oracle(correlated_law, s), s, 2, steps=4, max_count=MAX, known_counts=torch.tensor([9, 0]), known=known
            )
        )


def test_uniform_weighting_changes_only_the_weights_and_round_trips():
    elbo, uniform = BlackoutSchedule(), BlackoutSchedule(weighting="uniform")
    assert torch.equal(uniform.weights, torch.ones(1000, dtype=torch.float64))
    assert torch.equal(uniform.survival, elbo.survival)
    assert elbo.weights[899] < 1e-3 * elbo.weights.max()  # the authors' weight at a low survival (k = 900)
    assert BlackoutSchedule.from_dict(uniform.to_dict()) == uniform
    assert BlackoutSchedule.from_dict({"steps": 1000, "logit_end": 15.0}) == elbo  # checkpoints before the field
    with pytest.raises(ValueError, match="weighting"):
        BlackoutSchedule(weighting="snr")


def test_finishing_with_the_mean_bridges_to_its_survival_then_adds_the_estimate(correlated_law):
    """``finish_at``: the budget's calls bridge from T to the first time with survival ≥ p_s, and the last call's
    estimate is added whole (rounded): the births still to come at their expected number. Known pixels end at their
    own counts; a budget of one call is the mean read off the black canvas."""
    s = BlackoutSchedule()
    end = s.last_index_from(0.2)
    assert s.survival[end] >= 0.2 > s.survival[end + 1] and s.grid(9, end)[-1] == end
    denoiser = oracle(correlated_law, s)
    reads = []

    def predict(counts, k):
        reads.append((counts.clone(), k))
        return denoiser(counts, k)

    events = list(sample_blackout(predict, s, 2, batch_size=300, steps=10, max_count=MAX, seed=1, finish_at=0.2))
    assert events[-1].nfe == len(reads) == 10 and events[-1].total_updates == 10
    last_canvas, last_k = reads[-1]
    assert last_k == end
    expected = (last_canvas + denoiser(last_canvas, end).double().clamp(min=0).round().long()).clamp(max=MAX)
    assert torch.equal(events[-1].tokens, expected)
    known = torch.tensor([True, False])
    finished = run_to_end(sample_blackout(denoiser, s, 2, batch_size=50, steps=10, max_count=MAX, seed=2,
                                          known_counts=torch.tensor([5, 0]), known=known, finish_at=0.2))  # fmt: skip
    assert bool((finished.tokens[:, 0] == 5).all())
    reads.clear()
    once = run_to_end(sample_blackout(predict, s, 2, batch_size=3, steps=1, max_count=MAX, seed=0, finish_at=0.2))
    assert once.nfe == 1 and reads[0][1] == s.steps and bool((reads[0][0] == 0).all())


def test_births_at_their_rounded_mean_reproduce_the_law_in_the_small_step_limit(correlated_law):
    """``mean_births``: ŷ·q rounded stochastically instead of Binomial(ŷ, q); both tend to the same birth process as
    the steps shrink, so with the exact denoiser the trained grid reproduces the law as the binomial bridge does."""
    fine, last = sampled_law(correlated_law, 1000, mean_births=True)
    assert last.nfe == 1000 and int(last.tokens.max()) <= MAX
    assert tv(fine, correlated_law) < 3 * noise_floor(correlated_law, 20_000)

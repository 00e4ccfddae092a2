"""The enumeration proofs of docs/math.md: exact laws on a space of V^L = 27 sequences."""

import pytest
import torch

from ggm_core.ggm.denoisers.base import SweepSession
from ggm_core.ggm.forward import sample_xt, simulate_forward, xt_marginals
from ggm_core.ggm.noise import NoiseDistribution
from ggm_core.ggm.objective import h_from_classifier_logit, signal_vs_noise_loss
from ggm_core.ggm.sampler import heat_bath_probs, sample_tokens
from ggm_core.ggm.schedule import GlauberSchedule
from tests.enumeration import all_states, bayes_classifier, conditional, forward_laws

V, L, K = 3, 3, 3


@pytest.fixture(params=["cosine", "linear"])
def schedule(request):
    return GlauberSchedule(seq_len=L, sweeps=K, kind=request.param)


@pytest.fixture
def noise():
    return NoiseDistribution(torch.tensor([0.5, 0.3, 0.2]))


@pytest.fixture
def data_law():
    gen = torch.Generator().manual_seed(0)
    law = torch.distributions.Dirichlet(torch.full((V**L,), 0.5)).sample()
    law = law.double() + 1e-3 * torch.rand(V**L, generator=gen, dtype=torch.float64)
    return (law / law.sum()).view((V,) * L)


def bayes_h_tables(data_law, schedule, noise):
    """For every step t: h(u, a) of the Bayes classifier through the project's logit→h conversion."""
    laws = forward_laws(data_law, schedule, noise)
    tables = []
    for t in range(schedule.num_steps):
        i, kappa = schedule.position(t), schedule.kappa[t]
        d = bayes_classifier(laws[t], i, kappa, noise)
        logit = torch.log(d) - torch.log1p(-d)
        h = h_from_classifier_logit(torch.movedim(logit, i, -1), kappa)  # (..., V) with a last
        tables.append(h)
    return laws, tables


class TableSession(SweepSession):
    """A denoiser session that looks the Bayes h up in an exact table."""

    def __init__(self, tables, canvas, sweep, schedule):
        self.tables, self.canvas, self.sweep, self.schedule = tables, canvas, sweep, schedule
        self.network_calls = 0

    def predict(self, positions):
        (i,) = positions
        table = self.tables[self.schedule.step_of(i, self.sweep)]
        self.network_calls += 1
        rows = []
        for x in self.canvas.tolist():
            index = tuple(x[j] for j in range(len(x)) if j != i)
            rows.append(table[index])
        return torch.stack(rows)[:, None, :]


class TableDenoiser(torch.nn.Module):
    def __init__(self, tables):
        super().__init__()
        self.tables = tables
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.config = type("Cfg", (), {"vocab_size": V, "seq_len": L})()

    def begin_sweep(self, canvas, sweep, schedule):
        return TableSession(self.tables, canvas, sweep, schedule)


def test_kappa_strictly_inside_and_survival_telescopes(schedule):
    assert bool(((schedule.kappa > 0) & (schedule.kappa < 1)).all())
    for t in range(schedule.num_steps + 1):
        product = torch.ones(L, dtype=torch.float64)
        for s in range(t):
            product[schedule.position(s)] *= schedule.kappa[s]
        torch.testing.assert_close(schedule.survival_at(torch.tensor(t)), product, rtol=0, atol=1e-15)


def test_closed_form_marginals_equal_exact_step_by_step_law(schedule, noise):
    x0 = torch.tensor([2, 0, 1])
    point = torch.zeros((V,) * L, dtype=torch.float64)
    point[tuple(x0.tolist())] = 1.0
    laws = forward_laws(point, schedule, noise)
    for t, law in enumerate(laws):
        marg = xt_marginals(x0, t, schedule, noise)
        product = marg[0][:, None, None] * marg[1][None, :, None] * marg[2][None, None, :]
        torch.testing.assert_close(law, product, rtol=0, atol=1e-14)


def test_simulator_and_closed_form_sampler_match_marginals(schedule, noise):
    n = 40_000
    gen = torch.Generator().manual_seed(1)
    x0 = torch.tensor([2, 0, 1])
    states = simulate_forward(x0.expand(n, L), schedule, noise, gen)
    for t in (1, 4, schedule.num_steps):
        expected = xt_marginals(x0, t, schedule, noise)
        simulated = torch.nn.functional.one_hot(states[t], V).double().mean(0)
        closed = sample_xt(x0.expand(n, L), torch.full((n,), t), schedule, noise, gen)
        closed = torch.nn.functional.one_hot(closed, V).double().mean(0)
        assert (simulated - expected).abs().max() < 0.015
        assert (closed - expected).abs().max() < 0.015


def test_bayes_classifier_through_project_code_recovers_the_data_law(schedule, noise, data_law):
    laws, tables = bayes_h_tables(data_law, schedule, noise)
    law = laws[-1]  # start the reverse chain from the exact law of x_T
    for t in reversed(range(schedule.num_steps)):
        i = schedule.position(t)
        probs = heat_bath_probs(tables[t], noise.log_probs)  # (..., V) indexed by x^{-i}, then a
        torch.testing.assert_close(probs, torch.movedim(conditional(laws[t], i), i, -1), rtol=0, atol=1e-13)
        context_law = law.sum(dim=i)  # law of x^{-i}, which the step keeps
        law = torch.movedim(context_law[..., None] * probs, -1, i)
    assert (law - data_law).abs().max() < 1e-12
    # From μ^L instead of the exact x_T law, the error is bounded by the residual survival ε.
    start = torch.ones((V,) * L, dtype=torch.float64)
    for j in range(L):
        shape = [1] * L
        shape[j] = V
        start = start * noise.probs.view(shape)
    assert 0.5 * (laws[-1] - start).abs().sum() < 0.01


def test_sampler_with_bayes_denoiser_samples_the_data_law(noise, data_law):
    schedule = GlauberSchedule(seq_len=L, sweeps=K)
    _, tables = bayes_h_tables(data_law, schedule, noise)
    tokens = sample_tokens(TableDenoiser(tables), schedule, noise, batch_size=30_000, seed=3)
    index = (tokens * torch.tensor([V * V, V, 1])).sum(-1)
    empirical = torch.bincount(index, minlength=V**L).double() / tokens.shape[0]
    tv = 0.5 * (empirical - data_law.flatten()).abs().sum()
    assert tv < 0.03, f"total variation {tv:.4f}"


def test_closed_form_loss_is_minimised_at_the_bayes_classifier(schedule, noise, data_law):
    laws, tables = bayes_h_tables(data_law, schedule, noise)
    states = all_states(V, L)
    for t in (0, 4, schedule.num_steps - 1):
        i, kappa = schedule.position(t), schedule.kappa[t]
        weights = laws[t].flatten()
        context = [tuple(x[j] for j in range(L) if j != i) for x in states.tolist()]

        def expected_loss(table, weights=weights, context=context, i=i, kappa=kappa):
            h = torch.stack([table[c] for c in context])
            per_state = signal_vs_noise_loss(h, states[:, i], kappa.expand(len(states)), noise.probs)
            return (weights * per_state).sum()

        bayes = tables[t].clone().requires_grad_(True)
        best = expected_loss(bayes)
        (grad,) = torch.autograd.grad(best, bayes)
        assert grad.abs().max() < 1e-12
        gen = torch.Generator().manual_seed(t)
        for scale in (1e-3, 0.1, 1.0):
            perturbed = tables[t] + scale * torch.randn(tables[t].shape, generator=gen, dtype=torch.float64)
            assert expected_loss(perturbed) > best

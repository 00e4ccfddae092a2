"""Infilling that is exact in the limit (docs/math.md, "Infilling"): exact propagation of the law of the clamped
GGM chain, then of R refinement sweeps with the clean full conditionals, against the true P(x_free | x_known),
on spaces of V^L = 27 sequences with the Bayes denoisers; and the sampler's refinement path through a table
denoiser."""

import pytest
import torch

from ggm_core.ggm.clean_context import CLEAN_KAPPA, CLEAN_SWEEP
from ggm_core.ggm.noise import NoiseDistribution
from ggm_core.ggm.objective import h_from_classifier_logit
from ggm_core.ggm.sampler import heat_bath_probs, sample
from ggm_core.ggm.schedule import GlauberSchedule
from tests.enumeration import bayes_classifier, forward_laws

V, L = 3, 3
REFINE = (0, 1, 2, 4, 8, 16, 24, 32)
CLAMPS = {"x0 known": {0: 2}, "x2 known": {2: 0}, "x1 known": {1: 1}, "x0, x2 known": {0: 1, 2: 2}}
TV_TARGET, TV_BY = 1e-3, 8  # the stated bound: TV below 1e-3 after 8 refinement sweeps


def random_law(seed: int) -> torch.Tensor:
    """A positive law far from uniform: u^4 + 1e-3 for uniform u, normalised."""
    gen = torch.Generator().manual_seed(seed)
    law = torch.rand(V**L, generator=gen, dtype=torch.float64) ** 4 + 1e-3
    return (law / law.sum()).view((V,) * L)


def chain_law() -> torch.Tensor:
    """A strongly correlated law: a 3-state Markov chain that mostly repeats its token."""
    T = torch.tensor([[0.8, 0.15, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]], dtype=torch.float64)
    start = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    return start[:, None, None] * T[:, :, None] * T[None, :, :]


LAWS = {"random (u^4)": random_law(0), "sticky Markov chain": chain_law()}
NOISE = NoiseDistribution(torch.tensor([0.5, 0.3, 0.2]))


def h_table(law: torch.Tensor, i: int, kappa: torch.Tensor) -> torch.Tensor:
    """The Bayes classifier's h at position i through the project's logit → h conversion, (..., V) with the
    candidate last and the context x^{-i} first."""
    d = bayes_classifier(law, i, kappa, NOISE)
    return h_from_classifier_logit(torch.movedim(torch.log(d) - torch.log1p(-d), i, -1), kappa)


def heat_bath_step(law: torch.Tensor, i: int, h: torch.Tensor) -> torch.Tensor:
    """The law after redrawing position i from softmax(h + log μ) given the rest (the project's sampler rule)."""
    return torch.movedim(law.sum(dim=i)[..., None] * heat_bath_probs(h, NOISE.log_probs), -1, i)


def clamped_start(clamp: dict[int, int]) -> torch.Tensor:
    """μ at the free positions, a point mass at the known ones."""
    law = torch.ones((V,) * L, dtype=torch.float64)
    for j in range(L):
        factor = torch.nn.functional.one_hot(torch.tensor(clamp[j]), V).double() if j in clamp else NOISE.probs
        shape = [1] * L
        shape[j] = V
        law = law * factor.view(shape)
    return law


def true_conditional(law: torch.Tensor, clamp: dict[int, int]) -> torch.Tensor:
    keep = clamped_start(clamp) > 0
    restricted = torch.where(keep, law, torch.zeros_like(law))
    return restricted / restricted.sum()


def tv_against_refinement(law, clamp, sweeps: int) -> list[float]:
    """TV to P(x_free | x_known) after the clamped chain and then after each R in ``REFINE``."""
    schedule = GlauberSchedule(L, sweeps)
    laws = forward_laws(law, schedule, NOISE)
    state = clamped_start(clamp)
    for t in reversed(range(schedule.num_steps)):
        i = schedule.position(t)
        if i not in clamp:
            state = heat_bath_step(state, i, h_table(laws[t], i, schedule.kappa[t]))
    clean = {i: h_table(law, i, torch.tensor(CLEAN_KAPPA, dtype=torch.float64)) for i in range(L) if i not in clamp}
    target, out, done = true_conditional(law, clamp), [], 0
    for r in REFINE:
        for _ in range(r - done):
            for i in sorted(clean):  # a refinement sweep: the free positions left to right
                state = heat_bath_step(state, i, clean[i])
        done = r
        out.append(0.5 * float((state - target).abs().sum()))
    return out


@pytest.fixture(scope="module")
def tv_table():
    table = {
        (law_name, clamp_name, sweeps): tv_against_refinement(law, clamp, sweeps)
        for law_name, law in LAWS.items()
        for clamp_name, clamp in CLAMPS.items()
        for sweeps in (2, 4)
    }
    print("\nTV to P(x_free | x_known), Bayes denoisers, V = L = 3; refinement sweeps R:")
    print(f"{'data law':<20} {'clamped':<14} K  " + " ".join(f"R={r:<7}" for r in REFINE))
    for (law_name, clamp_name, sweeps), tvs in table.items():
        print(f"{law_name:<20} {clamp_name:<14} {sweeps}  " + " ".join(f"{tv:<9.2e}" for tv in tvs))
    return table


def test_clamping_alone_is_biased(tv_table):
    """R = 0 (today's clamping): clearly above the floor wherever more than one position is free."""
    for (_, clamp_name, _), tvs in tv_table.items():
        if len(CLAMPS[clamp_name]) < L - 1:
            assert tvs[0] > 1e-3, (clamp_name, tvs[0])


def test_refinement_tv_falls_monotonically_below_the_target(tv_table):
    for key, tvs in tv_table.items():
        assert all(b <= a + 1e-14 for a, b in zip(tvs, tvs[1:], strict=False)), (key, tvs)
        assert tvs[REFINE.index(TV_BY)] < TV_TARGET, (key, tvs)


def test_one_free_position_is_exact_after_one_refinement_step(tv_table):
    """With a single free position a refinement sweep draws it from the exact conditional at once."""
    for (_, clamp_name, _), tvs in tv_table.items():
        if len(CLAMPS[clamp_name]) == L - 1:
            assert tvs[REFINE.index(1)] < 1e-12


class TableSession:
    """Looks h up in exact tables, vectorised over the batch: the forward laws' Bayes h at each step of a
    sweep, the clean conditionals' in the clean context."""

    def __init__(self, denoiser, canvas, sweep, schedule):
        self.denoiser, self.canvas, self.sweep, self.schedule = denoiser, canvas, sweep, schedule
        self.network_calls = 0

    def predict(self, positions):
        (i,) = positions
        self.denoiser.calls.append((self.sweep, i))
        if self.sweep == CLEAN_SWEEP:
            table = self.denoiser.clean[i]
        else:
            table = self.denoiser.steps[self.schedule.step_of(i, self.sweep)]
        self.network_calls += 1
        context = tuple(self.canvas[:, j] for j in range(L) if j != i)
        return table[context][:, None, :]


class TableDenoiser(torch.nn.Module):
    def __init__(self, law, schedule):
        super().__init__()
        laws = forward_laws(law, schedule, NOISE)
        self.steps = [h_table(laws[t], schedule.position(t), schedule.kappa[t]) for t in range(schedule.num_steps)]
        kappa = torch.tensor(CLEAN_KAPPA, dtype=torch.float64)
        self.clean = [h_table(law, i, kappa) for i in range(L)]
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.config = type("Cfg", (), {"vocab_size": V, "seq_len": L})()
        self.calls = []

    def begin_sweep(self, canvas, sweep, schedule):
        return TableSession(self, canvas, sweep, schedule)


def test_sampler_runs_refinement_sweeps_over_the_free_positions_after_the_chain():
    schedule = GlauberSchedule(L, 2)
    denoiser = TableDenoiser(LAWS["sticky Markov chain"], schedule)
    events = list(sample(denoiser, schedule, NOISE, known=[1], known_tokens=torch.tensor([0, 2, 0]), refine_sweeps=3))
    assert denoiser.calls == [(1, 0), (1, 2), (0, 0), (0, 2)] + [(CLEAN_SWEEP, 0), (CLEAN_SWEEP, 2)] * 3
    assert [e.sweep for e in events[5:]] == [-1, -1, -2, -2, -3, -3] and all(e.step == -1 for e in events[5:])
    assert events[-1].updates_done == events[-1].total_updates == 2 * (2 + 3)
    assert all(int(e.tokens[0, 1]) == 2 for e in events)


def test_sampled_refinement_matches_the_exact_conditional():
    """The sampler itself (not the propagation above): with the Bayes tables, x2 known, R = 8, the empirical
    law of 40,000 infills is within sampling noise of P(x0, x1 | x2), while clamping alone is not."""
    law, clamp = LAWS["sticky Markov chain"], {2: 0}
    schedule = GlauberSchedule(L, 2)
    target = true_conditional(law, clamp)[:, :, 0].flatten()
    tvs = {}
    for r in (0, TV_BY):
        run = sample(TableDenoiser(law, schedule), schedule, NOISE, batch_size=40_000, known=[2],
                     known_tokens=torch.tensor([0, 0, 0]), refine_sweeps=r, seed=7)  # fmt: skip
        *_, last = run
        index = last.tokens[:, 0] * V + last.tokens[:, 1]
        empirical = torch.bincount(index, minlength=V * V).double() / index.numel()
        tvs[r] = 0.5 * float((empirical - target).abs().sum())
    exact = tv_against_refinement(law, clamp, 2)
    assert abs(tvs[0] - exact[0]) < 0.01 and exact[0] > 0.03, (tvs, exact[0])
    assert tvs[TV_BY] < 0.01, tvs

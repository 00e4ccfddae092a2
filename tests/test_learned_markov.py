"""A real denoiser trained for under a minute on CPU learns a known Markov chain."""

import time

import pytest
import torch

from ggm_core.ggm.denoisers import build_denoiser
from ggm_core.ggm.model import GlauberModel
from ggm_core.ggm.noise import NoiseDistribution
from ggm_core.ggm.sampler import sample_tokens
from ggm_core.ggm.schedule import GlauberSchedule
from ggm_core.transformer import TransformerConfig
from tests.markov import L, V, bigram_tv, no_context_tv, sample_chain, train, transition_matrix

# steps and batch size: the two-sided denoiser supervises all L positions of a sequence per pass
RECIPES = {"classic": (700, 256), "two_sided": (250, 128)}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(RECIPES))
def test_trained_denoiser_samples_the_markov_chain(kind):
    torch.manual_seed(0)
    config = TransformerConfig(vocab_size=V, seq_len=L, d_model=64, n_layers=2, n_heads=4)
    model = GlauberModel(build_denoiser(kind, config), GlauberSchedule(L, sweeps=2), NoiseDistribution.uniform(V))
    start = time.perf_counter()
    steps, batch_size = RECIPES[kind]
    losses = train(model, steps=steps, max_seconds=60, batch_size=batch_size)
    elapsed = time.perf_counter() - start
    assert sum(losses[-50:]) / 50 < sum(losses[:20]) / 20
    samples = sample_tokens(model.denoiser, model.schedule, model.noise, batch_size=3000, seed=1)
    learned, baseline = bigram_tv(samples), no_context_tv()
    real = bigram_tv(sample_chain(3000, torch.Generator().manual_seed(5)))
    print(
        f"{kind}: {len(losses)} steps in {elapsed:.1f}s, bigram TV {learned:.3f} (real {real:.3f}, no-context {baseline:.3f})"
    )
    assert learned * 3 <= baseline, f"bigram TV {learned:.3f} vs no-context {baseline:.3f}"


@pytest.mark.slow
def test_refinement_sweeps_improve_learned_infilling():
    """A two-sided denoiser trained with the clean context: the unconditional chain still learns the chain, and
    with the last token clamped, refinement sweeps bring the law of the token before it closer to the exact
    P(x_{L-2} | x_{L-1} = b) = T[·, b] (uniform stationary law) than clamping alone."""
    torch.manual_seed(0)
    config = TransformerConfig(vocab_size=V, seq_len=L, d_model=64, n_layers=2, n_heads=4)
    denoiser = build_denoiser("two_sided", config)
    model = GlauberModel(denoiser, GlauberSchedule(L, sweeps=2), NoiseDistribution.uniform(V), clean_share=0.25)
    train(model, steps=300, max_seconds=90, batch_size=128)
    samples = model.generate_tokens(3000, seed=1)
    assert bigram_tv(samples) * 3 <= no_context_tv()
    b, exact = 0, transition_matrix()[:, 0]
    tvs = {}
    for refine in (0, 4):
        known = torch.zeros(L, dtype=torch.long)
        known[-1] = b
        infills = model.generate_tokens(3000, seed=2, refine_sweeps=refine, known=[L - 1], known_tokens=known)
        empirical = torch.bincount(infills[:, -2], minlength=V).double() / len(infills)
        tvs[refine] = 0.5 * float((empirical - exact).abs().sum())
    print(f"TV of x_{{L-2}} | x_{{L-1}} = {b}: clamping {tvs[0]:.3f}, 4 refinement sweeps {tvs[4]:.3f}")
    assert tvs[4] < 0.7 * tvs[0], tvs

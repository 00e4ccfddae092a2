"""The two-sided denoiser: no information leaks to a query, and the cached sampler equals the reference."""

import torch

from ggm_core.ggm.denoisers import TwoSidedDenoiser
from ggm_core.ggm.noise import NoiseDistribution
from ggm_core.ggm.sampler import sample
from ggm_core.ggm.schedule import GlauberSchedule
from ggm_core.transformer import TransformerConfig

V, L, K = 9, 10, 3


def random_model(seed=0, std=0.3):
    torch.manual_seed(seed)
    model = TwoSidedDenoiser(TransformerConfig(vocab_size=V, seq_len=L, d_model=32, n_layers=3, n_heads=2))
    for p in model.parameters():
        torch.nn.init.normal_(p, std=std)
    return model.eval()


def test_no_leak_and_allowed_context_matters():
    model, schedule = random_model(std=0.1).double(), GlauberSchedule(L, K)  # no saturated softmax
    gen = torch.Generator().manual_seed(1)
    before, after = torch.randint(V, (2, 1, L), generator=gen)
    sweep = torch.tensor([1])
    with torch.no_grad():
        base = model(before, after, sweep, schedule)[0]
        for j in range(L):
            for stream in ("B", "A"):
                b, a = before.clone(), after.clone()
                target = b if stream == "B" else a
                target[0, j] = (target[0, j] + 1 + torch.randint(V - 1, (1,), generator=gen)) % V
                changed = (model(b, a, sweep, schedule)[0] - base).abs().amax(-1)
                for i in range(L):
                    allowed = j < i if stream == "B" else j > i
                    if allowed:
                        assert changed[i] > 1e-7, f"query {i} ignores {stream}_{j}"
                    else:
                        assert changed[i] == 0, f"{stream}_{j} leaks into query {i}"


def test_cached_sampler_equals_uncached_reference():
    model, schedule = random_model(2), GlauberSchedule(L, K)
    noise = NoiseDistribution.unigram([torch.arange(V), torch.tensor([3, 3, 4])], V)
    known_tokens = torch.randint(V, (L,), generator=torch.Generator().manual_seed(3))
    for known in (None, [0, 4, 5, 9]):
        runs = []
        for cached in (True, False):
            model.use_cache = cached
            runs.append(
                list(
                    sample(
                        model,
                        schedule,
                        noise,
                        batch_size=4,
                        seed=5,
                        known_tokens=known_tokens,
                        known=known,
                    )
                )
            )
        model.use_cache = True
        cached_events, reference_events = runs
        assert len(cached_events) == len(reference_events) > 1
        for c, r in zip(cached_events, reference_events, strict=True):
            assert torch.equal(c.tokens, r.tokens) and c.positions == r.positions
        # network calls: one A-stream pass per sweep plus one call per prediction
        assert cached_events[-1].nfe == reference_events[-1].nfe + K


def test_cached_predictions_match_reference_values():
    """In float64, so the comparison is not at the mercy of fp32 kernels that sum in another order."""
    model, schedule = random_model(4).double(), GlauberSchedule(L, K)
    canvas = torch.randint(V, (2, L), generator=torch.Generator().manual_seed(6))
    cached = model.begin_sweep(canvas, 1, schedule)
    model.use_cache = False
    reference = model.begin_sweep(canvas, 1, schedule)
    model.use_cache = True
    with torch.no_grad():
        for i in range(L):
            torch.testing.assert_close(cached.predict([i]), reference.predict([i]), rtol=1e-9, atol=1e-10)
            canvas[:, i] = (canvas[:, i] + 1) % V  # the sampler's update; later queries must see it


def test_cached_multi_position_call_sees_only_its_context():
    """Several queries in one call (the approximation): query q sees B left of the first query and A_{>q}."""
    model, schedule = random_model(5, std=0.1).double(), GlauberSchedule(L, K)  # no saturated softmax
    canvas = torch.randint(V, (1, L), generator=torch.Generator().manual_seed(7))
    first, queries = 3, [3, 4, 5, 6]
    with torch.no_grad():
        base = model.begin_sweep(canvas.clone(), 1, schedule).predict(queries)[0]
        model.use_cache = False
        exact_first = model.begin_sweep(canvas.clone(), 1, schedule).predict([first])[0, 0]
        model.use_cache = True
        torch.testing.assert_close(base[0], exact_first, rtol=1e-4, atol=1e-5)
        for j in range(first, L):  # A_j at the sweep's start: visible to the queries left of j only
            changed_canvas = canvas.clone()
            changed_canvas[0, j] = (changed_canvas[0, j] + 1) % V
            h = model.begin_sweep(changed_canvas, 1, schedule).predict(queries)[0]
            for row, q in enumerate(queries):
                if q < j:
                    assert (h[row] - base[row]).abs().amax() > 1e-7, f"query {q} ignores A_{j}"
                else:
                    assert torch.equal(h[row], base[row]), f"A_{j} leaks into query {q}"

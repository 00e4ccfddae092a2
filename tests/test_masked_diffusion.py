"""The masked diffusion baseline (MD4): forward masking, the ELBO of the exact posterior, exact sampling,
clamping, and a tiny run of the shared training script."""

from pathlib import Path

import pytest
import torch

from ggm_core import load_model
from ggm_core.md4 import MaskedDenoiser, MaskedDiffusionModel, sample_masked
from ggm_core.md4.forward import antithetic_times, mask_tokens
from ggm_core.md4.rotary import rotary_angles, rotate
from ggm_core.md4.sampler import time_grid
from ggm_core.transformer import TransformerConfig
from tests.enumeration import all_states

V, L = 3, 3


@pytest.fixture(scope="module")
def data_law():
    """An arbitrary full-support law over the V^L = 27 sequences, flattened in row-major order."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        law = torch.distributions.Dirichlet(torch.full((V**L,), 0.5, dtype=torch.float64)).sample()
    law = law + 1e-3 * torch.rand(V**L, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    return law / law.sum()


class OracleDenoiser(torch.nn.Module):
    """Returns log p(x_0^i | x_t) of the data law, tabulated by enumeration (it does not depend on t)."""

    def __init__(self, law: torch.Tensor, uniform: bool = False) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.config = TransformerConfig(vocab_size=V, seq_len=L, d_model=4, n_layers=1, n_heads=1)
        states = all_states(V, L)  # (27, L)
        patterns = all_states(V + 1, L)  # every x_t, id V = mask, in base-(V+1) order
        consistent = ((patterns[:, None, :] == V) | (patterns[:, None, :] == states[None])).all(-1)
        weights = consistent * law  # posterior over x_0 given the unmasked tokens (unnormalised)
        onehot = torch.nn.functional.one_hot(states, V).double()  # (27, L, V)
        probs = torch.einsum("ps,slv->plv", weights, onehot) / weights.sum(-1)[:, None, None]
        self.table = torch.zeros_like(probs) if uniform else probs.log()  # (64, L, V)

    def forward(self, tokens: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        index = (tokens * (V + 1) ** torch.arange(L - 1, -1, -1)).sum(-1)
        return self.table[index] + 0 * self.anchor


def draw_data(law: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    index = torch.multinomial(law, n, replacement=True, generator=torch.Generator().manual_seed(seed))
    return all_states(V, L)[index]


def total_variation(tokens: torch.Tensor, law: torch.Tensor) -> float:
    index = (tokens * torch.tensor([V * V, V, 1])).sum(-1)
    empirical = torch.bincount(index, minlength=V**L).double() / tokens.shape[0]
    return float(0.5 * (empirical - law).abs().sum())


def test_forward_keeps_tokens_with_probability_alpha():
    n = 200_000
    x0 = torch.randint(5, (n, 4), generator=torch.Generator().manual_seed(0))
    for t in (0.1, 0.5, 0.9):
        xt, masked = mask_tokens(x0, torch.full((n,), t), mask_id=5, generator=torch.Generator().manual_seed(1))
        assert torch.equal(masked, xt == 5) and torch.equal(xt[~masked], x0[~masked])
        keep_rate = (~masked).double().mean().item()
        assert abs(keep_rate - (1 - t)) < 0.003, (t, keep_rate)  # 5 standard errors at most ~0.0025


def test_antithetic_times_cover_the_interval():
    t = antithetic_times(8, torch.Generator().manual_seed(0))
    assert bool((t >= 1e-3).all() & (t <= 1).all())
    assert sorted(((t - 1e-3) / (1 - 1e-3) * 8).floor().long().tolist()) == list(range(8))  # one per stratum
    grid = time_grid(4)
    assert grid[0] == 1.0 and grid[-1] == 0.0 and len(grid) == 5 and grid == sorted(grid, reverse=True)


def test_elbo_of_the_exact_posterior_is_the_data_entropy(data_law):
    """With exact conditionals the MD4 ELBO is tight: E[loss]·L = H(data); a uniform model pays log V."""
    oracle = MaskedDiffusionModel(OracleDenoiser(data_law))
    uniform = MaskedDiffusionModel(OracleDenoiser(data_law, uniform=True))
    gen = torch.Generator().manual_seed(2)
    oracle_means, uniform_means = [], []
    for batch in range(400):
        x0 = draw_data(data_law, 1000, seed=100 + batch)
        oracle_means.append(oracle.loss(x0, gen)[0].item())
        uniform_means.append(uniform.loss(x0, gen)[0].item())
    means = torch.tensor(oracle_means, dtype=torch.float64)
    estimate, stderr = means.mean().item(), (means.std() / len(means) ** 0.5).item()
    entropy = -(data_law * data_law.log()).sum().item() / L
    assert abs(estimate - entropy) < 4 * stderr + 2e-3, (estimate, entropy, stderr)
    uniform_estimate = torch.tensor(uniform_means).mean().item()
    assert abs(uniform_estimate - torch.log(torch.tensor(3.0)).item()) < 0.03
    assert estimate < uniform_estimate - 0.2


def test_loss_counts_masked_positions_and_trains_the_network():
    torch.manual_seed(0)
    model = MaskedDiffusionModel(MaskedDenoiser(TransformerConfig(vocab_size=7, seq_len=6, d_model=16, n_layers=1)))
    x0 = torch.randint(7, (10, 6))
    loss, count = model.loss(x0, torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(0)  # the loss's draws, replayed
    _, masked = mask_tokens(x0, antithetic_times(10, gen), 7, gen)
    assert count == int(masked.sum()) and 0 < count < 60
    loss.backward()
    assert all(p.grad is not None for p in model.network.parameters())


@pytest.mark.parametrize("steps", [None, 200])
def test_sampler_with_the_exact_posterior_samples_the_data_law(data_law, steps):
    tokens = MaskedDiffusionModel(OracleDenoiser(data_law)).generate_tokens(20_000, seed=3)
    if steps is not None:
        *_, last = sample_masked(OracleDenoiser(data_law), batch_size=20_000, steps=steps, seed=3)
        tokens = last.tokens
    tv = total_variation(tokens, data_law)
    assert tv < 0.03, f"steps={steps}: total variation {tv:.4f}"


def test_one_step_reveals_independent_marginals_not_the_data_law(data_law):
    """The test above has teeth: one grid step draws every position at once from its marginal."""
    *_, last = sample_masked(OracleDenoiser(data_law), batch_size=20_000, steps=1, seed=3)
    marginals = data_law.view(V, V, V)
    product = torch.einsum("a,b,c->abc", marginals.sum((1, 2)), marginals.sum((0, 2)), marginals.sum((0, 1))).flatten()
    assert total_variation(last.tokens, product) < 0.03
    assert total_variation(last.tokens, data_law) > 0.1


def random_denoiser(vocab=11, length=12, positions="learned"):
    torch.manual_seed(0)
    config = TransformerConfig(vocab_size=vocab, seq_len=length, d_model=32, n_layers=2, n_heads=2)
    denoiser = MaskedDenoiser(config, positions)
    for p in denoiser.parameters():  # the zero-initialised head would give uniform logits
        torch.nn.init.normal_(p, std=0.3)
    return denoiser


@pytest.mark.parametrize("steps", [None, 5, 50])
@pytest.mark.parametrize("batch", [1, 3])
def test_clamping_event_stream_and_nfe(steps, batch):
    denoiser, vocab, length = random_denoiser(), 11, 12
    known = torch.tensor([0, 3, 4, 11])
    tokens = torch.randint(vocab, (length,), generator=torch.Generator().manual_seed(5))
    run = lambda seed: list(  # noqa: E731
        sample_masked(denoiser, batch_size=batch, known_tokens=tokens, known=known, steps=steps, seed=seed)
    )
    events = run(1)
    unknown = length - len(known)
    start = events[0]
    assert start.positions == () and start.nfe == 0 and start.total_updates == unknown
    assert bool((start.tokens[:, [1, 2, 5, 6, 7, 8, 9, 10]] == vocab).all())
    for before, after in zip(events, events[1:], strict=False):
        assert torch.equal(after.tokens[:, known], tokens[known].expand(batch, -1))
        assert after.positions and not set(after.positions) & set(known.tolist())
        index = list(after.positions)
        assert torch.equal(before.tokens[:, index], after.old) and torch.equal(after.tokens[:, index], after.new)
        rest = [j for j in range(length) if j not in index]
        assert torch.equal(before.tokens[:, rest], after.tokens[:, rest])
        changed = after.new != after.old
        assert bool((after.old[changed] == vocab).all())  # only masked positions are revealed
        assert bool(((after.new[changed] >= 0) & (after.new[changed] < vocab)).all())
        if batch == 1:
            assert bool(changed.all())
        assert after.nfe == before.nfe + 1 and after.step >= before.step
    last = events[-1]
    assert last.tokens.max() < vocab and last.updates_done == unknown
    assert last.nfe == (unknown if steps is None else len(events) - 1) and last.nfe <= (steps or unknown)
    if steps is None and batch == 1:
        assert sorted(p for e in events[1:] for p in e.positions) == [1, 2, 5, 6, 7, 8, 9, 10]
    again, other = run(1), run(2)
    assert len(again) == len(events)
    for a, b in zip(events, again, strict=True):
        assert torch.equal(a.tokens, b.tokens) and a.positions == b.positions and a.nfe == b.nfe
    assert not torch.equal(other[-1].tokens, last.tokens)


def test_exact_mode_orders_are_uniform():
    """Every unknown position is equally likely to be revealed first (one random order per sequence)."""
    events = sample_masked(random_denoiser(), batch_size=4000, steps=None, seed=0)
    next(events)  # the start
    first = next(events).tokens != 11
    assert bool((first.sum(1) == 1).all())
    rate = first.double().mean(0)
    assert (rate - 1 / 12).abs().max() < 0.02


def test_everything_known_and_bad_arguments():
    denoiser = random_denoiser()
    tokens = torch.randint(11, (12,))
    events = list(sample_masked(denoiser, known_tokens=tokens, known=torch.ones(12, dtype=torch.bool)))
    assert len(events) == 1 and torch.equal(events[0].tokens[0], tokens)
    with pytest.raises(ValueError, match="known_tokens"):
        next(sample_masked(denoiser, known=[1]))
    with pytest.raises(ValueError, match="known tokens"):
        next(sample_masked(denoiser, known=[1], known_tokens=torch.full((12,), 11)))
    with pytest.raises(ValueError, match="steps"):
        next(sample_masked(denoiser, steps=0))


def test_checkpoint_round_trip_and_family_key(tmp_path):
    import json

    from ggm_core.checkpoint import CONFIG_FILE, CheckpointError, save_model
    from tests.test_checkpoint import tiny_model

    model = MaskedDiffusionModel(random_denoiser(), metadata={"note": "md4"})
    model.save(tmp_path / "md4")
    config = json.loads((tmp_path / "md4" / CONFIG_FILE).read_text())
    assert config["family"] == "md4" and "schedule" not in config and "noise" not in config
    loaded = load_model(tmp_path / "md4")
    assert isinstance(loaded, MaskedDiffusionModel) and loaded.metadata == {"note": "md4"}
    for a, b in zip(model.denoiser.state_dict().values(), loaded.denoiser.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    for steps in (None, 4):
        a = [e.tokens for e in model.sample(batch_size=2, seed=3, steps=steps)]
        b = [e.tokens for e in loaded.sample(batch_size=2, seed=3, steps=steps)]
        assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))

    save_model(tiny_model(), tmp_path / "ggm")  # a GGM checkpoint written before the key existed loads as GGM
    config = json.loads((tmp_path / "ggm" / CONFIG_FILE).read_text())
    assert config.pop("family") == "ggm"
    (tmp_path / "ggm" / CONFIG_FILE).write_text(json.dumps(config))
    assert load_model(tmp_path / "ggm").schedule.sweeps == 3
    for family, match in (("nope", "unknown model family"), ("md4", "kind 'classic'")):
        (tmp_path / "ggm" / CONFIG_FILE).write_text(json.dumps({**config, "family": family}))
        with pytest.raises(CheckpointError, match=match):
            load_model(tmp_path / "ggm")


def test_rotary_attention_scores_depend_only_on_the_offset():
    """q_i·k_j after rotation depends on i − j alone (Su et al., eq. 16): the same vectors at every position."""
    cos, sin = rotary_angles(12, 8)
    q, k = torch.randn(2, 1, 1, 1, 8, generator=torch.Generator().manual_seed(0)).expand(2, 1, 1, 12, 8)
    scores = (rotate(q, cos, sin) @ rotate(k, cos, sin).transpose(-1, -2))[0, 0]
    for offset in range(-11, 12):
        diagonal = torch.diagonal(scores, offset)
        assert torch.allclose(diagonal, diagonal[0].expand_as(diagonal), atol=1e-5)
    assert not torch.allclose(torch.diagonal(scores, 0)[0], torch.diagonal(scores, 3)[0])  # offsets do differ
    with pytest.raises(ValueError, match="even head size"):
        rotary_angles(12, 7)


def test_rotary_md4_round_trips_and_old_checkpoints_load_as_learned(tmp_path):
    import json

    from ggm_core.checkpoint import CONFIG_FILE

    model = MaskedDiffusionModel(random_denoiser(positions="rotary"))
    assert not any("position" in name for name in model.denoiser.state_dict())  # nothing learned, nothing saved
    model.save(tmp_path / "rotary")
    loaded = load_model(tmp_path / "rotary")
    assert loaded.denoiser.positions == "rotary"
    tokens, t = torch.randint(0, 12, (3, 12), generator=torch.Generator().manual_seed(1)), torch.rand(3)
    with torch.no_grad():
        assert torch.equal(model.denoiser(tokens, t), loaded.denoiser(tokens, t))
        shifted = torch.roll(tokens, 1, dims=1)  # rotary is not position-blind: order matters
        assert not torch.allclose(model.denoiser(tokens, t), torch.roll(model.denoiser(shifted, t), -1, dims=1))

    shipped = Path(__file__).resolve().parents[1] / "assets" / "md4_faces"  # written before the key existed
    assert "positions" not in json.loads((shipped / CONFIG_FILE).read_text())["denoiser"]
    assert load_model(shipped).denoiser.positions == "learned"
    with pytest.raises(ValueError, match="positions = 'alibi'"):
        random_denoiser(positions="alibi")


def test_tiny_md4_run_learns_exports_and_samples(corpus, tmp_path, monkeypatch):
    from training.config import load_config
    from training.trainer import train

    monkeypatch.setenv("GGM_CACHE", str(tmp_path / "cache"))
    tiny = Path(__file__).resolve().parents[1] / "training" / "configs" / "tiny_text.toml"
    args = ["--config", str(tiny), "--corpus", str(corpus), "--out-dir", str(tmp_path / "run"), "--threads", "1"]
    cfg, _ = load_config([*args, "--family", "md4", "--max-steps", "60", "--eval-every", "30"])
    record = train(cfg)
    (_, first), *_, (_, last) = record["val_loss"]
    assert last < first - 0.5, record["val_loss"]
    model = load_model(tmp_path / "run" / "model")
    assert isinstance(model, MaskedDiffusionModel) and model.metadata["training_config"]["family"] == "md4"
    events = list(model.sample(batch_size=2, seed=0, steps=8))
    assert events[-1].tokens.shape == (2, 32) and events[-1].tokens.max() < model.mask_id
    assert isinstance(model.tokenizer.decode(events[-1].tokens[0]), str)

"""A known Markov chain over V=8 tokens, its exact bigram law, and a short CPU training loop."""

import time

import torch

from ggm_core.ggm.model import GlauberModel

V, L = 8, 8


def transition_matrix() -> torch.Tensor:
    """Doubly stochastic: x → x+1 (0.7), x+3 (0.2), else uniform, all mod V."""
    T = torch.full((V, V), 0.1 / V, dtype=torch.float64)
    for a in range(V):
        T[a, (a + 1) % V] += 0.7
        T[a, (a + 3) % V] += 0.2
    return T


def sample_chain(n: int, generator: torch.Generator) -> torch.Tensor:
    T = transition_matrix()
    x = torch.empty(n, L, dtype=torch.long)
    x[:, 0] = torch.randint(V, (n,), generator=generator)
    for j in range(1, L):
        x[:, j] = torch.multinomial(T[x[:, j - 1]], 1, generator=generator).squeeze(1)
    return x


def true_bigrams() -> torch.Tensor:
    """Pooled law of (x_j, x_{j+1}); marginals stay uniform because T is doubly stochastic."""
    return (transition_matrix() / V).flatten()


def bigram_tv(samples: torch.Tensor) -> float:
    pairs = (samples[:, :-1] * V + samples[:, 1:]).flatten()
    empirical = torch.bincount(pairs, minlength=V * V).double() / pairs.numel()
    return 0.5 * float((empirical - true_bigrams()).abs().sum())


def no_context_tv() -> float:
    """TV of the best model with no context: independent uniform tokens."""
    return 0.5 * float((torch.full((V * V,), 1.0 / V**2, dtype=torch.float64) - true_bigrams()).abs().sum())


def train(
    model: GlauberModel, steps: int, max_seconds: float, batch_size: int = 256, lr: float = 3e-3, seed: int = 0
) -> list[float]:
    """AdamW on fresh chain samples for ``steps`` steps (or until ``max_seconds``); returns the losses."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.denoiser.parameters(), lr=lr, weight_decay=0.0)
    model.denoiser.train()
    losses, start = [], time.perf_counter()
    while len(losses) < steps and time.perf_counter() - start < max_seconds:
        loss, _ = model.loss(sample_chain(batch_size, gen), gen)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.denoiser.eval()
    return losses

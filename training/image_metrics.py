"""Fréchet distance between face sets on the project's own VQ encoder features (no downloaded network).

Features: the VQ encoder's continuous output before quantisation, (code_dim, 16, 16) for a 64×64
face, average-pooled to a 4×4 grid and flattened (code_dim·16 numbers). The Fréchet distance between
Gaussian fits of two feature sets is ``|μ_a − μ_b|² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^{1/2})``. Like FID it is
biased upward at small sample sizes, so compare it with the real-versus-real floor at the same size.
"""

import numpy as np
import torch
import torch.nn.functional as F

from ggm_core.tokenizers.vq import images_to_tensor


@torch.no_grad()
def vq_features(tokenizer, images: np.ndarray, grid: int = 4, batch_size: int = 256) -> torch.Tensor:
    """(N, code_dim·grid²) float64 features of uint8 (N, H, W, 3) images under the VQ encoder."""
    model = tokenizer.model
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(images), batch_size):
        z = model.encoder(images_to_tensor(images[start : start + batch_size]).to(device))
        out.append(F.adaptive_avg_pool2d(z, grid).flatten(1).double().cpu())
    return torch.cat(out)


def _sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance_from_stats(mu_a, cov_a, mu_b, cov_b) -> float:
    """Fréchet distance between N(mu_a, cov_a) and N(mu_b, cov_b), in float64.

    Tr((Σ_a Σ_b)^{1/2}) is computed as the trace of the symmetric (Σ_a^{1/2} Σ_b Σ_a^{1/2})^{1/2}.
    """
    mu_a, cov_a, mu_b, cov_b = (torch.as_tensor(x, dtype=torch.float64) for x in (mu_a, cov_a, mu_b, cov_b))
    root_a = _sqrt_psd(cov_a)
    middle = root_a @ cov_b @ root_a
    cross = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    return float((mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross)


def mean_term(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """|μ_a − μ_b|², the part of the Fréchet distance from the means alone (the rest is the covariance part)."""
    return float((features_a.double().mean(0) - features_b.double().mean(0)).square().sum())


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """Fréchet distance between Gaussian fits (mean, unbiased covariance) of two (N, D) feature sets."""
    a, b = features_a.double(), features_b.double()
    return frechet_distance_from_stats(a.mean(0), torch.cov(a.T), b.mean(0), torch.cov(b.T))

"""The masked diffusion baseline MD4 (Shi et al., arXiv 2406.04329), on the GGM transformer backbone.

One concept per file: ``network`` (the denoiser), ``forward`` (masking and training times), ``loss``
(the continuous-time ELBO), ``sampler`` (ancestral sampling as an event stream), ``model`` (the family).
"""

from ggm_core.md4.loss import masked_diffusion_loss
from ggm_core.md4.model import MaskedDiffusionModel
from ggm_core.md4.network import MaskedDenoiser
from ggm_core.md4.sampler import sample_masked

__all__ = ["MaskedDenoiser", "MaskedDiffusionModel", "masked_diffusion_loss", "sample_masked"]

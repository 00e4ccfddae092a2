"""What a family's canvas is made of: ``text`` (byte-level BPE with END and PAD), ``vq`` (an image's VQ codes),
``pixels`` (raw intensities, Blackout's canvas), and ``images`` (any image file as the RGB square they read).
Each tokenizer registers its ``kind`` (ggm_core.registry), the name a checkpoint's config gives it."""

from ggm_core.tokenizers.pixels import PixelTokenizer
from ggm_core.tokenizers.text import TextTokenizer
from ggm_core.tokenizers.vq import ImageTokenizer

__all__ = ["ImageTokenizer", "PixelTokenizer", "TextTokenizer"]

"""Tiny random-weight checkpoints for the app tests: a text model (BPE of ~300 tokens, L = 32) and a face model
(a random VQ tokenizer with 16 codes, L = 256). They are for UI tests only: their samples are gibberish."""

from pathlib import Path

import torch

from ggm_core import (
    GlauberModel,
    GlauberSchedule,
    MaskedDenoiser,
    MaskedDiffusionModel,
    NoiseDistribution,
    TransformerConfig,
    load_model,
    save_model,
)
from ggm_core.ggm.denoisers import TwoSidedDenoiser
from ggm_core.tokenizers.text import TextTokenizer
from ggm_core.tokenizers.vq import ImageTokenizer, VQAutoencoder, VQConfig

CORPUS = """It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.
However little known the feelings or views of such a man may be on his first entering a neighbourhood, this truth is well fixed.
Emma Woodhouse, handsome, clever, and rich, with a comfortable home and happy disposition, seemed to unite some of the best blessings.
The family of Dashwood had long been settled in Sussex. Their estate was large, and their residence was at Norland Park.
Sir Walter Elliot, of Kellynch Hall, in Somersetshire, was a man who, for his own amusement, never took up any book but the Baronetage.
No one who had ever seen Catherine Morland in her infancy would have supposed her born to be an heroine.
About thirty years ago Miss Maria Ward, of Huntingdon, with only seven thousand pounds, had the good luck to captivate Sir Thomas Bertram.
“My dear Mr. Bennet,” said his lady to him one day, “have you heard that Netherfield Park is let at last?”
Café, naïve, façade — déjà vu; 日本語 and ünïcödé are here too, so the byte-level tokenizer sees them.
"""


def make_text_checkpoint(folder: Path, seed: int = 0, documents: bool = False, seq_len: int = 32) -> Path:
    """A random text GGM (``seq_len`` tokens) on a 300-token BPE; ``documents``: the BPE with END and PAD."""
    from training.bpe import train_bpe

    folder = Path(folder)
    corpus = folder.parent / "app_corpus.txt"
    corpus.write_text(CORPUS * 4, encoding="utf-8")
    train_bpe(corpus, 300, folder)
    tokenizer = TextTokenizer.load(folder)
    if documents:
        tokenizer = tokenizer.save_with_document_tokens(folder)
    torch.manual_seed(seed)
    V = tokenizer.vocab_size
    denoiser = TwoSidedDenoiser(TransformerConfig(V, seq_len=seq_len, d_model=32, n_layers=2, n_heads=2))
    schedule, noise = GlauberSchedule(seq_len, 2), NoiseDistribution.uniform(V)
    model = GlauberModel(denoiser, schedule, noise, tokenizer, clean_share=0.25)
    return save_model(model, folder)


def make_face_checkpoint(folder: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    vq = VQAutoencoder(VQConfig(codebook_size=16, code_dim=8, channels=(8, 16, 16), res_blocks=(0, 0, 0)))
    with torch.no_grad():  # spread the random codebook so decoded codes differ visibly
        vq.quantizer.codebook.mul_(2.0)
    tokenizer = ImageTokenizer(vq)
    denoiser = TwoSidedDenoiser(TransformerConfig(16, seq_len=256, d_model=32, n_layers=2, n_heads=2))
    model = GlauberModel(denoiser, GlauberSchedule(256, 2), NoiseDistribution.uniform(16), tokenizer)
    return save_model(model, folder)


def make_checkpoints(root: Path) -> tuple[Path, Path]:
    root = Path(root)
    return make_text_checkpoint(root / "text"), make_face_checkpoint(root / "faces")


def make_md4_checkpoint(folder: Path, like: Path, seed: int = 1) -> Path:
    """A random MD4 checkpoint with the tokenizer and length of the GGM checkpoint at ``like``."""
    ggm = load_model(like)
    torch.manual_seed(seed)
    config = TransformerConfig(ggm.vocab_size, seq_len=ggm.seq_len, d_model=32, n_layers=2, n_heads=2)
    return save_model(MaskedDiffusionModel(MaskedDenoiser(config), ggm.tokenizer), folder)


def make_blackout_checkpoint(folder: Path, seed: int = 2) -> Path:
    """A random Blackout checkpoint on 64×64 colour pixels (a tiny U-Net)."""
    from ggm_core.blackout import BlackoutModel, BlackoutSchedule, PixelTokenizer, PixelUNet, UNetConfig

    torch.manual_seed(seed)
    model = BlackoutModel(PixelUNet(UNetConfig(widths=(8, 16, 16))), BlackoutSchedule(), PixelTokenizer())
    return save_model(model, folder)

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("GGM_COMPILE", "0")  # the app's tests run the eager decode step; test_decode_step compiles

import pytest  # noqa: E402
import torch  # noqa: E402

# Small models run as fast on one thread, and tests stay quick when other work shares the CPU.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """A small corpus of real prose (two Austen-like paragraphs repeated with variations)."""
    folder = tmp_path_factory.mktemp("corpus")
    lines = []
    for i in range(400):
        lines.append(f"It is a truth universally acknowledged, that a single man number {i} must be in want of a wife.")
        lines.append(f"Emma Woodhouse, handsome, clever, and rich, had lived {i % 30} years in the world.")
        lines.append("")
    (folder / "book.txt").write_text("\n".join(lines))
    return folder


@pytest.fixture
def random_faces(tmp_path):
    """A folder of 40 random 64×64 RGB images: enough for a face run's data preparation and a few steps."""
    import numpy as np
    from PIL import Image

    folder = tmp_path / "faces"
    folder.mkdir()
    gen = np.random.default_rng(0)
    for i in range(40):
        Image.fromarray(gen.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(folder / f"{i:02d}.png")
    return folder

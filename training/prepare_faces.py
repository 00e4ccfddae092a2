"""Prepare 64×64 RGB face images for the VQ tokenizer and the image GGM.

Default source: the DCGAN shipped in PyPI ``gan-face-generate`` 1.1.1 (install with ``--no-deps``),
sampled under fixed seeds. Licence caveat: the GAN was trained on Microsoft DigiFace-1M, which is for
non-commercial research only. Alternative: ``--folder DIR`` of your own images (e.g. CelebA, FFHQ).

Output (under ``$GGM_CACHE`` or ``~/.cache/ggm``): ``faces/<name>/{train,val}.npy`` (uint8 (N, 64, 64, 3)),
``stats.json`` and ``preview.png`` (64 training images).

    python -m training.prepare_faces                      # 30k train + 1k val DCGAN faces
    python -m training.prepare_faces --folder ~/celeba --name celeba
"""

import argparse
import time
from pathlib import Path

import torch

from training.face_data import prepare_faces


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache-dir", type=Path, help="cache root (default $GGM_CACHE or ~/.cache/ggm)")
    ap.add_argument("--n-train", type=int, default=30000, help="DCGAN training images")
    ap.add_argument("--n-val", type=int, default=1000, help="DCGAN validation images")
    ap.add_argument("--folder", type=Path, help="use every image under this folder instead of the DCGAN")
    ap.add_argument("--name", help="subfolder name under faces/ (default: dcgan, or the folder's name and path hash)")
    ap.add_argument("--force", action="store_true", help="rebuild even if the output exists")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    prepare_faces(a.cache_dir, a.n_train, a.n_val, a.folder, a.name, a.force)
    print(f"total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()

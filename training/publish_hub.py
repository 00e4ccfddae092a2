"""Publish the demo to a Hugging Face Space, or a checkpoint folder as a Hub model repository.

    python -m training.publish_hub space --repo OWNER/NAME [--hardware zero-gpu|cpu-basic] [--dry-run]
    python -m training.publish_hub model --model assets/faces --repo OWNER/NAME [--dry-run]

``space`` stages exactly what the Space runs (app.py, ggm_app/, ggm_core/, the README with Spaces front matter
for the chosen hardware, a requirements.txt for it, and the checkpoints the app loads by default) and uploads it with
``huggingface_hub``'s ``upload_folder``, which stores the large weight files itself: this repository's own git
never needs LFS. ``model`` stages one checkpoint folder with its model card as the ``README.md`` the Hub shows,
under a metadata header (library, license, tags, datasets). ``--dry-run`` lists the files and sizes and uploads
nothing. Uploading needs a write token (``huggingface-cli login`` or ``HF_TOKEN``).
"""

import argparse
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ggm_core.registry import FAMILIES

ROOT = Path(__file__).resolve().parents[1]
SPACE_CODE = ("app.py", "ggm_app", "ggm_core", "LICENSE")
SPACE_MODELS = ("assets/text_austen", "assets/faces", "assets/md4_faces", "assets/blackout_faces")  # app.py's
SKIPPED_FOLDERS, SKIPPED_SUFFIXES = ("__pycache__",), (".pyc",)
MAX_FILE_MB = 30  # a shipped model's weights stay under about 30 MB (the project's rule)
CPU_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"


@dataclass(frozen=True)
class Hardware:
    """What a kind of Space needs: its Python, its torch, extra packages, and the hardware flavour to suggest."""

    python: str
    torch: str
    index: str | None  # an extra package index for torch
    packages: tuple[str, ...]
    flavour: str


# The Space gets gradio from the README's sdk_version. ZeroGPU runs Python 3.10.13 or 3.12.12 and PyTorch 2.8 to
# 2.11 (CUDA wheels from PyPI), with `spaces` (ggm_app/device.py); CPU Basic takes torch from the CPU index (a bare
# "torch" from PyPI is CUDA's, gigabytes the CPU cannot use).
HARDWARE = {
    "zero-gpu": Hardware("3.12", "torch==2.11.0", None, ("spaces==0.51.3",), "zero-a10g"),
    "cpu-basic": Hardware("3.11", "torch==2.13.0", CPU_INDEX, (), "cpu-basic"),
}
CARD_FILE = "MODEL_CARD.md"


def space_requirements(requirements: str, hardware: Hardware) -> str:
    """The project's runtime requirements for a Space on ``hardware``: its torch (and index) and packages, gradio
    left to sdk_version."""
    skipped = ("#", "gradio==", "torch==")
    kept = [line for line in requirements.splitlines() if line.strip() and not line.startswith(skipped)]
    lines = [*([hardware.index] if hardware.index else []), hardware.torch, *kept, *hardware.packages]
    return "\n".join(lines) + "\n"


def space_readme(readme: str, hardware: Hardware) -> str:
    """The README with front matter for ``hardware``: its Python version and suggested hardware flavour."""
    _, front, body = readme.split("---\n", 2)
    front = re.sub(r"(?m)^(python_version|suggested_hardware):.*\n", "", front)
    front += f'python_version: "{hardware.python}"\nsuggested_hardware: {hardware.flavour}\n'
    return f"---\n{front}---\n{body}"


def space_files(root: Path = ROOT) -> dict[str, Path]:
    """Every file the Space needs, by its path in the Space repository (README.md and requirements.txt are
    written for the hardware when staged)."""
    files: dict[str, Path] = {}
    for item in (*SPACE_CODE, *SPACE_MODELS):
        path = root / item
        if path.is_file():
            files[item] = path
        for sub in sorted(path.rglob("*")) if path.is_dir() else ():
            relative = sub.relative_to(root)
            if sub.is_file() and not set(relative.parts) & set(SKIPPED_FOLDERS) and sub.suffix not in SKIPPED_SUFFIXES:
                files[str(relative)] = sub
    return files


def card_header(config: dict, folder_name: str) -> str:
    """The Hub's YAML metadata block for a checkpoint's card, tagged by its family (``hub_tags``, ggm_core.registry)."""
    family = config.get("family", "ggm")
    if family not in FAMILIES:
        raise SystemExit(f"{folder_name}: model family {family!r} is not registered; known: {sorted(FAMILIES)}")
    kind = config.get("tokenizer", {}).get("kind", "")
    data = "jane-austen-novels" if kind == "bpe" else "dcgan-faces-64"
    tags = ["ggm-project", *FAMILIES[family].hub_tags, "text-generation" if kind == "bpe" else "image-generation"]
    lines = ["---", "library_name: ggm", "license: mit", "tags:", *(f"- {t}" for t in tags), "datasets:", f"- {data}"]
    return "\n".join([*lines, f"model_name: {folder_name}", "---", ""]) + "\n"


def model_files(folder: Path) -> dict[str, Path]:
    """A checkpoint folder's files by their repository path; its card becomes README.md (written by staging)."""
    files = {p.name: p for p in sorted(folder.iterdir()) if p.is_file() and p.name != CARD_FILE}
    if not (folder / CARD_FILE).is_file():
        raise SystemExit(f"{folder}: no {CARD_FILE}; a published model needs its card")
    return files


def stage(files: dict[str, Path], into: Path, extra: dict[str, str]) -> Path:
    """Copy ``files`` into ``into`` under their repository paths and write the ``extra`` texts."""
    for name, source in files.items():
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, into / name)
    for name, text in extra.items():
        (into / name).write_text(text, encoding="utf-8")
    return into


def stage_space(into: Path, hardware: str = "zero-gpu", root: Path = ROOT) -> Path:
    chosen = HARDWARE[hardware]
    written = {
        "README.md": space_readme((root / "README.md").read_text(encoding="utf-8"), chosen),
        "requirements.txt": space_requirements((root / "requirements.txt").read_text(), chosen),
    }
    return stage(space_files(root), into, written)


def stage_model(folder: Path, into: Path) -> Path:
    import json

    config = json.loads((folder / "config.json").read_text())
    card = card_header(config, folder.name) + (folder / CARD_FILE).read_text(encoding="utf-8")
    return stage(model_files(folder), into, {"README.md": card})


def too_large(staged: Path) -> list[str]:
    return [
        f"{p.relative_to(staged)} ({p.stat().st_size / 2**20:.1f} MB)"
        for p in staged.rglob("*")
        if p.is_file() and p.stat().st_size > MAX_FILE_MB * 2**20
    ]


def report(staged: Path) -> None:
    files = sorted(p for p in staged.rglob("*") if p.is_file())
    for p in files:
        print(f"{p.stat().st_size / 2**20:8.2f} MB  {p.relative_to(staged)}")
    print(f"{len(files)} files, {sum(p.stat().st_size for p in files) / 2**20:.1f} MB")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("space", "model"))
    parser.add_argument("--repo", required=True, help="OWNER/NAME on the Hub")
    parser.add_argument("--model", type=Path, help="model: the checkpoint folder")
    parser.add_argument(
        "--hardware", choices=sorted(HARDWARE), default="zero-gpu",
        help="space: the Space's hardware (README, 'Hosting it on Hugging Face Spaces'); default zero-gpu",
    )  # fmt: skip
    parser.add_argument("--dry-run", action="store_true", help="list what would be uploaded, upload nothing")
    args = parser.parse_args(argv)
    if args.what == "model" and args.model is None:
        parser.error("model needs --model FOLDER")
    with tempfile.TemporaryDirectory() as tmp:
        staged = stage_space(Path(tmp), args.hardware) if args.what == "space" else stage_model(args.model, Path(tmp))
        report(staged)
        if args.what == "model":
            print("\n" + (staged / "README.md").read_text(encoding="utf-8").split("\n---\n")[0] + "\n---")
        if args.what == "space":
            front = (staged / "README.md").read_text(encoding="utf-8").split("---\n")[1]
            print(
                f"\nfront matter for {args.hardware}:\n{front}\nrequirements.txt:\n{(staged / 'requirements.txt').read_text()}"
            )
        if large := too_large(staged):
            raise SystemExit(f"over {MAX_FILE_MB} MB: {', '.join(large)}")
        if args.dry_run:
            return
        from huggingface_hub import HfApi

        api = HfApi()
        repo_type = "space" if args.what == "space" else "model"
        kwargs = {"space_sdk": "gradio"} if repo_type == "space" else {}
        api.create_repo(args.repo, repo_type=repo_type, exist_ok=True, **kwargs)
        api.upload_folder(folder_path=staged, repo_id=args.repo, repo_type=repo_type, commit_message="Publish")
        print(f"uploaded to https://huggingface.co/{'spaces/' if repo_type == 'space' else ''}{args.repo}")


if __name__ == "__main__":
    main()

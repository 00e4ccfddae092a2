"""Publish the demo to a Hugging Face Space, or a checkpoint folder as a Hub model repository.

    python -m training.publish_hub space --repo OWNER/NAME [--dry-run]
    python -m training.publish_hub model --model assets/faces --repo OWNER/NAME [--dry-run]

``space`` stages exactly what the Space runs (app.py, ggm_app/, ggm_core/, the README with its Spaces front
matter, a requirements.txt for the Space, and the checkpoints the app loads by default) and uploads it with
``huggingface_hub``'s ``upload_folder``, which stores the large weight files itself: this repository's own git
never needs LFS. ``model`` stages one checkpoint folder with its model card as the ``README.md`` the Hub shows,
under a metadata header (library, license, tags, datasets). ``--dry-run`` lists the files and sizes and uploads
nothing. Uploading needs a write token (``huggingface-cli login`` or ``HF_TOKEN``).
"""

import argparse
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPACE_CODE = ("app.py", "ggm_app", "ggm_core", "LICENSE")
SPACE_MODELS = ("assets/text_austen", "assets/faces", "assets/md4_faces", "assets/blackout_faces")  # app.py's
SKIPPED_FOLDERS, SKIPPED_SUFFIXES = ("__pycache__",), (".pyc",)
MAX_FILE_MB = 30  # a shipped model's weights stay under about 30 MB (the project's rule)
# The Space gets gradio from the README's sdk_version; torch from the CPU index (a bare "torch" is CUDA's).
SPACE_REQUIREMENTS_HEADER = "--extra-index-url https://download.pytorch.org/whl/cpu\n"
CARD_FILE = "MODEL_CARD.md"
CARD_TAGS = {
    "ggm": ["discrete-diffusion", "glauber-generative-model"],
    "md4": ["discrete-diffusion", "masked-diffusion", "md4"],
    "blackout": ["discrete-diffusion", "blackout-diffusion"],
}


def space_requirements(requirements: str) -> str:
    """The project's runtime requirements for a Space: torch from the CPU index, gradio left to sdk_version."""
    kept = [line for line in requirements.splitlines() if line.strip() and not line.startswith(("#", "gradio=="))]
    return SPACE_REQUIREMENTS_HEADER + "\n".join(kept) + "\n"


def space_files(root: Path = ROOT) -> dict[str, Path]:
    """Every file the Space needs, by its path in the Space repository."""
    files: dict[str, Path] = {"README.md": root / "README.md"}
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
    """The Hub's YAML metadata block for a checkpoint's card."""
    family = config.get("family", "ggm")
    kind = config.get("tokenizer", {}).get("kind", "")
    data = "jane-austen-novels" if kind == "bpe" else "dcgan-faces-64"
    tags = ["ggm-project", *CARD_TAGS.get(family, []), "text-generation" if kind == "bpe" else "image-generation"]
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


def stage_space(into: Path, root: Path = ROOT) -> Path:
    requirements = space_requirements((root / "requirements.txt").read_text())
    return stage(space_files(root), into, {"requirements.txt": requirements})


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
    parser.add_argument("--dry-run", action="store_true", help="list what would be uploaded, upload nothing")
    args = parser.parse_args(argv)
    if args.what == "model" and args.model is None:
        parser.error("model needs --model FOLDER")
    with tempfile.TemporaryDirectory() as tmp:
        staged = stage_space(Path(tmp)) if args.what == "space" else stage_model(args.model, Path(tmp))
        report(staged)
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

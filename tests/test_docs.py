"""Docs that stay true: every project file a docstring, comment or document cites exists."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITED = re.compile(r"(?<![\w/.])((?:ggm_core|ggm_app|training|tools|tests|docs|assets)/[\w./-]*\w)")
OPTIONAL = {"assets/faces/examples"}  # a face checkpoint's own example faces, when it has them (app.py)


def tracked_texts() -> list[str]:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    texts = [f for f in files if f.endswith((".py", ".md", ".toml")) or f == "Makefile"]
    return [
        f for f in texts if not f.startswith("tests/test_")
    ]  # a test's paths are data (some are missing on purpose)


def test_every_cited_project_path_exists():
    missing = []
    for name in tracked_texts():
        if not (ROOT / name).is_file():  # removed from the work tree but not yet from git
            continue
        for match in CITED.finditer((ROOT / name).read_text(encoding="utf-8")):
            path = match.group(1).rstrip(".")
            if not (ROOT / path).exists() and path not in OPTIONAL:
                missing.append(f"{name}: {path}")
    assert not missing, "\n".join(sorted(set(missing)))


def test_the_readme_map_of_the_code_matches_the_tree():
    """Every module of the four packages is named in the README's Layout block (a family's package and the
    denoisers by their folder: their own docstrings list their modules; training's benchmarks by ``benchmark_*.py``),
    and every file the block names exists."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    packages = ("ggm_core", "ggm_app", "training", "tools")
    modules = [p for package in packages for p in (ROOT / package).rglob("*.py") if p.name != "__init__.py"]
    by_folder = {"md4", "blackout", "denoisers"}
    assert {f"{name}/" for name in by_folder} | {"ggm/", "tokenizers/"} <= set(re.findall(r"\w+/", block))
    unnamed = [
        str(path.relative_to(ROOT))
        for path in modules
        if path.parent.name not in by_folder
        and not re.search(rf"(?<![\w/]){re.escape(path.name)}", block)
        and not (path.parent.name == "training" and path.name.startswith("benchmark_") and "benchmark_*.py" in block)
    ]
    assert unnamed == [], f"modules the README's Layout does not name: {unnamed}"
    named = set(re.findall(r"(?<![\w/*])(\w+\.py)\b", block))
    missing = named - {p.name for p in modules} - {"app.py"}
    assert missing == set(), f"the Layout names files that do not exist: {missing}"

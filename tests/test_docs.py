"""Docs that stay true: every project file a docstring, comment or document cites exists."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITED = re.compile(r"(?<![\w/.])((?:ggm_core|ggm_app|training|tests|docs|assets)/[\w./-]*\w)")
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

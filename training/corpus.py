"""Text corpora as the training data reads them: one cleaned paragraph per line in train.txt and
val.txt (``python -m training.prepare_text`` prepares one from the command line).

The default corpus is Jane Austen's six novels from the Debian package r-cran-janeaustenr (read with `rdata`, no R
needed); one whole novel is held out for validation. A user corpus (.txt files) holds out every 20th paragraph
instead. The source "austen_all" (for the judge, which must know every novel's names and phrasing to score the
models fairly) reads all six novels and holds out every 20th block of 20 paragraphs.
"""

import hashlib
import json
import os
import re
import subprocess
import tempfile
import zlib
from pathlib import Path

from ggm_core.atomic import atomic_write_bytes

AUSTEN_NOVELS = (
    "emma",
    "mansfieldpark",
    "northangerabbey",
    "persuasion",
    "prideprejudice",
    "sensesensibility",
)
AUSTEN_DEB = "r-cran-janeaustenr"
AUSTEN_DATA = "usr/lib/R/site-library/janeaustenr/data"
HEADING = re.compile(r"(chapter|volume|book)\s+([0-9]+|[ivxlcdm]+)\.?", re.IGNORECASE)
FIRST_CHAPTER = re.compile(r"chapter\s+(1|i)\.?", re.IGNORECASE)
END_MATTER = re.compile(r"the end|finis|a note on the text", re.IGNORECASE)
VAL_EVERY = 20  # user corpora: every 20th paragraph (5%) goes to validation
VAL_BLOCK = 20  # austen_all: paragraphs held out together, so a held-out window reads as continuous prose
SOURCES = ("austen", "austen_all")


def default_cache_dir() -> Path:
    """`$GGM_CACHE`, else `~/.cache/ggm`."""
    return Path(os.environ.get("GGM_CACHE") or Path.home() / ".cache" / "ggm")


def paragraphs(lines: list[str]) -> list[str]:
    """Join wrapped lines into paragraphs and drop chapter/volume headings.

    A blank line ends a paragraph; text without any blank line is taken as one paragraph per line.
    Whitespace is collapsed to single spaces; a line ending in "--" joins the next without a space.
    """
    lines = [line.strip() for line in lines if not HEADING.fullmatch(line.strip())]
    if "" not in lines:
        return [" ".join(line.split()) for line in lines if line]
    out, current = [], ""
    for line in lines + [""]:
        if line:
            sep = "" if not current or current.endswith("--") else " "
            current += sep + line
        elif current:
            out.append(" ".join(current.split()))
            current = ""
    return out


def austen_body(lines: list[str]) -> list[str]:
    """Keep a novel's text from its first chapter heading up to its end marker ("THE END", "Finis")."""
    start = next(i for i, line in enumerate(lines) if FIRST_CHAPTER.fullmatch(line.strip()))
    end = next((i for i, line in enumerate(lines) if END_MATTER.fullmatch(line.strip())), len(lines))
    return lines[start:end]


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def load_austen() -> dict[str, list[str]]:
    """Download and unpack r-cran-janeaustenr; return {novel: raw lines}."""
    import rdata

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        download = ["apt-get", "download", AUSTEN_DEB]
        try:
            done = _run(download, tmp)
            if done.returncode != 0:  # most often: no package lists yet
                _run(["apt-get", "update"], tmp)
                done = _run(download, tmp)
        except FileNotFoundError as e:
            raise RuntimeError(
                "apt-get not found: the Austen corpus needs Debian/Ubuntu; use --files or --folder"
            ) from e
        if done.returncode != 0:
            raise RuntimeError(f"apt-get download {AUSTEN_DEB} failed:\n{done.stderr}")
        deb = next(tmp.glob(f"{AUSTEN_DEB}_*.deb"))
        subprocess.run(["dpkg", "-x", str(deb), str(tmp / "x")], check=True)
        data = tmp / "x" / AUSTEN_DATA
        # Rdata.rdx: gzip'd index {name: [offset, length]}; Rdata.rdb: 4 bytes then a zlib stream at each offset.
        index = rdata.conversion.convert(rdata.parser.parse_data((data / "Rdata.rdx").read_bytes(), extension=".rds"))
        rdb = (data / "Rdata.rdb").read_bytes()
        novels = {}
        for name in AUSTEN_NOVELS:
            offset, length = (int(x) for x in index["variables"][name])
            blob = zlib.decompress(rdb[offset + 4 : offset + length])
            novels[name] = [str(s) for s in rdata.conversion.convert(rdata.parser.parse_data(blob, extension=".rds"))]
    return novels


def corpus_fingerprint(paths: list[Path]) -> str:
    """SHA-256 of the files' resolved paths and contents: a changed, added or removed file changes it."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(Path(path).resolve()).encode() + b"\0" + Path(path).read_bytes() + b"\0")
    return digest.hexdigest()


def read_user_files(paths: list[Path]) -> list[str]:
    """Paragraphs of UTF-8 text files, in the given order."""
    out = []
    for path in paths:
        try:
            out += paragraphs(Path(path).read_text(encoding="utf-8-sig").splitlines())
        except UnicodeDecodeError as e:
            raise ValueError(f"{path} is not UTF-8 text") from e
    return out


def _split_stats(paras: list[str], sources: list[str]) -> dict:
    return {
        "paragraphs": len(paras),
        "characters": sum(len(p) for p in paras),
        "words": sum(len(p.split()) for p in paras),
        "sources": sources,
    }


def _write_atomic(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def prepare_text(
    cache_dir=None,
    source="austen",
    files=None,
    folder=None,
    name=None,
    val_novel="persuasion",
    force=False,
) -> Path:
    """Write train.txt, val.txt and stats.json to `<cache_dir>/text/<name>` and return that folder.

    With `files` and/or `folder` (all *.txt below it, sorted) the corpus is the user's text and `name`
    defaults to "custom"; otherwise `source` names the built-in corpus ("austen", or "austen_all": all six novels,
    every ``VAL_EVERY``-th block of ``VAL_BLOCK`` paragraphs held out). Existing outputs are kept unless `force`.
    """
    user = bool(files or folder)
    if not user and source not in SOURCES:
        raise ValueError(f"unknown source {source!r}: use one of {SOURCES}, or give files/folder")
    if not user and val_novel not in AUSTEN_NOVELS:
        raise ValueError(f"val_novel must be one of {AUSTEN_NOVELS}, not {val_novel!r}")
    out = Path(cache_dir or default_cache_dir()) / "text" / (name or ("custom" if user else source))
    outputs = [out / "train.txt", out / "val.txt", out / "stats.json"]
    paths = [Path(f) for f in files or []] + (sorted(Path(folder).rglob("*.txt")) if folder else [])
    if user and not paths:
        raise ValueError(f"no .txt files found in {folder}")
    fingerprint = corpus_fingerprint(paths) if user else source
    if not force and all(p.exists() for p in outputs):
        if json.loads((out / "stats.json").read_text()).get("fingerprint", source) == fingerprint:
            print(f"{out} already prepared (use --force to redo)")
            return out
        print(f"{out}: the corpus changed since it was prepared; preparing it again")

    if user:
        paras = read_user_files(paths)
        if len(paras) < VAL_EVERY:
            raise ValueError(f"need at least {VAL_EVERY} paragraphs, found {len(paras)}")
        train = [p for i, p in enumerate(paras) if i % VAL_EVERY != VAL_EVERY - 1]
        val = paras[VAL_EVERY - 1 :: VAL_EVERY]
        train_src = val_src = [str(p) for p in paths]
    elif source == "austen_all":
        paras = [p for v in load_austen().values() for p in paragraphs(austen_body(v))]
        held = [i // VAL_BLOCK % VAL_EVERY == VAL_EVERY - 1 for i in range(len(paras))]
        train = [p for p, h in zip(paras, held, strict=True) if not h]
        val = [p for p, h in zip(paras, held, strict=True) if h]
        train_src = val_src = list(AUSTEN_NOVELS)
    else:
        novels = {k: paragraphs(austen_body(v)) for k, v in load_austen().items()}
        train_src = [k for k in AUSTEN_NOVELS if k != val_novel]
        val_src = [val_novel]
        train = [p for k in train_src for p in novels[k]]
        val = novels[val_novel]

    stats = {
        "name": out.name,
        "source": "files" if user else source,
        "fingerprint": fingerprint,
        "train": _split_stats(train, train_src),
        "val": _split_stats(val, val_src),
    }
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(out / "train.txt", "\n".join(train) + "\n")
    _write_atomic(out / "val.txt", "\n".join(val) + "\n")
    _write_atomic(out / "stats.json", json.dumps(stats, indent=2) + "\n")
    return out

"""Publishing to the Hub, checked offline: exactly what a Space and a model repository would receive, that the
Space's file set starts the app on its own with the Space's settings, and how Hub ids are told from paths."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import huggingface_hub
import pytest

from ggm_core.checkpoint import CheckpointError, resolve_checkpoint
from training.publish_hub import HARDWARE, MAX_FILE_MB, SPACE_MODELS, space_files, stage_model, stage_space

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "hardware, python, torch_pin, index, spaces",
    [("zero-gpu", "3.12", "torch==2.11.0", False, True), ("cpu-basic", "3.11", "torch==2.13.0", True, False)],
)
def test_each_hardware_gets_its_python_torch_and_packages(tmp_path, hardware, python, torch_pin, index, spaces):
    staged = stage_space(tmp_path / "space", hardware)
    front = (staged / "README.md").read_text().split("---")[1]
    assert f'python_version: "{python}"' in front and front.count("python_version") == 1
    assert f"suggested_hardware: {HARDWARE[hardware].flavour}" in front
    requirements = (staged / "requirements.txt").read_text().splitlines()
    assert torch_pin in requirements and len([r for r in requirements if r.startswith("torch==")]) == 1
    assert (requirements[0] == "--extra-index-url https://download.pytorch.org/whl/cpu") == index
    assert ("spaces==0.51.3" in requirements) == spaces and not [r for r in requirements if r.startswith("gradio==")]
    body = (staged / "README.md").read_text().split("---", 2)[2]
    assert body == (ROOT / "README.md").read_text().split("---", 2)[2]  # the README itself, whole


def test_the_space_gets_the_app_its_library_and_default_checkpoints_only(tmp_path):
    files = space_files()
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    code = {f for f in tracked if f.startswith(("ggm_app/", "ggm_core/")) or f == "app.py"}
    assert code <= set(files)
    for model in SPACE_MODELS:
        assert f"{model}/model.safetensors" in files and f"{model}/config.json" in files
    assert not [f for f in files if f.startswith(("training/", "tests/", "runs/")) or "__pycache__" in f]
    staged = stage_space(tmp_path / "space")
    sizes = {p: p.stat().st_size for p in staged.rglob("*") if p.is_file()}
    assert max(sizes.values()) < MAX_FILE_MB * 2**20 and sum(sizes.values()) < 60 * 2**20
    front = (staged / "README.md").read_text().split("---")[1]
    assert "sdk: gradio" in front and "app_file: app.py" in front and "sdk_version:" in front
    assert (staged / "requirements.txt").is_file()


def test_the_readme_states_the_space_file_set_as_it_is():
    readme = (ROOT / "README.md").read_text()
    count, megabytes = re.search(r"what the Space would get: (\d+) files, ([\d.]+) MB", readme).groups()
    files = space_files()
    assert int(count) == len(files) + 2  # and the README and requirements.txt written for the Space
    assert abs(float(megabytes) - sum(p.stat().st_size for p in files.values()) / 2**20) < 0.2
    number = ["zero", "one", "two", "three", "four", "five", "six", "seven"][len(SPACE_MODELS)]
    assert f"the {number} default checkpoints" in readme


def test_a_model_repository_shows_its_card_under_the_hub_header(tmp_path):
    staged = stage_model(ROOT / "assets" / "faces", tmp_path / "model")
    names = sorted(p.name for p in staged.iterdir())
    assert "MODEL_CARD.md" not in names and {"README.md", "config.json", "model.safetensors"} <= set(names)
    card = (staged / "README.md").read_text()
    header, body = card.split("---\n", 2)[1:]
    assert "library_name: ggm" in header and "license: mit" in header and "- dcgan-faces-64" in header
    assert "- glauber-generative-model" in header
    assert body == "\n" + (ROOT / "assets" / "faces" / "MODEL_CARD.md").read_text()  # the card itself, whole


def free_port(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.slow
def test_the_staged_space_starts_with_the_space_settings(tmp_path):
    assert free_port(7860), "port 7860 (the Space's) is taken on this machine"
    staged = stage_space(tmp_path / "space")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(SYSTEM="spaces", HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False")
    app = subprocess.Popen([sys.executable, "app.py"], cwd=staged, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        deadline, page = time.time() + 180, ""
        while time.time() < deadline and app.poll() is None:
            try:
                page = urllib.request.urlopen("http://127.0.0.1:7860/", timeout=5).read().decode()
                break
            except OSError:
                time.sleep(1)
        assert "Glauber Generative Model" in page, app.stdout.read() if app.poll() is not None else "no page"
    finally:
        app.terminate()
        app.wait(30)


def test_hub_ids_revisions_and_mistyped_paths(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda **kw: calls.append(kw) or str(tmp_path))
    assert resolve_checkpoint("someone/ggm-faces@v1") == tmp_path
    assert resolve_checkpoint("someone/ggm-faces") == tmp_path
    assert calls == [
        {"repo_id": "someone/ggm-faces", "revision": "v1"},
        {"repo_id": "someone/ggm-faces", "revision": None},
    ]
    monkeypatch.chdir(ROOT)
    with pytest.raises(CheckpointError, match="assets/ exists here"):
        resolve_checkpoint("assets/facse")
    assert len(calls) == 2  # no Hub request for the mistyped local path

"""The GPU plan (tools/gpu_plan.py) end to end on this CPU at its smoke size: every run trains, checkpoints
and exports, the packed files fit what the device tool brings back, and unpacked they load."""

import pytest

from ggm_core import load_model
from tools.gpu_plan import PACK_LIMIT, RUNS, main
from training.judge import load_judge


@pytest.mark.slow
def test_the_gpu_plan_runs_packs_and_unpacks_at_smoke_size(corpus, tmp_path, monkeypatch, random_faces):
    monkeypatch.setenv("GGM_CACHE", str(tmp_path / "cache"))
    faces = random_faces
    out, packed, back = tmp_path / "gpu", tmp_path / "packed", tmp_path / "back"
    main(["--smoke", "--minutes", "2", "--out", str(out), "--corpus", str(corpus / "book.txt"),
          "--faces", str(faces), "--pack", str(packed)])  # fmt: skip
    files = sorted(packed.glob("*.tar"))
    assert [f.stem for f in files] == sorted(r.name for r in RUNS)
    assert len(files) <= 8 and all(f.stat().st_size <= PACK_LIMIT for f in files)
    main(["--unpack", str(packed), "--out", str(back)])
    for run in RUNS:
        folder = back / run.name / "model"
        model = load_judge(folder) if run.name == "judge" else load_model(folder)
        assert model is not None and (back / run.name / "checkpoint" / "record.json").is_file()
    assert load_model(back / "faces_ggm" / "model").refines  # the plan's face GGM learns the clean context
    main(["--smoke", "--minutes", "2", "--out", str(out), "--corpus", str(corpus / "book.txt"),
          "--faces", str(faces), "--only", "text_ggm"])  # fmt: skip
    assert "resumed from" in (out / "text_ggm.log").read_text()  # started again, a run resumes

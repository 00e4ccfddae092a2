"""The app's run session (ggm_app.session) driven without a server: streaming, Stop, side-by-side runs,
"noise it", MD4 through the same path, and the tab views and planners."""

import threading
import time

import numpy as np
import pytest
import torch
from app_checkpoints import make_blackout_checkpoint, make_face_checkpoint, make_md4_checkpoint, make_text_checkpoint
from PIL import Image

from ggm_app import faces
from ggm_app import text as textui
from ggm_app.session import CHANGED, KNOWN, NOISE, SETTLED, RunSession, RunSettings, run_side_by_side
from ggm_core import load_model


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("session")
    text = make_text_checkpoint(root / "text")
    face = make_face_checkpoint(root / "face")
    return {
        "ggm": load_model(text),
        "md4": load_model(make_md4_checkpoint(root / "md4", text)),
        "face": load_model(face),
        "md4_face": load_model(make_md4_checkpoint(root / "md4_face", face)),
        "blackout": load_model(make_blackout_checkpoint(root / "blackout")),
    }


def exact(model, seed=0):
    return RunSettings.clean(model, {}, 1.0, 1.0, seed)


@pytest.mark.parametrize("family", ["ggm", "md4"])
def test_a_run_streams_frames_then_a_final_one(models, family):
    model = models[family]
    session = RunSession(model, family, exact(model))
    frames = list(session.frames())
    assert len(frames) >= 2 and frames[-1].final and not any(f.final for f in frames[:-1])
    assert session.finished and not session.running
    assert set(np.unique(frames[-1].states)) == {SETTLED}
    overhead = model.schedule.sweeps if family == "ggm" else 0  # the two-sided A-stream pass per sweep
    assert len(session.trajectory) == session.trajectory.nfe[-1] + 1 - overhead
    assert "**exact**" in session.readout and session.readout.endswith("seed 0")


def test_md4_starts_masked_and_shows_masks(models):
    model = models["md4"]
    session = RunSession(model, "md4", exact(model))
    first = next(session.frames())
    assert (first.tokens == model.mask_id).all() and (first.states == NOISE).all()
    pieces = textui.token_pieces(model.tokenizer, first.tokens, np.zeros(model.seq_len, bool))
    assert set(pieces) == {textui.MASK_PIECE}


def test_the_same_seed_gives_the_same_sample_in_a_session_and_in_the_library(models):
    model = models["ggm"]
    session = RunSession(model, "ggm", exact(model, seed=5))
    *_, final = session.frames()
    library = next(iter(reversed(list(model.sample(seed=5))))).tokens[0].numpy()
    assert np.array_equal(final.tokens, library)


def test_stop_keeps_what_ran_and_sends_no_final_frame(models):
    model = models["ggm"]
    session = RunSession(model, "ggm", exact(model))
    frames = []
    for frame in session.frames():
        frames.append(frame)
        if len(frames) == 3:
            assert session.stop() is True
    assert len(frames) == 3 and not frames[-1].final
    assert session.stopped and not session.finished and not session.running and session.stop() is False
    assert 0 < len(session.trajectory) < model.seq_len * model.schedule.sweeps


def sampler_threads(session: RunSession) -> list[threading.Thread]:
    """The session's own sampling thread, if it is alive (other sessions of the test process are not counted)."""
    return [t for t in threading.enumerate() if t.name == f"sampler-{session.name}-{id(session):x}"]


def test_the_chain_samples_on_while_the_caller_holds_a_frame(models):
    """Rendering a frame does not hold the sampler up: while the caller sits on the first frame, the chain's
    events keep arriving; closing the stream stops the run and ends its thread."""
    model = models["ggm"]
    session = RunSession(model, "ggm", exact(model))
    frames = session.frames()
    next(frames)
    deadline = time.perf_counter() + 10
    while len(session.trajectory) < 3 and time.perf_counter() < deadline:
        time.sleep(0.01)
    assert len(session.trajectory) >= 3  # recorded without the caller asking for another frame
    frames.close()
    assert not session.running and not sampler_threads(session)


def slow_down(monkeypatch, model, seconds: float) -> None:
    """Make every network call of ``model``'s sampler take ``seconds`` longer."""
    real = model.sample

    def slow(**kwargs):
        for ev in real(**kwargs):
            time.sleep(seconds)
            yield ev

    monkeypatch.setattr(model, "sample", slow)


def test_the_frame_stream_sleeps_while_a_network_call_runs(models, monkeypatch):
    """A slow network call leaves the caller waiting for the next event, not polling: about one wait a frame."""
    model = models["ggm"]
    slow_down(monkeypatch, model, 0.03)
    session = RunSession(model, "ggm", RunSettings.clean(model, {"sweeps": 1}, seed=0))
    waits, wait = [], session._changed.wait

    def counted(timeout=None):
        waits.append(timeout)
        return wait(timeout)

    monkeypatch.setattr(session._changed, "wait", counted)
    frames = list(session.frames())
    assert session.finished and frames[-1].final
    assert len(waits) <= 3 * len(session.trajectory), (len(waits), len(session.trajectory))


def test_stop_wakes_a_frame_stream_at_once(models, monkeypatch):
    model = models["ggm"]
    slow_down(monkeypatch, model, 0.5)
    session = RunSession(model, "ggm", exact(model))
    frames = session.frames()
    next(frames)
    threading.Timer(0.1, session.stop).start()
    began = time.perf_counter()
    rest = list(frames)
    assert session.stopped and not any(frame.final for frame in rest)
    assert time.perf_counter() - began < 1.5 and not sampler_threads(session)


def test_a_sampler_error_reaches_the_caller(models, monkeypatch):
    model = models["ggm"]
    real = model.sample

    def failing(**kwargs):
        stream = real(**kwargs)
        yield next(stream)
        yield next(stream)
        raise RuntimeError("the network broke")

    monkeypatch.setattr(model, "sample", failing)
    session = RunSession(model, "ggm", exact(model))
    with pytest.raises(RuntimeError, match="the network broke"):
        list(session.frames())
    assert session.stopped and not session.finished and not sampler_threads(session)


def test_infill_keeps_known_tokens_and_says_clamping_is_approximate(models):
    model = models["ggm"]
    plan = textui.plan_run("infill", ["Emma [4] rich", False], model, exact(model))
    session = RunSession(model, "ggm", exact(model), plan.known, plan.known_tokens)
    *_, final = session.frames()
    assert (final.tokens[plan.known] == plan.known_tokens.numpy()[plan.known]).all()
    assert (final.states[plan.known] == KNOWN).all()
    assert "approximate" in session.readout and "clamped" in session.readout
    md4 = models["md4"]
    session = RunSession(md4, "md4", exact(md4), plan.known, plan.known_tokens)
    *_, final = session.frames()
    assert "**exact**" in session.readout  # MD4's clamping is exact


def test_side_by_side_runs_match_solo_runs(models):
    solo = {}
    for family in ("ggm", "md4"):
        s = RunSession(models[family], family, exact(models[family], seed=3))
        *_, last = s.frames()
        solo[family] = last.tokens
    sessions = [RunSession(models[f], f, exact(models[f], seed=3)) for f in ("ggm", "md4")]
    updates = list(run_side_by_side(sessions))
    assert len(updates) >= 2 and all(s.finished for s in sessions)
    for family, s in zip(("ggm", "md4"), sessions, strict=True):
        assert np.array_equal(s.trajectory.tokens[-1], solo[family])


def test_side_by_side_stops_every_run(models):
    """Stop at the first update ends every column before its end (each network call is made to last 20 ms: a tiny
    model's run, sampled in a thread of its own, once ended before a later update on a busy host)."""
    slow = [models[f].network.register_forward_pre_hook(lambda *_: time.sleep(0.02)) for f in ("ggm", "md4")]
    try:
        sessions = [RunSession(models[f], f, exact(models[f])) for f in ("ggm", "md4")]
        for _ in run_side_by_side(sessions, fps=1e9):
            for s in sessions:
                s.stop()
    finally:
        for hook in slow:
            hook.remove()
    assert all(s.stopped and not s.finished for s in sessions)
    assert all(s.trajectory.nfe[-1] < s.model.network_calls(s.n_free, **s.settings.knobs) for s in sessions)


def test_budgets_map_to_each_familys_knobs(models):
    ggm, md4 = models["ggm"], models["md4"]
    for model in (ggm, md4):
        settings = RunSettings.for_budget(model, 12, model.seq_len)
        session = RunSession(model, "m", settings)
        list(session.frames())
        assert session.trajectory.nfe[-1] <= 12 and "approximate" in session.readout
        assert RunSettings.for_budget(model, 0, model.seq_len).knobs == model.exact_knobs()


def test_noise_it_dissolves_then_brings_back(models):
    model = models["ggm"]
    x0, notices = textui.noise_input("Emma Woodhouse, handsome, clever", model.tokenizer, model.seq_len)
    assert x0.shape == (model.seq_len,) and any("repeated" in n for n in notices)
    session = RunSession(model, "ggm", exact(model), noise_from=x0)
    frames = list(session.frames())
    forward = [f for f in frames if f.forward]
    assert forward and np.array_equal(forward[0].tokens, x0.numpy()) and (forward[0].states == SETTLED).all()
    assert frames[-1].final and not frames[-1].forward
    steps = model.schedule.num_steps
    assert session.trajectory.nfe[steps] == 0  # the forward process makes no network call
    assert session.trajectory.nfe[-1] == steps + model.schedule.sweeps  # then the exact two-sided chain
    assert any(CHANGED in session.trajectory.states[i] for i in range(1, steps + 1))


def test_noise_it_with_no_text_is_refused(models):
    plan = textui.plan_run("noise", ["  [___] ", False], models["ggm"], exact(models["ggm"]))
    assert plan.error and "Type some text" in plan.error


def test_face_views_and_plans(models):
    face, md4 = models["face"], models["md4_face"]
    image = np.full((64, 64, 3), 200, np.uint8)
    editor = faces.editor_value(image)
    assert "empty" in faces.plan_run("infill", [editor], face).error
    assert "No image" in faces.plan_run("infill", [None], face).error
    layer = np.zeros((256, 256, 4), np.uint8)
    layer[:64, :64, 3] = 255
    plan = faces.plan_run("infill", [editor | {"layers": [layer]}], face)
    assert plan.known.sum() == 256 - 16 and plan.extra["image"].shape == (64, 64, 3)
    masked = np.full(256, md4.mask_id)
    masked[:16] = 3
    picture = faces.decode_canvas(md4.tokenizer, masked)
    assert (picture[16:] == faces.MASKED_GREY).all() and picture.shape == (64, 64, 3)
    belief = torch.linspace(0, 1, 256)
    shown = faces.FaceView().belief(face, np.zeros(256, np.int64), belief, {})  # a PNG in Gradio's cache
    assert np.asarray(Image.open(shown)).shape == (256, 256, 3)
    assert faces.plan_run("noise", [editor], face).noise_from.shape == (256,)


def test_blackout_grows_a_face_from_black_and_repaints_only_brushed_pixels(models):
    model = models["blackout"]
    settings = RunSettings.clean(model, {"bridge_steps": 8}, 0.5, 0.5, 0)  # temperature and top-p do not apply
    assert settings.temperature == 1.0 and settings.top_p == 1.0
    session = RunSession(model, "blackout", settings)
    frames = list(session.frames())
    assert (frames[0].tokens == 0).all() and session.trajectory.nfe[-1] == 8
    assert "8 of the 1000 trained steps" in session.readout
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    layer = np.zeros((256, 256, 4), np.uint8)
    layer[100:140, 60:200, 3] = 255
    plan = faces.plan_run("infill", [faces.editor_value(image) | {"layers": [layer]}], model)
    assert any("pixels, not token cells" in n for n in plan.notes)
    session = RunSession(model, "blackout", settings, plan.known, plan.known_tokens, plan.extra)
    *_, final = session.frames()
    shown = faces.FaceView().picture(model, final.tokens, session.trajectory.extra)
    brushed = faces.downscale_mask(faces.layers_mask([layer], (256, 256)))
    assert np.array_equal(shown[~brushed], image[~brushed])  # the rest of the picture is the user's, exactly
    assert "replaced by their own forward path" in session.readout
    noised = RunSession(model, "blackout", settings, noise_from=plan.known_tokens)
    frames = list(noised.frames())
    assert frames[0].forward and frames[-1].final and noised.trajectory.nfe[-1] == 8


def test_refinement_sweeps_stream_after_the_chain_and_say_so(models):
    """The app's text model was trained with the clean context: R refinement sweeps follow the chain, the progress
    line names them, the known tokens stay, and the belief of a refinement frame reads the clean context."""
    model = models["ggm"]
    known = np.zeros(model.seq_len, bool)
    known[:4] = True
    settings = RunSettings.clean(model, {"refine_sweeps": 2}, 1.0, 1.0, 3)
    session = RunSession(model, "ggm", settings, known, torch.arange(model.seq_len))
    lines = [f.progress for f in session.frames()]
    assert any("refinement sweep 2 of 2" in line for line in lines), lines[-3:]
    assert session.trajectory.sweeps[-1] == -2 and list(session.trajectory.tokens[-1][:4]) == [0, 1, 2, 3]
    assert "2 refinement sweep(s)" in session.readout
    tokens = torch.from_numpy(session.trajectory.tokens[-1]).long()
    clean, first_sweep = model.belief(tokens, -2), model.belief(tokens, 0)
    assert clean.shape == (model.seq_len,) and not torch.allclose(clean, first_sweep)


def test_a_fill_held_to_its_seams_says_so_in_the_tabs_words(models):
    """The text tab's seam restriction is an approximation the readout names in the tab's words (ggm_app.text),
    not the library's generic ones."""
    model = models["ggm"]
    plan = textui.plan_run("infill", ["Emma was [3] and rich.", False], model, exact(model))
    assert plan.allowed is not None and plan.restriction == textui.SEAM_RESTRICTION
    session = RunSession(model, "ggm", exact(model), plan.known, plan.known_tokens, plan.extra, allowed=plan.allowed,
                         restriction=plan.restriction)  # fmt: skip
    *_, final = session.frames()
    assert final.final and textui.SEAM_RESTRICTION in session.readout and "set of tokens" not in session.readout
    assert model.approximations(restricted=True) == ["some positions held to a set of tokens"]

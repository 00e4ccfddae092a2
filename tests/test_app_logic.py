"""Unit tests of the app's UI logic (ggm_app/): gap syntax, infill plans, token states, masks, blending, exports."""

import json
import re
import threading
import time

import numpy as np
import pytest
import torch
from app_checkpoints import make_face_checkpoint, make_text_checkpoint
from PIL import Image

from ggm_app import faces
from ggm_app import text as textui
from ggm_app.common import COLOR_MAP, load_slot, split_specs
from ggm_app.session import (
    CHANGED,
    KNOWN,
    NOISE,
    SETTLED,
    FramePacer,
    RunSession,
    RunSettings,
    StateTracker,
    Trajectory,
    clean_seed,
    next_seed,
    readout,
)
from ggm_core import image_infill, load_model, text_infill

OKABE_ITO = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}


@pytest.fixture(scope="module")
def text_model(tmp_path_factory):
    return load_model(make_text_checkpoint(tmp_path_factory.mktemp("logic") / "text"))


@pytest.fixture(scope="module")
def tok(text_model):
    return text_model.tokenizer


# ---------------------------------------------------------------------------------------------- gap syntax
def test_parse_gaps_default_and_numbered():
    segs, notices = text_infill.parse_gaps("A [___] b [5] c [ 3 ] d [_]", default_gap=7)
    assert [(s.text, s.length) for s in segs] == [
        ("A ", 0),
        ("", 7),
        (" b ", 0),
        ("", 5),
        (" c ", 0),
        ("", 3),
        (" d ", 0),
        ("", 7),
    ]
    assert notices == []


def test_parse_gaps_adjacent_gaps_and_gap_only():
    segs, _ = text_infill.parse_gaps("[2][3]")
    assert [s.length for s in segs] == [2, 3]


@pytest.mark.parametrize(
    "text, kept, pattern",
    [
        ("see [abc] here", "see [abc] here", r"\[abc\].*not a gap"),
        ("note [1.5] x", "note [1.5] x", r"not a gap"),
        ("a [__ _] b", "a [__ _] b", r"not a gap"),
        ("open [ bracket", "open [ bracket", r"unmatched"),
        ("close ] bracket", "close ] bracket", r"unmatched"),
        ("two\n[lines\n] x", "two\n[lines\n] x", r"unmatched"),
    ],
)
def test_parse_gaps_wrong_syntax_is_kept_as_text_with_a_notice(text, kept, pattern):
    segs, notices = text_infill.parse_gaps(text)
    assert all(not s.is_gap for s in segs)
    assert "".join(s.text for s in segs) == kept
    assert any(re.search(pattern, n) for n in notices), notices


def test_parse_gaps_zero_is_dropped_and_long_is_clamped():
    segs, notices = text_infill.parse_gaps("a [0] b [500] c", max_gap=32)
    assert [s.length for s in segs if s.is_gap] == [32]
    assert "".join(s.text for s in segs) == "a  b  c"
    assert any("[0]" in n and "removed" in n for n in notices)
    assert any("[500]" in n and "32" in n for n in notices)


# ---------------------------------------------------------------------------------------------- infill plans
def test_plan_known_tokens_are_the_segments(tok):
    plan = text_infill.plan_infill("It is [3] a truth [___].", tok, 32, default_gap=4, heal_spaces=False)
    assert len(plan.tokens) == len(plan.known) == 32 and plan.error is None and plan.space_first == []
    ids_a, ids_b, ids_c = tok.encode("It is "), tok.encode(" a truth "), tok.encode(".")
    n = len(ids_a) + 3 + len(ids_b) + 4 + len(ids_c)
    assert plan.known[:n] == [True] * len(ids_a) + [False] * 3 + [True] * len(ids_b) + [False] * 4 + [True]
    assert all(not k for k in plan.known[n:])  # the rest is generated (a continuation), with a notice
    assert any("writes on after your text" in m for m in plan.remarks)
    known_ids = [t for t, k in zip(plan.tokens, plan.known, strict=True) if k]
    assert known_ids == ids_a + ids_b + ids_c
    assert plan.n_free == 32 - len(known_ids)


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_plan_empty_text_generates_from_nothing(tok, text):
    plan = text_infill.plan_infill(text, tok, 32)
    assert plan.error is None and not any(plan.known) and plan.n_free == 32
    assert "generating from nothing" in plan.notices[0]


def test_plan_overlong_text_is_cut_with_a_notice(tok):
    text = "Emma [2] had a comfortable home and happy disposition, and lived nearly twenty-one years in the world."
    assert len(tok.encode(text)) > 32
    plan = text_infill.plan_infill(text, tok, 32)
    assert len(plan.tokens) == 32 and plan.error is None
    (notice,) = [n for n in plan.notices if "context" in n]
    assert "context is 32" in notice and "Kept the first 32" in notice and "dropped" in notice
    assert "disposition" in notice or "…" in notice


def test_plan_gap_beyond_the_context_is_an_error(tok):
    plan = text_infill.plan_infill("Emma Woodhouse, handsome, clever, and rich, with a comfortable home [4]", tok, 8)
    assert plan.error and "beyond" in plan.error


def test_plan_without_gap_and_without_room_has_nothing_to_do(tok):
    plan = text_infill.plan_infill("Emma Woodhouse, handsome, clever, and rich", tok, 4)
    assert plan.error and "[___]" in plan.error


def test_plan_non_ascii_known_text_is_shown_exactly(tok):
    text = "Café, déjà vu [3] 日本語 — ünïcödé 🙂 [2] fin."
    plan = text_infill.plan_infill(text, tok, 96, heal_spaces=False)
    assert not any("context" in n for n in plan.notices)
    segments = [s.text for s in text_infill.parse_gaps(text)[0] if not s.is_gap]
    # Fill the free positions with tokens that are half characters: the known text must still show intact.
    (space,) = tok.encode(" ")
    half = next(i for i in range(tok.vocab_size) if tok.pieces([i, space]) == ["", "\ufffd "])  # a UTF-8 lead byte
    tokens = [t if k else half for t, k in zip(plan.tokens, plan.known, strict=True)]
    assert textui.known_texts(tok, tokens, plan.known) == segments
    frame = textui.frame_text(tok, tokens, np.where(plan.known, KNOWN, SETTLED), plan.known)
    known_runs, run = [], ""
    for piece, label in frame:
        if label == "known":
            run += piece
        elif run:
            known_runs.append(run)
            run = ""
    assert known_runs + ([run] if run else []) == segments


def test_a_byte_that_is_no_whole_character_shows_its_value_not_a_replacement_sign(tok):
    """Noise often holds a token that is half a character: the frame names its byte (\\xe2), never "�"."""
    (space,) = tok.encode(" ")
    half = next(i for i in range(tok.vocab_size) if tok.pieces([i, space]) == ["", "\ufffd "])  # a UTF-8 lead byte
    tokens = [half, space, *tok.encode("Emma")]
    frame = textui.frame_text(tok, tokens, np.full(len(tokens), SETTLED), np.zeros(len(tokens), bool))
    shown = "".join(piece for piece, _ in frame)
    assert "\ufffd" not in shown and shown.startswith("\\x") and shown.endswith(" Emma")
    assert tok.decode(tokens) == "\ufffd Emma"  # decoding the text keeps the standard sign


# ---------------------------------------------------------------------------------------------- the seam
def test_a_space_before_a_gap_moves_into_the_gap(tok):
    plan = text_infill.plan_infill("It is [3] a truth [___].", tok, 32, default_gap=4)
    ids_a, ids_b = tok.encode("It is"), tok.encode(" a truth")
    assert plan.space_first == [len(ids_a), len(ids_a) + 3 + len(ids_b)]
    known_ids = [t for t, k in zip(plan.tokens, plan.known, strict=True) if k]
    assert known_ids == ids_a + ids_b + tok.encode(".")
    allowed = text_infill.allowed_tokens(plan, tok)
    starts = torch.tensor(tok.starting_with(b" "))
    assert torch.equal(allowed[plan.space_first[0]], starts) and allowed[plan.space_first[0] + 1].all()
    assert int(starts.sum()) < tok.vocab_size and tok.pieces([int(starts.nonzero()[0])])[0].startswith(" ")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("must be in want of a [3].", 1),  # after a space: healed
        ("a[3].", 0),  # no space: nothing to heal
        ("Pem[3]ley", 0),  # inside a word
        ("[2] [3] end", 1),  # adjacent gaps with one space between
        ("[3] start", 0),  # at the very start
        ("after an emoji 🙂 [3]", 1),
        ("日本 [3] ü", 1),
        ("two spaces  [3]", 1),  # one of them moves, the other stays typed
        ("a line\n[3]", 0),
        ("continued here ", 1),  # the continuation after the text is free too
    ],
)
def test_seam_rules_and_the_text_never_changes(tok, text, expected):
    plan = text_infill.plan_infill(text, tok, 32, default_gap=4)
    assert len(plan.space_first) == expected and not any(plan.known[p] for p in plan.space_first)
    allowed = text_infill.allowed_tokens(plan, tok)
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):  # any tokens the sampler may draw: the user's text comes back unchanged around them
        tokens = list(plan.tokens)
        for i, k in enumerate(plan.known):
            if not k:
                choices = allowed[i].nonzero().flatten() if allowed is not None else torch.arange(tok.vocab_size)
                tokens[i] = int(choices[torch.randint(len(choices), (1,), generator=gen)])
        shown = "".join(textui.token_pieces(tok, tokens, plan.known))
        pattern = "".join(".*" if s.is_gap else re.escape(s.text) for s in text_infill.parse_gaps(text, 4)[0])
        assert re.fullmatch(pattern + "(.|\n)*", shown, flags=re.S), (text, shown)


def test_frame_text_newline_replacement(tok):
    ids = tok.encode("a\nb")
    frame = textui.frame_text(tok, ids, [KNOWN] * len(ids), [True] * len(ids), newline="↵")
    assert "".join(p for p, _ in frame) == "a↵b"


# ---------------------------------------------------------------------------------------------- token states
def test_colour_states_and_palette():
    assert list(COLOR_MAP) == ["noise", "just changed", "settled", "known"]
    assert {c.upper() for c in COLOR_MAP.values() if c != "#D9D9D9"} <= OKABE_ITO
    assert len(set(COLOR_MAP.values())) == 4
    known = np.array([True, False, False, False])
    tr = StateTracker(known)
    assert tr.states().tolist() == [KNOWN, NOISE, NOISE, NOISE]
    tr.update((1,), final=False)  # e.g. GGM's earlier sweep: the token is drawn but not final
    assert tr.states((1,)).tolist() == [KNOWN, CHANGED, NOISE, NOISE]
    assert tr.states().tolist() == [KNOWN, NOISE, NOISE, NOISE]
    tr.update((1, 2), final=True)  # the final sweep: settled
    assert tr.states((2,)).tolist() == [KNOWN, SETTLED, CHANGED, NOISE]
    assert tr.states().tolist() == [KNOWN, SETTLED, SETTLED, NOISE]
    tr.update((0,), final=True)  # a known position stays known whatever happens
    assert tr.states((0,))[0] == KNOWN


def test_states_along_a_real_run(text_model):
    L = text_model.schedule.seq_len
    known = np.zeros(L, bool)
    known[:5] = True
    tr = StateTracker(known)
    for ev in text_model.sample(known_tokens=torch.arange(L) % 50, known=torch.from_numpy(known), seed=1):
        tr.update(ev.positions, ev.final)
        assert ev.final == (ev.sweep == 0) or not ev.positions  # GGM: the last sweep's draws are final
        s = tr.states(ev.positions)
        assert (s[:5] == KNOWN).all()
        assert all(s[p] == CHANGED for p in ev.positions)
    assert (tr.states()[5:] == SETTLED).all()


# ---------------------------------------------------------------------------------------------- settings, readout
def test_run_settings_exactness(text_model):
    trained = text_model.schedule.sweeps
    exact = RunSettings.clean(text_model, {"sweeps": trained, "positions_per_call": 1}, 1.0, 1.0, 3)
    assert exact.approximations(text_model) == []
    assert exact.approximations(text_model, clamped=True) == [text_model.clamping]  # GGM clamping: not exact
    knobs = {"sweeps": trained + 1, "positions_per_call": 4}
    approx = RunSettings.clean(text_model, knobs, 0.7, 0.9, 3).approximations(text_model)
    assert len(approx) == 4
    junk = RunSettings.clean(text_model, {"sweeps": None, "positions_per_call": "x"}, None, 7, -5)
    assert junk.knobs == {"sweeps": trained, "positions_per_call": 1, "refine_sweeps": 0}
    assert junk.top_p == 1.0 and junk.seed == 5
    refined = RunSettings.clean(text_model, {"refine_sweeps": 3}, 1.0, 1.0, 3)  # the app's text model refines
    assert refined.approximations(text_model) == []  # unconditionally the refined chain stays exact
    (reason,) = refined.approximations(text_model, clamped=True)
    assert "3 refinement sweep(s): exact only as the sweeps → ∞" in reason
    line = readout(130, 2.0, 100, [], seed=7, chain="heat-bath chain")
    assert "130 network calls" in line and "2.00 s" in line and "50 tokens/s" in line and "**exact** heat" in line
    assert line.endswith("seed 7")
    assert "approximate" in readout(10, 1.0, 5, ["temperature 0.7"], seed=0, chain="heat-bath chain")


def test_next_seed_moves_on_by_one_from_any_input():
    assert next_seed(0) == 1 and next_seed(41.0) == 42 and next_seed("9") == 10
    assert next_seed(None) == 1 and next_seed("junk") == 1 and next_seed(-5) == 6 and next_seed(float("inf")) == 1
    assert next_seed(2**53 - 1) == 0 and clean_seed(2**70 + 5) == 5 and clean_seed(-7) == 7  # typed back exactly


def test_a_stopped_run_is_exported_once_when_stop_and_the_run_ask_at_once(text_model, tmp_path):
    """Stop's handler and the run's handler both send a stopped run's outputs: one export between them."""
    from ggm_app.common import ModelSlot
    from ggm_app.controls import TabController
    from ggm_app.session import RunSession

    class SlowExport:
        calls = 0

        def export(self, traj, model, summary):
            SlowExport.calls += 1
            time.sleep(0.2)  # a face GIF takes about 0.6 s: long enough for the other handler to ask
            return tmp_path / f"export{SlowExport.calls}.gif"

    session = RunSession(text_model, "text", RunSettings.clean(text_model, {}))
    next(session.events())
    session.stop()
    tab = TabController(ModelSlot(), SlowExport(), None, None, None)
    results = []
    threads = [threading.Thread(target=lambda: results.append(tab._stopped(session))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert SlowExport.calls == 1
    assert [r["status"] for r in results] == [results[0]["status"]] * 2
    assert results[0]["status"].startswith("Stopped after ")
    assert [r["download"]["value"] for r in results] == [str(tmp_path / "export1.gif")] * 2


def test_frame_pacer_gives_enough_frames_on_a_fast_run():
    pacer = FramePacer(total_updates=1000, fps=0.001, min_frames=20)  # the clock never fires
    assert sum(pacer.due(u) for u in range(1, 1001)) == 20


def test_trajectory_index_and_subsample():
    traj = Trajectory()
    for i in range(10):
        traj.add(np.full(4, i), np.zeros(4), i)
    assert traj.index(None) == 9 and traj.index(-3) == 0 and traj.index(4.4) == 4 and traj.index("x") == 9
    idx = traj.subsample(4)
    assert idx[0] == 0 and idx[-1] == 9 and len(idx) <= 4


# ---------------------------------------------------------------------------------------------- masks and blending
def test_mask_to_cells_touch_rule():
    m = np.zeros((64, 64), bool)
    assert not image_infill.mask_to_cells(m).any()
    m[5, 9] = True  # one pixel → exactly its 4×4 cell (row 1, col 2)
    cells = image_infill.mask_to_cells(m)
    assert cells.sum() == 1 and cells[1, 2]
    m[:] = False
    m[3:5, 3:5] = True  # a 2×2 blob over a cell corner touches four cells
    assert image_infill.mask_to_cells(m).sum() == 4
    assert image_infill.mask_to_cells(np.ones((64, 64), bool)).all()


def test_display_mask_downscale_touches():
    big = np.zeros((256, 256), bool)
    big[101, 37] = True  # one display pixel → model pixel (25, 9)
    small = faces.downscale_mask(big, 64)
    assert small.sum() == 1 and small[25, 9]


def test_read_editor_from_display_scale_is_exact():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    value = faces.editor_value(image)
    layer = np.zeros((256, 256, 4), np.uint8)
    layer[40:44, 200:210, 3] = 153
    value["background"] = np.dstack([value["background"], np.full((256, 256), 255, np.uint8)])
    value["layers"] = [layer]
    got, mask = faces.read_editor(value)
    assert np.array_equal(got, image)
    assert mask.sum() == 1 * 3 and mask[10, 50:53].all()


def test_read_editor_without_image_raises_a_clear_error():
    for value in (None, {}, {"background": None, "layers": [], "composite": None}):
        with pytest.raises(faces.ImageInputError, match="No image"):
            faces.read_editor(value)


@pytest.mark.parametrize("shape", [(480, 640, 4), (700, 300, 3), (100, 100), (64, 64, 1), (2000, 3000, 3)])
def test_array_to_square_any_shape(shape):
    a = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    out = faces.array_to_square(a)
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8


def test_transparent_pixels_become_white():
    a = np.zeros((64, 64, 4), np.uint8)
    assert (faces.array_to_square(a) == 255).all()


def test_blend_keeps_outside_pixels_exactly():
    rng = np.random.default_rng(1)
    original = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    decoded = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    cells = np.zeros((16, 16), bool)
    cells[4:9, 3:7] = True
    alpha = image_infill.blend_alpha(cells)
    region = image_infill.cells_to_pixels(cells)
    assert (alpha[~region] == 0).all() and (alpha[region] > 0).all()
    assert alpha[16, 12] == 0.5 and alpha[18, 14] == 1.0  # the border ramps, the inside is the model's
    out = image_infill.compose(decoded, original, alpha)
    assert np.array_equal(out[~region], original[~region])
    assert np.array_equal(out[alpha == 1], decoded[alpha == 1])
    whole = image_infill.blend_alpha(np.ones((16, 16), bool))
    assert (whole == 1).all()
    edge = np.zeros((16, 16), bool)
    edge[0, 0] = True  # at the image border there is no ramp on the border side
    assert image_infill.blend_alpha(edge)[0, 0] == 1.0


def test_mask_view_tints_only_unknown_cells():
    image = np.full((64, 64, 3), 100, np.uint8)
    cells = np.zeros((16, 16), bool)
    cells[2, 3] = True
    view = faces.mask_view(image, cells)
    assert view.shape == (256, 256, 3)
    changed = (view != 100).any(-1)
    ys, xs = np.nonzero(changed)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (32, 47, 48, 63)


# ---------------------------------------------------------------------------------------------- image files
def _save(tmp_path, name, im: Image.Image, **kw):
    p = tmp_path / name
    im.save(p, **kw)
    return p


@pytest.mark.parametrize(
    "name, make",
    [
        ("grey.png", lambda: Image.new("L", (90, 60), 128)),
        ("palette.gif", lambda: Image.new("RGB", (50, 80), (200, 10, 10)).convert("P")),
        ("alpha.png", lambda: Image.new("RGBA", (64, 64), (0, 0, 255, 0))),
        ("grey_alpha.png", lambda: Image.new("LA", (64, 64), (0, 0))),
        ("deep.png", lambda: Image.fromarray(np.full((40, 40), 40000, np.uint16))),
        ("cmyk.jpg", lambda: Image.new("CMYK", (70, 70), (0, 255, 0, 0))),
        ("photo.webp", lambda: Image.new("RGB", (300, 200), (1, 2, 3))),
    ],
)
def test_load_image_file_modes(tmp_path, name, make):
    out = faces.load_image_file(_save(tmp_path, name, make()))
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    if name.startswith("alpha") or name.startswith("grey_alpha"):
        assert (out == 255).all()  # transparent → white


def test_load_image_file_huge_photo_is_fast_and_square(tmp_path):
    p = _save(tmp_path, "huge.jpg", Image.new("RGB", (6000, 4000), (10, 200, 30)), quality=50)
    out = faces.load_image_file(p)
    assert out.shape == (64, 64, 3) and abs(int(out[32, 32, 1]) - 200) < 8


def test_load_image_file_refuses_too_many_pixels(tmp_path, monkeypatch):
    monkeypatch.setattr(faces, "MAX_PIXELS", 1000)
    with pytest.raises(faces.ImageInputError, match="too large"):
        faces.load_image_file(_save(tmp_path, "big.png", Image.new("RGB", (100, 100))))


@pytest.mark.parametrize("content", [b"hello, not an image", b"", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"])
def test_load_image_file_non_images(tmp_path, content):
    p = tmp_path / "fake.png"
    p.write_bytes(content)
    with pytest.raises(faces.ImageInputError, match="fake.png"):
        faces.load_image_file(p)


# ---------------------------------------------------------------------------------------------- exports
def test_export_gif_is_animated(tmp_path):
    frames = [np.full((64, 64, 3), v, np.uint8) for v in (0, 80, 160, 240)]
    path = faces.export_gif(frames, tmp_path / "t.gif")
    with Image.open(path) as im:
        assert im.n_frames == 4 and im.size == (256, 256)


def test_export_html_is_self_contained(tmp_path, tok):
    known = np.array([True] * 3 + [False] * 5)
    traj = Trajectory(extra={"known": known})
    ids = tok.encode("</script><b>x")[:3]
    for i in range(6):
        traj.add(np.array(ids + [i + 40] * 5), np.array([KNOWN] * 3 + [NOISE] * 5), i)
    path = textui.export_html(traj, tok, tmp_path / "t.html", "title <x>", "summary")
    page = path.read_text(encoding="utf-8")
    assert page.count("</script>") == 1  # user text cannot close the script
    assert "title &lt;x&gt;" in page
    assert not re.search(r"(src|href)=\"https?:", page)  # no outside request
    data = json.loads(re.search(r"const D = (\{.*\});", page).group(1).replace("<\\/", "</"))
    assert len(data["frames"]) == 6 and data["frames"][0][0][1] == KNOWN


# ---------------------------------------------------------------------------------------------- checkpoints
def test_specs_from_flags_env_or_default():
    assert split_specs(["a,b", "c"], "env", "d") == (["a", "b", "c"], False)
    assert split_specs(None, "x, y", "d") == (["x", "y"], False)
    assert split_specs([], "", "d") == (["d"], True)
    assert split_specs(None, None, ["d", "e"]) == (["d", "e"], True)


def test_missing_default_is_reported_without_a_hub_lookup(tmp_path, monkeypatch):
    import huggingface_hub

    def boom(*a, **k):
        raise AssertionError("no Hub request for a default checkpoint")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", boom)
    slot = load_slot(["assets/no_such_model"], "bpe", is_default=True)
    assert not slot.models and "no checkpoint" in slot.errors[0]


def test_bad_checkpoints_are_explained(tmp_path):
    face = make_face_checkpoint(tmp_path / "faces")
    (tmp_path / "empty").mkdir()
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    for f in face.iterdir():
        (corrupt / f.name).write_bytes(f.read_bytes())
    (corrupt / "vq.safetensors").write_bytes(b"garbage")
    slot = load_slot([str(face), str(tmp_path / "empty"), str(corrupt)], "bpe")
    assert not slot.models and len(slot.errors) == 3
    assert "'vq'" in slot.errors[0] and "needs 'bpe'" in slot.errors[0]
    assert "config.json" in slot.errors[1]
    assert "vq.safetensors" in slot.errors[2]
    assert load_slot([str(face)], "vq").names == ["faces"]


def test_a_masked_diffusion_checkpoint_loads_into_its_tab(tmp_path):
    from app_checkpoints import make_md4_checkpoint

    text = make_text_checkpoint(tmp_path / "text")
    slot = load_slot([str(text), str(make_md4_checkpoint(tmp_path / "md4", text))], "bpe")
    assert slot.names == ["text", "md4"] and slot.models["md4"].family == "md4" and not slot.errors
    assert slot.pick("no such name")[0] == "text"


def test_the_cache_sweeper_removes_old_run_files_but_not_the_pages_own(tmp_path):
    from ggm_app.common import sweep_cache

    (tmp_path / "page").mkdir()
    (tmp_path / "page" / "example.webp").write_bytes(b"x")  # made before the page was served: stays
    time.sleep(0.02)
    served = time.time()
    time.sleep(0.02)
    for i in range(3):
        (tmp_path / f"run{i}").mkdir()
        (tmp_path / f"run{i}" / "image.png").write_bytes(b"x")
    assert sweep_cache(tmp_path, max_age_s=60, keep_before=served) == 0  # young run files stay
    time.sleep(0.05)
    assert sweep_cache(tmp_path, max_age_s=0.01, keep_before=served) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page"]  # emptied folders go too


def test_the_cache_sweeper_bounds_the_run_files_size_oldest_first(tmp_path):
    from ggm_app.common import sweep_cache

    (tmp_path / "page").mkdir()
    (tmp_path / "page" / "example.webp").write_bytes(b"x" * 5000)  # the page's own: neither counted nor removed
    time.sleep(0.02)
    served = time.time()
    for i in range(4):
        time.sleep(0.02)  # distinct creation times: run0 is the oldest
        (tmp_path / f"run{i}").mkdir()
        (tmp_path / f"run{i}" / "frame.png").write_bytes(b"x" * 1000)
    assert sweep_cache(tmp_path, max_age_s=60, keep_before=served, max_bytes=4000) == 0  # within the bound
    assert sweep_cache(tmp_path, max_age_s=60, keep_before=served, max_bytes=2500) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page", "run2", "run3"]


def test_a_16_bit_greyscale_png_keeps_its_brightness(tmp_path):
    """A 16-bit PNG used to be stretched to its own maximum (mean 149 instead of 104, highlights clipped)."""
    from ggm_core.tokenizers.images import to_rgb

    grey = np.full((64, 64), 104 * 257, dtype=np.uint16)
    grey[:8, :8] = 200 * 257
    Image.fromarray(grey).save(tmp_path / "g16.png")
    rgb = np.asarray(to_rgb(Image.open(tmp_path / "g16.png")))
    assert rgb.shape == (64, 64, 3) and int(rgb[40, 40, 0]) == 104 and int(rgb[0, 0, 0]) == 200
    floats = Image.fromarray(np.full((8, 8), 0.5, dtype=np.float32))
    assert int(np.asarray(to_rgb(floats))[0, 0, 0]) == 128


def test_a_run_stopped_at_its_start_hides_the_scrubber(tmp_path):
    """Stop 50 ms after a click left one frame: a scrubber from 0 to 0 made Gradio raise "Slider minimum must be
    less than maximum" (red Error badges, a frozen status). With one frame it hides; with two it scrubs."""
    import gradio as gr

    from ggm_app.controls import TabController

    model = load_model(make_text_checkpoint(tmp_path / "ckpt"))
    session = RunSession(model, "m", RunSettings.clean(model, {}, seed=0))
    events = session.events()
    next(events)
    session.stop()
    events.close()
    assert len(session.trajectory) == 1
    assert TabController._scrubber(session) == gr.update(visible=False)
    session.trajectory.add(session.trajectory.tokens[0], session.trajectory.states[0], 1)
    update = TabController._scrubber(session)
    gr.Slider(0, **{k: v for k, v in update.items() if k in ("maximum", "value", "label")})  # Gradio accepts it
    assert update["visible"] and update["maximum"] == 1

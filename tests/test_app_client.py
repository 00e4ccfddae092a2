"""The app launched in-process on tiny random checkpoints, driven through gradio_client like a remote user."""

import re
import socket
import time
from pathlib import Path

import numpy as np
import pytest
from app_checkpoints import make_blackout_checkpoint, make_checkpoints, make_md4_checkpoint
from gradio_client import Client, handle_file
from PIL import Image

import app
from ggm_app import faces
from ggm_app.common import ModelSlot, load_slot
from ggm_core import image_infill

pytestmark = pytest.mark.server
ADVANCED_EXACT = {"sweeps": 2, "positions_per_call": 1, "temperature": 1.0, "top_p": 1.0, "seed": 0}
ADVANCED_FAST = {"sweeps": 1, "positions_per_call": 8, "temperature": 1.0, "top_p": 1.0, "seed": 0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("app_ckpt")
    text, face = make_checkpoints(root)
    md4 = make_md4_checkpoint(root / "md4_text", text), make_md4_checkpoint(root / "md4_faces", face)
    return text, face, *md4, make_blackout_checkpoint(root / "blackout")


@pytest.fixture(scope="module")
def url(checkpoints):
    text, face, md4_text, md4_face, blackout = checkpoints
    # two GGM text checkpoints and an MD4 one: the model choice shows; faces: GGM, MD4 and Blackout
    demo = app.create_app([str(text), str(text), str(md4_text)], [str(face), str(md4_face), str(blackout)])
    port = _free_port()
    kwargs = app.launch_kwargs() | {"server_port": port, "prevent_thread_lock": True, "quiet": True}
    demo.launch(**kwargs)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture
def client(url):
    return Client(url, verbose=False)


def _run(client, api_name, *args, **kwargs):
    """Submit, and return (all streamed outputs, final output)."""
    job = client.submit(*args, api_name=api_name, **kwargs)
    outputs = list(job)
    return outputs, job.outputs()[-1]


def _image(tmp_path, name, array) -> str:
    path = tmp_path / name
    Image.fromarray(array).save(path)
    return str(path)


@pytest.fixture
def face(tmp_path):
    """(the 64×64 example face, its PNG path)."""
    image = faces.load_image_file(sorted(app.SHIPPED_EXAMPLES.glob("*.png"))[0])
    return image, _image(tmp_path, "face.png", image)


def _editor(path, layer_path=None):
    layers = [handle_file(layer_path)] if layer_path else []
    return {"background": handle_file(path), "layers": layers, "composite": handle_file(path)}


def _layer(tmp_path, size, box):
    y0, y1, x0, x1 = box
    layer = np.zeros((size, size, 4), np.uint8)
    layer[y0:y1, x0:x1] = (213, 94, 0, 153)
    return _image(tmp_path, "layer.png", layer)


# ---------------------------------------------------------------------------------------------- text
def test_text_generation_streams_then_reads_out(client):
    outputs, final = _run(client, "/generate_text", model="text", **ADVANCED_EXACT)
    intermediate = [o for o in outputs[:-1] if "Sampling…" in o[1]]
    assert len(intermediate) >= 2
    assert "network calls" in final[1] and "tokens/s" in final[1] and "**exact**" in final[1]
    assert {t["class_or_confidence"] for t in final[0]} <= {"settled"}
    assert final[3]["value"] == final[3]["maximum"] and final[3]["visible"]  # the scrubber, at the last frame
    assert not final[4]["visible"]  # the trajectory download comes with the next event, the run's export
    download = client.predict(api_name="/generate_text_export")
    assert download["visible"] and download["value"].endswith(".html")
    assert client.predict(api_name="/generate_text_export")["value"] == download["value"]  # written once
    page = Path(download["value"]).read_text(encoding="utf-8")
    assert "<script>" in page and "const D" in page


def test_text_infill_keeps_known_tokens(client):
    text = "Café, [3] déjà vu — [___] fin."
    _, final = _run(client, "/infill_text", text=text, write_on=False, model="text'", **ADVANCED_EXACT)
    known_runs, run = [], ""
    for tok in final[0]:
        if tok["class_or_confidence"] == "known":
            run += tok["token"]
        elif run:
            known_runs, run = [*known_runs, run], ""
    known_runs += [run] if run else []
    # the spaces before the gaps moved into them (a gap's first token starts with one): the text is unchanged
    assert known_runs == ["Café,", " déjà vu —", " fin."]
    assert re.fullmatch(r"Café, .* déjà vu — .* fin\..*", "".join(t["token"] for t in final[0]), flags=re.S)
    labels = [t["class_or_confidence"] for t in final[0]]
    assert "settled" in labels and "noise" not in labels
    # scrub back to the first frame: everything not known is still noise
    shown, info = client.predict(0, api_name="/scrub_text")
    assert {t["class_or_confidence"] for t in shown} <= {"noise", "known"} and "Frame 0" in info


def test_text_approximate_settings_are_reported(client):
    _, final = _run(
        client,
        "/infill_text",
        text="A [4] b",
        write_on=False,
        model="text",
        **{**ADVANCED_EXACT, "temperature": 0.7, "positions_per_call": 2},
    )
    assert "approximate" in final[1] and "temperature 0.7" in final[1] and "2 positions per network call" in final[1]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "generating from nothing"),
        ("   \n ", "generating from nothing"),
        ("see [abc] and [4]", "not a gap"),
        ("a [0] b", "empty gap"),
        ("unclosed [ bracket [2]", "unmatched"),
        ("日本 🙂 [3] ü", "writes on after your text"),
        (
            "Emma [2] had a comfortable home and happy disposition, and lived nearly twenty-one years in the world.",
            "context is 32",
        ),
    ],
)
def test_text_inputs_with_notices_still_run(client, text, message):
    _, final = _run(client, "/infill_text", text=text, write_on=False, model="text", **ADVANCED_FAST)
    assert message in final[1] and "network calls" in final[1]


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "Emma Woodhouse, handsome, clever, and rich, with a comfortable home and happy disposition.",
            "Nothing to fill",
        ),
        ("Emma Woodhouse, handsome, clever, and rich, with a comfortable home and happy disposition [3]", "beyond"),
    ],
)
def test_text_inputs_with_nothing_to_do_give_a_message(client, text, message):
    _, final = _run(client, "/infill_text", text=text, write_on=False, model="text", **ADVANCED_FAST)
    assert message in final[1] and "network calls" not in final[1]


def test_extreme_settings_do_not_crash(client):
    _, final = _run(
        client, "/generate_text", model="text", sweeps=1, positions_per_call=32, temperature=2.0, top_p=0.05, seed=7
    )
    assert "network calls" in final[1] and "approximate" in final[1]


def test_random_seed(client):
    assert isinstance(client.predict(api_name="/random_seed_text"), int | float)


# ---------------------------------------------------------------------------------------------- faces
def test_face_generation_streams_then_reads_out(client, tmp_path):
    outputs, final = _run(client, "/generate_face", model="faces", **ADVANCED_EXACT)
    assert len([o for o in outputs[:-1] if "Sampling…" in o[2]]) >= 2
    assert "512 tokens" not in final[2] and "256 tokens generated" in final[2] and "**exact**" in final[2]
    assert np.asarray(Image.open(final[1])).shape[:2] == (256, 256)
    with Image.open(client.predict(api_name="/generate_face_export")["value"]) as gif:
        assert gif.format == "GIF" and gif.n_frames > 2


def test_face_infill_keeps_pixels_outside_the_mask_cells(client, face, tmp_path):
    image, path = face
    layer = _layer(tmp_path, 64, (21, 30, 30, 45))  # rows 21..29, cols 30..44 → cells rows 5..7, cols 7..11
    outputs, final = _run(client, "/infill_face", _editor(path, layer), model="faces", **ADVANCED_EXACT)
    assert len([o for o in outputs[:-1] if "Sampling…" in o[2]]) >= 2
    assert "15 tokens generated" in final[2]  # 3 × 5 cells
    result = np.asarray(Image.open(final[1]).convert("RGB"))[::4, ::4]
    cells = np.zeros((16, 16), bool)
    cells[5:8, 7:12] = True
    inside = image_infill.cells_to_pixels(cells)
    assert np.array_equal(result[~inside], image[~inside])
    assert (result[inside] != image[inside]).any()
    view = np.asarray(Image.open(outputs[0][0]).convert("RGB"))[::4, ::4]
    assert np.array_equal((view != image).any(-1), inside)  # the mask view tints exactly those cells


def test_face_infill_on_a_large_non_square_photo(client, tmp_path):
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (1800, 2400, 3), dtype=np.uint8)
    path = _image(tmp_path, "photo.jpg", photo)
    layer = np.zeros((1800, 2400, 4), np.uint8)
    layer[800:1000, 1100:1300, 3] = 255
    layer_path = _image(tmp_path, "big_layer.png", layer)
    _, final = _run(client, "/infill_face", _editor(path, layer_path), model="faces", **ADVANCED_FAST)
    assert "tokens generated" in final[2]


def test_face_whole_mask_is_the_same_as_generating(client, face, tmp_path):
    _, path = face
    layer = _layer(tmp_path, 64, (0, 64, 0, 64))
    _, final = _run(client, "/infill_face", _editor(path, layer), model="faces", **ADVANCED_FAST)
    assert "same as generating" in final[2] and "256 tokens generated" in final[2]


def test_face_empty_mask_gives_a_message(client, face):
    _, path = face
    _, final = _run(client, "/infill_face", _editor(path), model="faces", **ADVANCED_FAST)
    assert "mask is empty" in final[2]


def test_face_no_image_gives_a_message(client):
    _, final = _run(client, "/infill_face", None, model="faces", **ADVANCED_FAST)
    assert "No image" in final[2]


@pytest.mark.parametrize(
    "name, make",
    [
        ("grey.png", lambda: Image.new("L", (100, 80), 90)),
        ("palette.png", lambda: Image.new("RGB", (64, 64), (0, 114, 178)).convert("P")),
        ("alpha.png", lambda: Image.new("RGBA", (120, 64), (255, 0, 0, 100))),
        ("huge.jpg", lambda: Image.new("RGB", (5000, 3500), (200, 100, 0))),
    ],
)
def test_upload_any_image(client, tmp_path, name, make):
    path = tmp_path / name
    make().save(path)
    value, view, status, *_ = client.predict(handle_file(str(path)), "faces", api_name="/load_image")
    assert "Image loaded" in status and np.asarray(Image.open(view)).shape[:2] == (256, 256)
    assert np.asarray(Image.open(value["background"])).shape[:2] == (256, 256)


@pytest.mark.parametrize("name, content", [("notes.txt", b"just text"), ("fake.png", b"\x89PNG broken")])
def test_upload_non_image_gives_a_message(client, tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    _, _, status, *_ = client.predict(handle_file(str(path)), "faces", api_name="/load_image")
    assert "not an image" in status or "could not be read" in status


def test_upload_over_the_size_limit_is_refused(client, tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(b"\0" * (11 * 1024 * 1024))
    with pytest.raises(Exception, match="(?i)413|too large|size"):
        client.predict(handle_file(str(path)), "faces", api_name="/load_image")


def test_mask_preview(client, face, tmp_path):
    _, path = face
    view = client.predict(_editor(path, _layer(tmp_path, 64, (0, 1, 0, 1))), "faces", api_name="/preview_mask")
    assert np.asarray(Image.open(view)).shape[:2] == (256, 256)


def test_stop(client):
    _, final = _run(client, "/generate_face", model="faces", **ADVANCED_FAST)
    job = client.submit(api_name="/stop_face")  # just after the run ended: a notice, the readout left as it was
    assert job.result()[0] == {"__type__": "update"} and "network calls" in final[2]
    # 8 sweeps (the most the slider allows): about 4.7 s with the tiny model, a wide margin for Stop to arrive
    # while it runs. Stop finds the run by the client's session, not by a gr.State the run may not have set yet.
    job = client.submit(model="faces", **(ADVANCED_EXACT | {"sweeps": 8}), api_name="/generate_face")
    deadline = time.time() + 20
    while len(job.outputs()) < 2 and time.time() < deadline:
        time.sleep(0.02)
    message, scrub, download = client.predict(api_name="/stop_face")
    assert message.startswith("Stopped after") and scrub["visible"] and download["value"].endswith(".gif")
    job.result()
    final = job.outputs()[-1]  # the run's own last output says the same, whichever arrives last
    assert message in final and final[5]["value"] == download["value"], final


def test_stop_while_a_run_waits_for_a_free_core(client):
    """Every lane busy: the run waits, and Stop ends it before its first network call (the soak found an
    IndexError here: the stopped run had no frame to show)."""
    from ggm_app import batcher

    held = [batcher.shared.lane() for _ in range(batcher.shared.lanes)]
    for lane in held:
        lane.__enter__()
    try:
        job = client.submit(model="faces", **ADVANCED_EXACT, api_name="/generate_face")
        time.sleep(1.0)
        message, *_ = client.predict(api_name="/stop_face")
    finally:
        for lane in held:
            lane.__exit__(None, None, None)
    job.result()
    assert message.startswith("Stopped before its first network call"), message
    assert message in job.outputs()[-1][2]


# ---------------------------------------------------------------------------------------------- families, compare
def test_md4_runs_in_the_text_tab_and_reports_its_own_knob(client):
    _, final = _run(client, "/generate_text", model="md4_text", steps=8, seed=0)
    assert "approximate" in final[1] and "a grid of 8 steps" in final[1]
    _, final = _run(client, "/infill_text", text="Emma,[4]rich", write_on=False, model="md4_text", seed=0)  # no seam
    assert "**exact** ancestral" in final[1]  # MD4's clamping is exact
    labels = {t["class_or_confidence"] for t in final[0]}
    assert labels <= {"settled", "known"}


def test_compare_streams_both_families_with_one_seed(client):
    outputs, final = _run(
        client, "/compare_infill_text", text="A [6] b", write_on=False, seed=3,
        model_0="text", model_1="md4_text", budget_0=0, budget_1=4,
    )  # fmt: skip
    assert len(outputs) >= 2
    view_0, view_1, readout_0, readout_1, _ = final
    assert outputs[0][-1] == 4  # the seed box moved on with the comparison's first update
    assert "**text**" in readout_0 and "heat-bath" not in readout_0 or "clamped" in readout_0
    assert "**md4_text**" in readout_1 and "a grid of 4 steps" in readout_1 and "seed 3" in readout_1
    assert (
        "4 network calls" in readout_1 or "3 network calls" in readout_1 or int(readout_1.split("·")[1].split()[0]) <= 4
    )


def test_noise_it_then_scrub_back_to_the_input(client):
    text = "Emma Woodhouse, handsome, clever, and rich"
    outputs, final = _run(client, "/noise_text", text=text, write_on=False, model="text", seed=0)
    assert "**exact** heat-bath chain" in final[1] and "repeated" in final[1] and final[2] == ""
    shown, info = client.predict(0, False, api_name="/scrub_text")
    assert "".join(t["token"] for t in shown).startswith(text) and "Frame 0" in info


def test_belief_overlay_on_a_scrubbed_frame(client):
    _run(client, "/generate_text", model="text", **ADVANCED_EXACT)
    shown, info = client.predict(10, True, api_name="/belief_text")
    values = [t["class_or_confidence"] for t in shown]
    assert all(isinstance(v, float) and -1 <= v <= 1 for v in values) and "believes" in info
    other, _ = client.predict(40, True, api_name="/belief_text")
    assert [t["class_or_confidence"] for t in other] != values  # another frame, another reading
    _run(client, "/generate_text", model="md4_text", seed=0)
    _, info = client.predict(5, True, api_name="/belief_text")
    assert "no signal-vs-noise classifier" in info


def test_face_compare_ggm_and_md4(client):
    outputs, final = _run(
        client, "/compare_generate_face", seed=1,
        model_0="faces", model_1="md4_faces", model_2="faces", budget_0=0, budget_1=64, budget_2=64,
    )  # fmt: skip
    images, readouts = final[:3], final[3:6]
    assert all(np.asarray(Image.open(p)).shape[:2] == (256, 256) for p in images)
    assert (
        "exact" in readouts[0] and "a grid of 64 steps" in readouts[1] and "positions per network call" in readouts[2]
    )


def test_a_fast_scrub_always_shows_the_last_slider_value(client):
    """Scrub and belief events serve the last input that arrived while one was served (Gradio's default trigger
    mode dropped them: after a fast drag the frame shown did not match the slider)."""
    modes = {d.get("api_name"): d.get("trigger_mode") for d in client.config["dependencies"]}
    assert all(modes[f"{kind}_{tab}"] == "always_last" for kind in ("scrub", "belief") for tab in ("text", "face"))


def test_face_compare_starts_each_column_at_its_app_default(client):
    """Without budgets each column runs what the main panel runs for its model (Blackout: 100 of its 1000 steps,
    not the exact 1000), and the readouts say how long the whole comparison took."""
    _, final = _run(client, "/compare_generate_face", seed=1, model_0="faces", model_1="md4_faces", model_2="blackout")
    readouts = final[3:6]
    assert "**exact**" in readouts[0] and "**exact**" in readouts[1]
    assert "100 network calls" in readouts[2] and "100 of the 1000 trained steps" in readouts[2]
    took = {re.search(r"The comparison took [0-9.]+ s\.", r).group() for r in readouts}
    assert len(took) == 1  # one time for all the columns (read per column, two once differed by 0.1 s)


def test_blackout_grows_a_face_and_repaints_only_the_brushed_pixels(client, face, tmp_path):
    image, path = face
    _, final = _run(client, "/generate_face", model="blackout", bridge_steps=12, seed=0)
    assert "12 network calls" in final[2] and "12 of the 1000 trained steps" in final[2]
    layer = _layer(tmp_path, 64, (20, 30, 10, 50))
    _, final = _run(client, "/infill_face", _editor(path, layer), model="blackout", bridge_steps=12, seed=0)
    assert "pixels, not token cells" in final[2]
    result = np.asarray(Image.open(final[1]).convert("RGB"))[::4, ::4]
    outside = np.ones((64, 64), bool)
    outside[20:30, 10:50] = False
    assert np.array_equal(result[outside], image[outside])
    for bad, message in ((0, "less than minimum value 1"), (2000, "greater than maximum value 1000")):
        with pytest.raises(Exception, match=message):  # a budget of 0 or beyond the schedule is refused
            client.predict(model="blackout", bridge_steps=bad, api_name="/generate_face")


@pytest.mark.parametrize("height, width", [(128, 128), (60, 100)])
def test_a_blackout_brush_of_another_size_is_stretched_to_the_image(client, face, tmp_path, height, width):
    """A brush layer whose size is not the image's is resized onto it (nearest neighbour, pixel centres): the run
    redraws only the pixels under the resized brush and gives every other pixel back exactly."""
    image, path = face
    brush = np.zeros((height, width), bool)
    brush[height // 4 : height // 2, width // 5 : 3 * width // 4] = True
    layer = np.zeros((height, width, 4), np.uint8)
    layer[brush] = (213, 94, 0, 153)
    rows = ((np.arange(64) + 0.5) * height / 64).astype(int)
    cols = ((np.arange(64) + 0.5) * width / 64).astype(int)
    inside = brush[rows][:, cols]  # the image pixel (y, x) takes the layer pixel under its centre
    editor = _editor(path, _image(tmp_path, "odd_layer.png", layer))
    outputs, final = _run(client, "/infill_face", editor, model="blackout", bridge_steps=12, seed=0)
    assert "pixels, not token cells" in final[2]
    view = np.asarray(Image.open(outputs[0][0]).convert("RGB"))[::4, ::4]
    assert np.array_equal((view != image).any(-1), inside)  # panel 2 tints exactly the resized brush
    result = np.asarray(Image.open(final[1]).convert("RGB"))[::4, ::4]
    assert np.array_equal(result[~inside], image[~inside]) and (result[inside] != image[inside]).any()


# ---------------------------------------------------------------------------------------------- missing models
def test_missing_checkpoints_disable_their_tabs():
    demo = app.build_demo(ModelSlot(errors=["no checkpoint at `assets/text_austen` (the default)"]), ModelSlot())
    values = [b.value for b in demo.blocks.values() if getattr(b, "elem_id", None) in ("text-missing", "face-missing")]
    assert len(values) == 2
    assert "text model is not available" in values[0] and "assets/text_austen" in values[0]
    assert "--face-model" in values[1] and "GGM_FACE_MODEL" in values[1]
    assert not any(dep.api_name in ("infill_text", "infill_face") for dep in demo.fns.values())


def test_a_checkpoint_of_the_wrong_kind_is_named_in_its_tab(checkpoints):
    """A text GGM given to the faces tab (where Blackout, GGM and MD4 face models go), or a Blackout one to the text
    tab, is not loaded: the tab says which tokenizer it has and which the tab needs."""
    text, *_, blackout = checkpoints
    demo = app.build_demo(load_slot([str(blackout)], "bpe"), load_slot([str(text)], app.IMAGE_TOKENIZERS))
    values = {b.elem_id: b.value for b in demo.blocks.values() if str(getattr(b, "elem_id", "")).endswith("-missing")}
    assert f"`{blackout}`: its tokenizer is 'pixels', this tab needs 'bpe'" in values["text-missing"]
    assert f"`{text}`: its tokenizer is 'bpe', this tab needs 'vq' or 'pixels'" in values["face-missing"]


def test_a_seed_that_is_not_a_number_is_refused_by_name_without_a_traceback(client, capfd):
    # after a run first: a run that sent gr.skip() to the seed box made Gradio keep a copy of the box for the
    # session, without the refusal (the soak's junk seeds then failed with a traceback)
    _run(client, "/generate_text", model="text", **(ADVANCED_FAST | {"seed": 2}))
    with pytest.raises(Exception, match=r"Seed 'abc' is not a number"):
        client.predict(**(ADVANCED_FAST | {"seed": "abc"}), model="text", api_name="/generate_text")
    assert "Traceback" not in capfd.readouterr().err
    _, final = _run(client, "/generate_text", model="text", **(ADVANCED_FAST | {"seed": 4}))  # the box still works
    assert "seed 4" in final[1]


def test_a_background_that_is_not_an_image_is_refused_by_name_without_a_traceback(client, tmp_path, capfd):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a face")
    with pytest.raises(Exception, match=r"'notes.txt' \(or a layer\) is not an image Pillow can read"):
        client.predict(_editor(str(notes)), model="faces", **ADVANCED_FAST, api_name="/infill_face")
    assert "Traceback" not in capfd.readouterr().err


def test_settings_that_are_not_numbers_are_named_and_replaced_without_a_traceback(client, capfd):
    junk = ADVANCED_FAST | {"sweeps": "abc", "temperature": "hot"}
    _, final = _run(client, "/generate_text", model="text", **junk)
    assert "Sweeps (the trained number is exact): 'abc' is not a number; used 2." in final[1]
    assert "Temperature: 'hot' is not a number; used 1." in final[1] and "network calls" in final[1]
    assert "Traceback" not in capfd.readouterr().err


def test_a_write_on_or_budget_that_is_not_a_number_is_read_as_off_or_exact_without_a_traceback(client, capfd):
    _, final = _run(client, "/infill_text", text="Emma [___] rich", write_on="wide", model="text", **ADVANCED_FAST)
    assert "Gap length chosen by the model" in final[1] and "network calls" in final[1]
    _, final = _run(
        client, "/compare_infill_text", text="A [6] b", write_on=False, seed=3,
        model_0="text", model_1="md4_text", budget_0="lots", budget_1=4,
    )  # fmt: skip
    assert "network calls" in final[2] and "network calls" in final[3]
    assert "Traceback" not in capfd.readouterr().err


def test_a_new_run_clears_the_frame_line_of_the_previous_one_at_once(client):
    _run(client, "/generate_text", model="text", **ADVANCED_FAST)
    _, info = client.predict(0, False, api_name="/scrub_text")
    assert info.startswith("Frame 0 of")
    outputs, _ = _run(client, "/generate_text", model="text", **ADVANCED_FAST)
    assert outputs[0][2] == "", outputs[0]  # the first update of the new run, not only its last


def test_launch_settings(monkeypatch):
    monkeypatch.delenv("SYSTEM", raising=False)
    assert app.launch_kwargs()["server_name"] == "127.0.0.1"
    monkeypatch.setenv("SYSTEM", "spaces")
    kw = app.launch_kwargs()
    assert kw["server_name"] == "0.0.0.0" and kw["server_port"] == 7860 and kw["max_file_size"]


def test_any_seed_is_cleaned_into_one_that_can_be_typed_back(client):
    for given, used in ((-5, 5), (2**70 + 3, 3)):
        _, final = _run(client, "/generate_text", model="text", **(ADVANCED_FAST | {"seed": given}))
        assert final[1].split("seed ")[-1].split()[0] == str(used)
    names = [o["label"] for o in client.view_api(return_format="dict")["named_endpoints"]["/generate_text"]["returns"]]
    assert "Status" in names and not any(n.startswith("value_") for n in names), names

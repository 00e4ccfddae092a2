"""The app as it runs on a ZeroGPU Space, on this CPU: every network call in a forked worker (tests/forked_gpu.py,
the way ``spaces`` runs an ``@spaces.GPU`` call), driven through gradio_client. What the page gets after a forked
run must equal what an in-process run with the same seed gives, and Stop must end the worker promptly."""

import re
import time

import numpy as np
import pytest
import torch
from app_checkpoints import make_blackout_checkpoint, make_face_checkpoint, make_md4_checkpoint, make_text_checkpoint
from forked_gpu import WORKERS, forked
from gradio_client import Client, handle_file
from PIL import Image
from test_app_client import _free_port, _layer, _run

import app
from ggm_app import device, faces
from ggm_core import GlauberModel
from ggm_core.events import run_to_end

pytestmark = pytest.mark.server
EXACT = {"sweeps": 2, "positions_per_call": 1, "temperature": 1.0, "top_p": 1.0, "seed": 4}


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    root = tmp_path_factory.mktemp("zero_gpu")
    text = make_text_checkpoint(root / "text", documents=True)
    face = make_face_checkpoint(root / "faces")
    md4_text, md4_face = make_md4_checkpoint(root / "md4_text", text), make_md4_checkpoint(root / "md4_faces", face)
    demo = app.create_app(
        [str(text), str(md4_text)], [str(face), str(md4_face), str(make_blackout_checkpoint(root / "b"))]
    )
    port = _free_port()
    demo.launch(**(app.launch_kwargs() | {"server_port": port, "prevent_thread_lock": True, "quiet": True}))
    yield f"http://127.0.0.1:{port}/"
    demo.close()
    device.install(device.in_process)


@pytest.fixture
def client(url):
    return Client(url, verbose=False)


@pytest.fixture
def face_editor(tmp_path):
    image = faces.load_image_file(sorted(app.SHIPPED_EXAMPLES.glob("*.png"))[0])
    path = tmp_path / "face.png"
    Image.fromarray(image).save(path)
    layer = _layer(tmp_path, 64, (20, 36, 8, 56))
    return {"background": handle_file(str(path)), "layers": [handle_file(layer)], "composite": handle_file(str(path))}


def untimed(readout: str) -> str:
    """A readout without its times (seconds, tokens per second, and a wait for a free core, which a busy host adds
    to a column now and then)."""
    return re.sub(r"[\d.,]+ (s|tokens/s)\b", "", re.sub(r" · queued [\d.]+ s for a free core", "", readout))


def _picture(output) -> np.ndarray:
    return np.asarray(Image.open(output["path"] if isinstance(output, dict) else output))


def _both(client, api_name, **kwargs):
    """The final outputs of the same call in-process and then with every network call in a forked worker."""
    device.install(device.in_process)
    _, here = _run(client, api_name, **kwargs)
    device.install(forked)
    started = len(WORKERS)
    try:
        _, there = _run(client, api_name, **kwargs)
    finally:
        device.install(device.in_process)
    assert len(WORKERS) > started, "the run did not go through a forked worker"
    return here, there


@pytest.mark.parametrize(
    "api_name, inputs",
    [
        ("/infill_text", {"text": "It is a truth [___] acknowledged.", "write_on": False, "model": "text"}),
        ("/generate_text", {"model": "text"}),
        ("/noise_text", {"text": "Emma Woodhouse, handsome, clever", "write_on": False, "model": "text"}),
        ("/generate_text", {"model": "md4_text", "steps": 0}),
    ],
)
def test_a_forked_text_run_shows_what_an_in_process_run_shows(client, api_name, inputs):
    here, there = _both(client, api_name, **(EXACT | inputs))
    assert there[0] == here[0]  # the tokens and their states
    assert "network calls" in there[1] and untimed(there[1]) == untimed(here[1])
    assert there[3]["maximum"] == here[3]["maximum"]  # the scrubber
    assert client.predict(api_name=f"{api_name}_export")["value"].endswith(".html")


@pytest.mark.parametrize("model", ["faces", "md4_faces", "b"])
def test_a_forked_face_run_shows_what_an_in_process_run_shows(client, face_editor, model):
    here, there = _both(client, "/infill_face", editor=face_editor, model=model, **EXACT)
    assert np.array_equal(_picture(there[1]), _picture(here[1])) and "network calls" in there[2]
    here, there = _both(client, "/generate_face", model=model, **EXACT)
    assert np.array_equal(_picture(there[1]), _picture(here[1]))
    assert client.predict(api_name="/generate_face_export")["value"].endswith(".gif")


def test_forked_face_compare_and_noise_it_match_in_process(client, face_editor):
    picks = {"model_0": "faces", "model_1": "md4_faces", "model_2": "b", "budget_0": 0, "budget_1": 0, "seed": 3}
    here, there = _both(client, "/compare_infill_face", editor=face_editor, budget_2=20, **picks)
    assert all(np.array_equal(_picture(a), _picture(b)) for a, b in zip(there[:3], here[:3], strict=True))
    assert [untimed(r) for r in there[3:6]] == [untimed(r) for r in here[3:6]]
    here, there = _both(client, "/noise_face", editor=face_editor, model="faces", **EXACT)
    assert np.array_equal(_picture(there[1]), _picture(here[1])) and "network calls" in there[2]


def test_forked_compare_scrub_and_belief_match_in_process(client):
    picks = {"model_0": "text", "model_1": "md4_text", "budget_0": 0, "budget_1": 0, "seed": 2}
    here, there = _both(
        client, "/compare_infill_text", text="It was a [___] day. She [3] home.", write_on=False, **picks
    )
    assert there[:2] == here[:2] and all("network calls" in r for r in there[2:4])
    shown = {}
    for wrap in (device.in_process, forked):
        device.install(wrap)
        _run(client, "/generate_text", model="text", **EXACT)
        shown[wrap] = [client.predict(10, belief, api_name="/belief_text") for belief in (False, True)]
        device.install(device.in_process)
    assert shown[forked] == shown[device.in_process] and "believes" in shown[forked][1][1]


def test_stop_ends_the_forked_worker_within_a_second(client, monkeypatch):
    real = GlauberModel.sample

    def slow(self, **kwargs):  # the worker inherits this: every network call there takes 50 ms more
        for event in real(self, **kwargs):
            time.sleep(0.05)
            yield event

    monkeypatch.setattr(GlauberModel, "sample", slow)
    device.install(forked)
    try:
        job = client.submit(model="faces", **EXACT, api_name="/generate_face")
        deadline = time.time() + 30
        while len(job.outputs()) < 2 and time.time() < deadline:
            time.sleep(0.02)
        worker = WORKERS[-1]
        assert worker.is_alive()
        message = client.predict(api_name="/stop_face")[0]
        stopped = time.time()
        worker.join(1.0)
        assert message.startswith("Stopped after") and not worker.is_alive() and time.time() - stopped < 1.0
        job.result()
    finally:
        device.install(device.in_process)


@pytest.mark.parametrize("knobs", [{}, {"sweeps": 1, "positions_per_call": 4}, {"steps": 5}, {"bridge_steps": 7}])
def test_the_gpu_time_asked_for_covers_every_network_call_of_the_run(url, knobs):
    for model in list(device.MODELS.values())[-5:]:  # this module's app: GGM, MD4 and Blackout
        kwargs = {k.name: knobs[k.name] for k in model.knobs() if k.name in knobs}
        known = torch.zeros(model.seq_len, dtype=torch.bool)
        known[:3] = True
        for extra in ({}, {"known": known, "known_tokens": torch.zeros(model.seq_len, dtype=torch.long)}):
            last = run_to_end(model.sample(seed=0, **kwargs, **extra))
            bound = model.network_calls(model.seq_len - int(extra.get("known", known[:0]).sum()), **kwargs)
            assert last.nfe <= bound <= 2 * last.nfe + 2, (model.label, kwargs, last.nfe, bound)
            assert (
                device.run_seconds(device.key(model), kwargs | extra)
                >= device.OVERHEAD_S + device.SECONDS_PER_CALL * last.nfe
            )


def test_spaces_decorates_nothing_off_zero_gpu():
    import spaces

    def run(x):
        return x

    assert not device.ZERO_GPU and spaces.GPU(run, duration=5) is run and spaces.GPU(duration=5)(run) is run

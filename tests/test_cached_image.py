"""The app's output images are written once per content and never rewritten in place (a browser fetching the
earlier copy of a picture sent again must not read a truncated file: h11's Content-Length errors)."""

import io

import gradio as gr
import numpy as np
import pytest
from PIL import Image

import app
from ggm_app import faces
from ggm_app.cached_image import cached_image


def _files_written(send, monkeypatch) -> tuple[object, list[str]]:
    """What ``send()`` returns and the files it opened for writing."""
    opened = []
    real_open = io.open

    def spy(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+"):
            opened.append(str(file))
        return real_open(file, mode, *args, **kwargs)

    with monkeypatch.context() as patch:  # its own undo: the test's GRADIO_TEMP_DIR stays set
        patch.setattr(io, "open", spy)
        return send(), opened


def _writes_during_second_send(component, picture, monkeypatch) -> tuple[str, list[str]]:
    first = component.postprocess(picture).path
    second, opened = _files_written(lambda: component.postprocess(picture).path, monkeypatch)
    assert second == first
    return first, opened


@pytest.fixture
def picture():
    return np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)


def test_a_picture_sent_again_is_not_rewritten(picture, monkeypatch, tmp_path):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    path, opened = _writes_during_second_send(cached_image(), picture, monkeypatch)
    assert opened == [] and path.startswith(str(tmp_path))
    assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), picture)  # lossless PNG
    assert not any(p.name.endswith(".tmp") for p in tmp_path.rglob("*"))


def test_gradios_own_image_rewrites_it_which_is_why_the_app_does_not_use_it(picture, monkeypatch, tmp_path):
    """If a Gradio release stops rewriting, this fails, and cached_image can go."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    path, opened = _writes_during_second_send(gr.Image(format="png"), picture, monkeypatch)
    assert path in opened


def test_the_face_editor_writes_a_picked_face_once(picture, monkeypatch, tmp_path):
    """Its background and composite are one picture: one file, written once, and not again when sent again."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    editor = app.face_editor()
    value = faces.editor_value(picture)
    first, opened = _files_written(lambda: editor.postprocess(value), monkeypatch)
    assert first.background.path == first.composite.path and len(opened) == 1
    assert np.array_equal(np.asarray(Image.open(first.background.path).convert("RGB")), faces.display(picture))
    again, opened = _files_written(lambda: editor.postprocess(value), monkeypatch)
    assert again.background.path == first.background.path and opened == []
    bare, opened = _files_written(lambda: editor.postprocess(255 - picture), monkeypatch)  # a bare picture
    assert bare.background.path == bare.composite.path != first.background.path and len(opened) == 1


def test_gradios_own_editor_writes_that_picture_twice(picture, monkeypatch, tmp_path):
    """If a Gradio release stops rewriting, this fails, and write_editor_images_once can go."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    editor = gr.ImageEditor(type="numpy", format="png")
    sent, opened = _files_written(lambda: editor.postprocess(faces.editor_value(picture)), monkeypatch)
    assert opened.count(sent.background.path) == 2

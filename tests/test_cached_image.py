"""The app's pictures are written once per content and never rewritten in place (a browser fetching the earlier
copy of a picture sent again must not read a truncated file: h11's Content-Length errors), and this survives
Gradio replacing a component for a session (it does so on every update sent to it, a ``gr.skip()`` too)."""

import io

import gradio as gr
import numpy as np
import pytest
from PIL import Image

import app
from ggm_app import faces
from ggm_app.cached_image import editor_files, png_file


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


@pytest.fixture
def picture():
    return np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)


def test_a_picture_sent_again_is_not_rewritten(picture, monkeypatch, tmp_path):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    view = app.face_view("test-view")
    path, opened = _files_written(lambda: view.postprocess(png_file(picture)).path, monkeypatch)
    assert len(opened) == 1 and path.startswith(str(tmp_path))
    again, opened = _files_written(lambda: view.postprocess(png_file(picture)).path, monkeypatch)
    assert again == path and opened == []
    assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), picture)  # lossless PNG
    assert not any(p.name.endswith(".tmp") for p in tmp_path.rglob("*"))


def test_gradios_own_image_rewrites_it_which_is_why_the_app_sends_files(picture, monkeypatch, tmp_path):
    """If a Gradio release stops rewriting, this fails, and ggm_app.cached_image can go."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    image = gr.Image(format="png")
    first = image.postprocess(picture).path
    again, opened = _files_written(lambda: image.postprocess(picture).path, monkeypatch)
    assert again == first and first in opened


def test_a_session_copy_of_a_panel_sends_the_same_file(picture, monkeypatch, tmp_path):
    """Gradio rebuilds a component for the session from its constructor arguments when a handler sends it an
    update (a ``gr.skip()`` too), dropping anything set on the instance: the file path works the same on the copy."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    view = app.face_view("test-view")
    copy = view.__class__(**(view.constructor_args | {"render": False}))  # what Gradio does (blocks.py)
    path = png_file(picture)
    assert view.postprocess(path).path == copy.postprocess(path).path == path


def test_the_face_editor_writes_a_picked_face_once(picture, monkeypatch, tmp_path):
    """Its background and composite are one picture: one file, written once, and not again when sent again."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    editor = app.face_editor()
    first, opened = _files_written(lambda: editor.postprocess(editor_files(faces.editor_value(picture))), monkeypatch)
    assert first.background.path == first.composite.path and len(opened) == 1
    assert np.array_equal(np.asarray(Image.open(first.background.path).convert("RGB")), faces.display(picture))
    again, opened = _files_written(lambda: editor.postprocess(editor_files(faces.editor_value(picture))), monkeypatch)
    assert again.background.path == first.background.path and opened == []


def test_gradios_own_editor_writes_that_picture_twice(picture, monkeypatch, tmp_path):
    """If a Gradio release stops rewriting, this fails, and editor_files can go."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    editor = gr.ImageEditor(type="numpy", format="png")
    sent, opened = _files_written(lambda: editor.postprocess(faces.editor_value(picture)), monkeypatch)
    assert opened.count(sent.background.path) == 2

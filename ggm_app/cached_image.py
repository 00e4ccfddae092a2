"""Images the app sends that are written to Gradio's cache once per content, never rewritten in place.

Gradio saves every array it sends as ``<cache>/<hash of the bytes>/image.png`` and writes that file again each
time the same picture is sent (``processing_utils.save_pil_to_cache``). A streamed run sends the same picture
often (panel 2 every run, unchanged frames), and a browser still fetching the earlier copy then reads a file
being truncated and rewritten: uvicorn logs ``h11 LocalProtocolError: Too much/little data for declared
Content-Length`` and the image can arrive broken. (The face editor's value is worse: its background and
composite are one picture, so one update wrote the same file twice.) Here a picture is written under a temporary
name and renamed into place once; sending it again only refreshes its timestamp (so the cache sweeper keeps it).
"""

import hashlib
import io
import os
import tempfile
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image


def png_once(image: np.ndarray, cache_dir: str | Path) -> str:
    """The path of ``image`` (uint8 (H, W, 3) or (H, W, 4)) as a PNG in ``cache_dir``, written atomically if not
    there yet."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buffer, format="png")
    data = buffer.getvalue()
    folder = Path(cache_dir) / hashlib.sha256(data).hexdigest()
    path = folder / "image.png"
    if path.is_file():
        os.utime(path)  # same content: only the time the cache sweeper reads moves on
        return str(path)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".image.", suffix=".tmp", delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, path)
    return str(path)


def cached_image(**kwargs) -> gr.Image:
    """A ``gr.Image`` for the app's output panels whose arrays go through :func:`png_once`. (Its ``postprocess``
    is wrapped on the instance: a subclass of a Gradio component makes Gradio write a ``.pyi`` stub beside
    this file at import.)"""
    image = gr.Image(format="png", **kwargs)
    plain = image.postprocess
    image.postprocess = lambda value: plain(
        png_once(value, image.GRADIO_CACHE) if isinstance(value, np.ndarray) else value
    )
    return image


def write_editor_images_once(editor: gr.ImageEditor) -> gr.ImageEditor:
    """``editor`` with the arrays of the values the app sends it (background, composite, layers) written through
    :func:`png_once`."""
    plain = editor.postprocess

    def once(image):
        return png_once(image, editor.GRADIO_CACHE) if isinstance(image, np.ndarray) else image

    def postprocess(value):
        if isinstance(value, np.ndarray):  # a bare picture is the background and the composite (as in Gradio)
            value = {"background": value, "layers": [], "composite": value}
        if isinstance(value, dict):
            value = {**value, "background": once(value.get("background")), "composite": once(value.get("composite")),
                     "layers": [once(layer) for layer in value.get("layers") or []]}  # fmt: skip
        return plain(value)

    editor.postprocess = postprocess
    return editor

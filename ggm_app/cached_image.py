"""Pictures the app sends go to the page as PNG files written once per content, never rewritten in place.

Gradio saves every array it sends as ``<cache>/<hash of the bytes>/image.png`` and writes that file again each
time the same picture is sent (``processing_utils.save_pil_to_cache``). A streamed run sends the same picture
often (panel 2 every run, unchanged frames), and a browser still fetching the earlier copy then reads a file
being truncated and rewritten: uvicorn logs ``h11 LocalProtocolError: Too much/little data for declared
Content-Length`` and the image can arrive broken. (The face editor's value is worse: its background and
composite are one picture, so one update wrote the same file twice.) Here a picture is written under a temporary
name and renamed into place once; sending it again only refreshes its timestamp (so the cache sweeper keeps it).

The app hands Gradio the file's path, which Gradio serves as it is (a file in its cache is not copied). This is
done to the values, not by wrapping a component's ``postprocess``: Gradio replaces a component by a fresh one of
its class, for the session, whenever a handler sends it an update (a ``gr.skip()`` too), and the fresh one has no
wrapper.
"""

import hashlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np
from gradio.utils import get_upload_folder
from PIL import Image


def png_file(image: np.ndarray) -> str:
    """The path of ``image`` (uint8 (H, W, 3) or (H, W, 4)) as a PNG in Gradio's cache, written atomically if not
    there yet: what an output panel is sent."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buffer, format="png")
    data = buffer.getvalue()
    folder = Path(get_upload_folder()) / hashlib.sha256(data).hexdigest()
    path = folder / "image.png"
    if path.is_file():
        os.utime(path)  # same content: only the time the cache sweeper reads moves on
        return str(path)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".image.", suffix=".tmp", delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, path)
    return str(path)


def editor_files(value: dict) -> dict:
    """An image editor's value (background, layers, composite) with its pictures as PNG files (:func:`png_file`)."""
    return {
        "background": png_file(value["background"]),
        "layers": [png_file(layer) for layer in value.get("layers") or []],
        "composite": png_file(value["composite"]),
    }

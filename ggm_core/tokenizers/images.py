"""Any image Pillow reads → the RGB square a model sees (shared by data preparation and the app)."""

import numpy as np
from PIL import Image


def to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow image → RGB; transparency is composited over white; 16-bit greyscale divided by 257, float greyscale
    in [0, 1] multiplied by 255."""
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        a = np.asarray(im, dtype=np.float64)
        if im.mode.startswith("I;16") or (im.mode == "I" and a.max() > 255):
            a = a / 257  # 16-bit: 65535 → 255, keeping the image's own brightness (not stretched to its maximum)
        elif im.mode == "F" and a.max() <= 1.0:
            a = a * 255  # float in [0, 1]
        im = Image.fromarray(np.round(a).clip(0, 255).astype(np.uint8))
    if im.mode in ("P", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode == "RGBA":
        im = Image.alpha_composite(Image.new("RGBA", im.size, (255, 255, 255, 255)), im)
    return im.convert("RGB")


def centre_square(size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The crop box of the largest centred square in an image of ``size`` (width, height)."""
    w, h = size
    s = min(w, h)
    return (w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s

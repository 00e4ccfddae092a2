"""Faces tab logic: images in, brush mask → token cells, blending, the mask as the model sees it, GIF export.

The model works on a 64×64 image as a 16×16 grid of VQ codes, one per 4×4 patch (raster order). A patch is
unknown, and will be redrawn, if any of its pixels touches the brush mask. After decoding, pixels outside the
unknown patches are the user's own pixels; inside them, the decoded pixels are blended with the original over
a 2-pixel ramp at the region's border.

The editor shows images at ``DISPLAY_SCALE``× (nearest neighbour) so the brush is finer than a pixel; any
other size (an API call, a pasted image) is centre-cropped and resized.
"""

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ggm_app.cached_image import png_file
from ggm_app.common import export_dir
from ggm_app.session import RunPlan, Trajectory
from ggm_core.image_infill import blend_alpha, cells_to_pixels, compose, mask_to_cells
from ggm_core.tokenizers.images import centre_square, to_rgb

DISPLAY_SCALE = 4
MASK_TINT = np.array([230, 159, 0], np.float32)  # Okabe-Ito orange
GRID_LINE = np.array([0, 114, 178], np.uint8)  # Okabe-Ito blue
MAX_PIXELS = 64_000_000  # larger images are refused before decoding
GIF_FRAMES = 60
MASKED_GREY = 128  # a masked cell (MD4) before it is revealed
SIGNAL_COLOUR = np.array([0, 114, 178], np.float32)  # Okabe-Ito blue: the classifier says signal
NOISE_COLOUR = np.array([230, 159, 0], np.float32)  # Okabe-Ito orange: it says fresh noise


class ImageInputError(ValueError):
    """An image the app cannot use; the message is meant for the user."""


# ---------------------------------------------------------------------------------------------- images in
def square_resize(im: Image.Image, size: int, resample=Image.Resampling.LANCZOS) -> Image.Image:
    """Centre-crop to a square and resize to ``size``; an exact integer downscale is a box average."""
    box = centre_square(im.size)
    s = box[2] - box[0]
    if s % size == 0 and resample != Image.Resampling.NEAREST:
        return im.crop(box).reduce(s // size)  # exact for a nearest-neighbour upscale (the editor's display)
    return im.resize((size, size), resample, box=box)


def load_image_file(path: str | Path, size: int = 64) -> np.ndarray:
    """Any file Pillow reads → uint8 (size, size, 3); raises :class:`ImageInputError` with a readable reason."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            if im.width * im.height > MAX_PIXELS:
                raise ImageInputError(
                    f"{path.name} is {im.width}×{im.height} pixels: too large (limit {MAX_PIXELS // 1_000_000} MP)."
                )
            im.draft("RGB", (size * 4, size * 4))  # JPEG: decode at reduced scale, fast for huge photos
            im = ImageOps.exif_transpose(im)
            return np.asarray(square_resize(to_rgb(im), size), dtype=np.uint8)
    except ImageInputError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as err:
        raise ImageInputError(f"{path.name} is not an image Pillow can read ({err.__class__.__name__}).") from err
    except (OSError, ValueError, SyntaxError) as err:  # truncated or corrupt files
        raise ImageInputError(f"{path.name} could not be read as an image: {err}") from err


def array_to_square(array: np.ndarray, size: int = 64) -> np.ndarray:
    """An image array (H, W), (H, W, 3) or (H, W, 4) uint8 → RGB uint8 (size, size, 3)."""
    a = np.asarray(array)
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)) or min(a.shape[:2]) == 0:
        raise ImageInputError(f"expected an image array, got shape {a.shape}")
    return np.asarray(square_resize(to_rgb(Image.fromarray(a)), size), dtype=np.uint8)


def display(image: np.ndarray, scale: int = DISPLAY_SCALE) -> np.ndarray:
    """Nearest-neighbour upscale for the editor (so a brush stroke can be finer than a model pixel)."""
    return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)


def editor_value(image: np.ndarray) -> dict:
    """An ``gr.ImageEditor`` value showing ``image`` (64×64) with nothing drawn."""
    big = display(image)
    return {"background": big, "layers": [], "composite": big}


def layers_mask(layers, shape_hw: tuple[int, int]) -> np.ndarray:
    """Union of drawn pixels (alpha > 0) over the editor's layers, as bool (H, W) at the background's size."""
    mask = np.zeros(shape_hw, dtype=bool)
    for layer in layers or []:
        if layer is None:
            continue
        a = np.asarray(layer)
        alpha = a[..., 3] if a.ndim == 3 and a.shape[2] == 4 else (a.max(axis=-1) if a.ndim == 3 else a)
        drawn = alpha > 0
        if drawn.shape != mask.shape:  # an API caller may send a layer of another size: stretch it to the image
            drawn = np.asarray(Image.fromarray(drawn).resize(mask.shape[::-1], Image.Resampling.NEAREST))
        mask |= drawn
    return mask


def downscale_mask(mask: np.ndarray, size: int = 64) -> np.ndarray:
    """bool (H, W) → bool (size, size): a pixel is masked if the mask touches it (same crop as the image)."""
    im = Image.fromarray(mask.astype(np.uint8) * 255)
    return np.asarray(square_resize(im, size, Image.Resampling.BOX)) > 0


def read_editor(value, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """An ImageEditor value → (image uint8 (size, size, 3), pixel mask bool (size, size)).

    Raises :class:`ImageInputError` when there is no image.
    """
    if not isinstance(value, dict) or value.get("background") is None:
        raise ImageInputError("No image: pick an example face or upload a photo first.")
    background = np.asarray(value["background"])
    image = array_to_square(background, size)
    mask = layers_mask(value.get("layers"), background.shape[:2])
    return image, downscale_mask(mask, size)


def mask_view(image: np.ndarray | None, cells: np.ndarray, patch: int = 4, scale: int = DISPLAY_SCALE) -> np.ndarray:
    """What the model will repaint: the image with unknown token cells tinted and the grid drawn over them."""
    size = cells.shape[0] * patch
    base = np.full((size, size, 3), 128, np.uint8) if image is None else image
    big = display(base, scale).astype(np.float32)
    region = display(cells_to_pixels(cells, patch), scale)
    big[region] = 0.45 * big[region] + 0.55 * MASK_TINT
    out = big.round().astype(np.uint8)
    if patch == 1:  # pixels, not token cells: no grid to draw
        return out
    step = patch * scale
    grid = np.zeros(region.shape, bool)
    grid[::step, :] = True
    grid[:, ::step] = True
    grid[step - 1 :: step, :] = True
    grid[:, step - 1 :: step] = True
    out[grid & region] = GRID_LINE
    return out


# ---------------------------------------------------------------------------------------------- export
def export_gif(frames: list[np.ndarray], path: Path, scale: int = DISPLAY_SCALE, ms: int = 60) -> Path:
    """An animated GIF of uint8 (H, W, 3) frames, upscaled, holding the last frame for 1.5 s.

    Each frame is quantised to its palette at its own size and then upscaled (nearest, in palette mode):
    ten times faster than quantising the upscaled frame (0.12 s against 1.1 s for 60 frames, measured)."""
    ims = [
        Image.fromarray(f)
        .quantize(256, method=Image.Quantize.FASTOCTREE)
        .resize((f.shape[1] * scale, f.shape[0] * scale), Image.Resampling.NEAREST)
        for f in frames
    ]
    durations = [ms] * (len(ims) - 1) + [1500]
    path = Path(path)
    ims[0].save(path, save_all=True, append_images=ims[1:], duration=durations, loop=0, optimize=False)
    return path


def load_examples(paths: list[Path], size: int) -> list[tuple[np.ndarray, str]]:
    """The example faces that load, as (image, name); unreadable files are skipped."""
    out = []
    for p in paths:
        try:
            out.append((load_image_file(p, size), p.stem))
        except ImageInputError:
            continue
    return out


def find_examples(folders: list[Path]) -> list[Path]:
    """PNG/JPEG example faces from the first folder that has any."""
    for folder in folders:
        if folder.is_dir():
            files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"))
            if files:
                return files
    return []


# ---------------------------------------------------------------------------------------------- the tab's view
def decode_canvas(tokenizer, tokens) -> np.ndarray:
    """Codes (L,) → uint8 (H, W, 3), or (N, L) → (N, H, W, 3) in one decoder pass; masked codes (MD4's id
    ``V``) are grey cells."""
    codes = torch.as_tensor(np.asarray(tokens), dtype=torch.long)
    batch = codes.reshape(-1, codes.shape[-1])
    masked = batch >= tokenizer.vocab_size
    images = tokenizer.decode(torch.where(masked, 0, batch))
    if bool(masked.any()):
        images = images.copy()
        for image, cells in zip(images, masked.numpy(), strict=True):
            image[cells_to_pixels(cells.reshape(tokenizer.grid_shape), tokenizer.patch_size)] = MASKED_GREY
    return images if codes.dim() > 1 else images[0]


def belief_map(image: np.ndarray, belief: np.ndarray, grid: tuple[int, int], patch: int) -> np.ndarray:
    """The image under a blue (signal) to orange (noise) tint per token cell, by the model's belief."""
    b = np.repeat(np.repeat(np.asarray(belief, np.float32).reshape(grid), patch, 0), patch, 1)[..., None]
    tint = b * SIGNAL_COLOUR + (1 - b) * NOISE_COLOUR
    return display((0.5 * image.astype(np.float32) + 0.5 * tint).round().astype(np.uint8))


class FaceView:
    """How the faces tab shows a run: decoded frames blended into the user's image, the belief map, the GIF."""

    belief_legend = "each token cell tinted blue = signal (D = 1) to orange = noise (D = 0), D = σ(h[x] + log κ/(1−κ))."

    def picture(self, model, tokens, extra: dict) -> np.ndarray:
        return compose(decode_canvas(model.tokenizer, tokens), extra.get("image"), extra.get("alpha"))

    def frame(self, model, tokens, states, extra: dict) -> str:
        """The frame as a PNG file in Gradio's cache (ggm_app.cached_image)."""
        return png_file(display(self.picture(model, tokens, extra)))

    def belief(self, model, tokens, belief, extra: dict) -> str:
        tok = model.tokenizer
        return png_file(belief_map(self.picture(model, tokens, extra), belief.numpy(), tok.grid_shape, tok.patch_size))

    def export(self, traj: Trajectory, model, summary: str) -> Path:
        decoded = decode_canvas(model.tokenizer, np.stack([traj.tokens[i] for i in traj.subsample(GIF_FRAMES)]))
        frames = [compose(d, traj.extra.get("image"), traj.extra.get("alpha")) for d in decoded]
        return export_gif(frames, export_dir() / "ggm_face_trajectory.gif")


def plan_run(mode: str, inputs: list, model, settings=None) -> RunPlan:
    """The faces tab's input (the editor) for ``model``: known token cells and the user's image, or an error.

    The first frame also sends panel 2, the cells the model will redraw. Generating takes no input: the button
    sends no editor, so Gradio does not decode its images first (about 0.2 s)."""
    tok = model.tokenizer
    everything = np.ones(tok.grid_shape, dtype=bool)
    if mode == "generate":
        return RunPlan(first_outputs=(png_file(mask_view(None, everything, tok.patch_size)),))
    (value,) = inputs
    try:
        image, pixel_mask = read_editor(value, tok.image_size)
    except ImageInputError as err:
        return RunPlan(error=str(err))
    if mode == "noise":
        codes = tok.encode(image[None])[0]
        view = png_file(mask_view(image, everything, tok.patch_size))
        return RunPlan(noise_from=codes, first_outputs=(view,))
    cells = mask_to_cells(pixel_mask, tok.patch_size)
    if not cells.any():
        msg = "The mask is empty: brush over the region to repaint first (or use Generate a new face)."
        return RunPlan(error=msg, error_outputs=(png_file(mask_view(image, cells, tok.patch_size)),))
    if cells.all():
        note = "The mask covers the whole image: this is the same as generating a new face."
        return RunPlan(notices=[note], first_outputs=(png_file(mask_view(None, cells, tok.patch_size)),))
    known = tok.known_from_cells(cells)
    extra = {"image": image, "alpha": blend_alpha(cells, tok.patch_size)}
    notes = (
        ["This model works on pixels, not token cells: only the brushed pixels are redrawn."]
        if tok.patch_size == 1
        else []
    )
    view = png_file(mask_view(image, cells, tok.patch_size))
    return RunPlan(known, tok.encode(image[None])[0], extra, notes=notes, first_outputs=(view,))


def empty_mask_view(image: np.ndarray, model) -> str:
    """Panel 2 for a freshly loaded image: nothing to repaint yet (a PNG file, ggm_app.cached_image)."""
    tok = model.tokenizer
    return png_file(mask_view(image, np.zeros(tok.grid_shape, bool), tok.patch_size))


def preview(value, model) -> str | None:
    """Panel 2 while the user brushes: the cells the mask touches, as a PNG file (None without an image)."""
    tok = model.tokenizer
    try:
        image, pixel_mask = read_editor(value, tok.image_size)
    except ImageInputError:
        return None
    return png_file(mask_view(image, mask_to_cells(pixel_mask, tok.patch_size), tok.patch_size))

"""Gradio app for the Glauber Generative Model: generate or infill text and faces, one token at a time.

    python app.py                                   # assets/text_austen and assets/faces
    python app.py --text-model PATH_OR_HUB_ID --face-model PATH_OR_HUB_ID
    GGM_TEXT_MODEL=... GGM_FACE_MODEL=... python app.py

Several checkpoints per tab: repeat the flag or separate them with commas. A missing checkpoint disables its
tab with a message. Every computation is a ``ggm_core`` call; UI logic lives in ``ggm_app/``.
"""

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no update check or analytics: works offline

from ggm_app import device  # noqa: E402  (first: on ZeroGPU it imports spaces before torch)

# isort: split
import gradio as gr  # noqa: E402
import torch  # noqa: E402
from gradio.utils import get_upload_folder as gradio_upload_folder  # noqa: E402

from ggm_app import faces, howitworks  # noqa: E402
from ggm_app import text as textui  # noqa: E402
from ggm_app.cached_image import editor_files  # noqa: E402
from ggm_app.common import (  # noqa: E402
    COLOR_MAP,
    STATE_HELP,
    ModelSlot,
    load_slot,
    split_specs,
    start_cache_sweeper,
)
from ggm_app.controls import (  # noqa: E402
    RunOutputs,
    TabController,
    advanced_panel,
    compare_columns,
    refuse_unreadable_images,
)
from ggm_app.warm_up import WarmUp  # noqa: E402

ROOT = Path(__file__).resolve().parent
DEFAULT_TEXT_MODEL = "assets/text_austen"
DEFAULT_FACE_MODEL = "assets/faces"
DEFAULT_EXTRA_FACE_MODELS = ("assets/md4_faces", "assets/blackout_faces")  # beside it when present: Compare
SHIPPED_EXAMPLES = ROOT / "ggm_app" / "examples"
WARM_UP_POLL_S = 3.0  # how often a page asks whether the compiled paths are ready
MAX_FILE_MB = 10
MAX_FILE_SIZE = f"{MAX_FILE_MB}mb"
# what the status says while the file dialog is open; Gradio refuses a larger file before any handler runs, so
# this line is all the status can say about it (the refusal itself is Gradio's notice)
UPLOAD_HELP = f"Choose a photo: any image file up to {MAX_FILE_MB} MB (a larger one is refused with a notice)."
SAMPLING_THREADS = int(os.environ.get("GGM_THREADS", 1))  # one sampling thread: OpenMP threads spin under load
# Handlers that may stream at once; the samplers they share run on ggm_app.batcher's lanes (GGM_LANES, one a core).
RUNS_AT_ONCE = int(os.environ.get("GGM_RUNS_AT_ONCE", 16))
CACHE_MAX_AGE_S = float(os.environ.get("GGM_CACHE_MAX_AGE_S", 3600))  # Gradio's cached frames and downloads
CACHE_MAX_MB = float(os.environ.get("GGM_CACHE_MAX_MB", 500))  # and their total size: the oldest go first
IMAGE_TOKENIZERS = ("vq", "pixels")  # the faces tab: VQ codes (GGM, MD4) or raw pixels (Blackout)
COMPARE_HELP = (
    "Two or more models (or one model at two budgets) on the same input and seed, streaming together. A "
    "budget is a number of network calls; each family meets it its own way (GGM: positions per call; MD4: "
    "a time grid; Blackout: bridge steps). Each column starts at what the main panel runs for its model; 0 is "
    "each one's exact setting. Each readout counts only its own sampler's time; the last line says how long "
    "the whole comparison took."
)
MISSING_PAIR = {
    "text": "No MD4 text model ships yet: one on the same document windows at the GGM's training compute "
    "(`training/configs/md4_austen_documents.toml`, about 9 CPU-hours) is in training. Load one with "
    "`--text-model assets/text_austen --text-model PATH`.",
    "face": "Load an MD4 face model with `--face-model assets/faces --face-model PATH` to compare the families.",
}
DCGAN_NOTE = (
    "<small>Example faces are samples of a DCGAN (PyPI `gan-face-generate`) trained on Microsoft DigiFace-1M, "
    "which is licensed for non-commercial research only.</small>"
)

CSS = """
#face-result img, #face-mask img, #face-gallery img, .ggm-face img { image-rendering: pixelated; }
#face-gallery .grid-container { grid-template-columns: repeat(6, minmax(0, 1fr)) !important; }
#face-gallery .thumbnail-item { width: 100% !important; height: auto !important; aspect-ratio: 1; }
#face-gallery .grid-wrap { padding-top: 30px; }  /* the label sits over the first thumbnails otherwise */
/* the empty editor: what to do first (Gradio's own line, "select the draw tool to start", contradicted the status) */
#face-editor .empty.wrap { font-size: 0 !important; }
#face-editor .empty.wrap::after { content: "Pick an example face below, or upload a photo"; font-size: 0.95rem; }
@media (max-width: 640px) {  /* a phone: the buttons under the editor, panels 2 and 3 side by side */
  #face-buttons { order: -1; }
  #face-buttons > button { flex: 1 1 40% !important; min-width: 0 !important; font-size: 0.95rem; }
  #face-gallery { height: auto !important; }
  #face-panels { flex-wrap: nowrap; }
  #face-panels > * { min-width: 0 !important; }
  #face-panels > .block { height: 215px !important; }
  /* the editor's label wraps left of its tool bar (which covered it); panels 2 and 3: labels above the pictures */
  #face-editor [data-testid="block-label"] { max-width: calc(100% - 190px); white-space: normal; line-height: 1.2; }
  #face-panels [data-testid="block-label"] { position: static; }
  #face-panels img { object-fit: contain !important; width: 100% !important; height: 100% !important; }
  .ggm-run-row { flex-wrap: wrap; }  /* the scrubber on a line of its own: the toggle's label wrapped to 5 lines */
  .ggm-run-row > * { min-width: 45% !important; }
  .ggm-run-row > .ggm-scrub { min-width: 100% !important; }
}
.ggm-tokens { min-height: 10rem; }
.ggm-tokens .textfield { word-break: normal; row-gap: 3px; font-size: 1.05rem; }
.ggm-tokens .token.highlighted { margin: 0 !important; padding: 2px 0 !important; border-radius: 0 !important;
  box-shadow: inset -1px 0 0 rgba(255, 255, 255, 0.9); }
.dark .ggm-tokens .token.highlighted { color: #f5f5f5 !important; box-shadow: inset -1px 0 0 rgba(0, 0, 0, 0.6); }
.ggm-diagram svg { border: 1px solid #ddd; border-radius: 8px; }
footer { display: none !important; }
""" + "".join(  # dark theme: the legend's 50%-alpha chips under black text were 2–4:1; opaque chips are 6–15:1
    f".dark .ggm-tokens .legend-item:nth-child({i + 1}) {{ background-color: {c} !important; color: #000 !important; }}\n"
    for i, c in enumerate(COLOR_MAP.values())
)


def run_outputs(view, prefix: str, label: str, extra=()) -> RunOutputs:
    """Status, the scrubber with its belief toggle, the download button and the frame line, under ``view``."""
    status = gr.Markdown("", label="Status", elem_id=f"{prefix}-status")
    with gr.Row(equal_height=True, elem_classes=["ggm-run-row"]):
        scrub = gr.Slider(
            0, 1, value=0, step=1, label="Scrub through the run", visible=False, scale=4, elem_id=f"{prefix}-scrub",
            elem_classes=["ggm-scrub"],
        )  # fmt: skip
        belief = gr.Checkbox(False, label="Show what the model believes", scale=1, elem_id=f"{prefix}-belief")
        download = gr.DownloadButton(label, visible=False, scale=1, elem_id=f"{prefix}-dl")
    frame_info = gr.Markdown("", label="Frame", elem_id=f"{prefix}-frame-info")
    return RunOutputs(view, status, scrub, download, frame_info, belief, list(extra))


def compare_help(slot: ModelSlot, tab: str) -> str:
    """What Compare does, and why a pairing of families is unavailable when the tab holds only one family."""
    labels = sorted({m.label for m in slot.models.values()})
    if len({m.family for m in slot.models.values()}) > 1:
        return COMPARE_HELP
    return f"{COMPARE_HELP}\n\nOnly {', '.join(labels)} is loaded here: compare it at two budgets. {MISSING_PAIR[tab]}"


def token_view(elem_id: str, label: str = "Tokens (coloured by state)") -> gr.HighlightedText:
    return gr.HighlightedText(
        label=label, color_map=COLOR_MAP, show_legend=True, show_inline_category=False, combine_adjacent=False,
        elem_id=elem_id, elem_classes=["ggm-tokens"],
    )  # fmt: skip


def face_view(elem_id: str, label: str = "3 · Result", height: int = 300) -> gr.Image:
    return gr.Image(
        format="png",
        label=label,
        interactive=False,
        height=height,
        elem_id=elem_id,
        buttons=[],
        elem_classes=["ggm-face"],
    )


# ============================================================================================== text tab
def build_text_tab(slot: ModelSlot) -> None:
    gr.Markdown(
        "Type some text and mark gaps with **`[___]`** (a few words: the model chooses how many) or **`[N]`** "
        "(exactly N tokens), then **Fill the gaps** and watch them fill, one token per network call. Your text "
        "never changes, and it is the whole text: nothing is written after it unless you tick **Write on**. Or "
        "**Generate from nothing**, or **Noise it** to watch the forward process dissolve your text and the "
        "reverse chain bring a sample back."
    )
    with gr.Row():
        with gr.Column(scale=3):
            prompt = gr.Textbox(
                value=textui.EXAMPLES[0], lines=4, label="Text with gaps", elem_id="text-input",
                placeholder="It is a truth universally acknowledged, that [___] must be in want of a [3].",
            )  # fmt: skip
            gr.Examples([[t] for t in textui.EXAMPLES], inputs=[prompt], label="Examples")
        with gr.Column(scale=1, min_width=200):
            infill_btn = gr.Button("Fill the gaps", variant="primary", elem_id="text-infill")
            gen_btn = gr.Button("Generate from nothing", elem_id="text-generate")
            noise_btn = gr.Button("Noise it, then bring it back", elem_id="text-noise")
            stop_btn = gr.Button("■ Stop", variant="stop", elem_id="text-stop")
            write_on = gr.Checkbox(False, label="Write on after my text", elem_id="text-write-on")
    out = run_outputs(token_view("text-out"), "text", "Download the trajectory (HTML)")
    gr.Markdown(STATE_HELP)
    advanced = advanced_panel("text", slot)
    tab = TabController(slot, textui.TextView(), textui.plan_run, advanced, out)
    inputs, names = [prompt, write_on], ["text", "write_on"]
    tab.wire_run(infill_btn.click, "infill", inputs, names, "infill_text")
    tab.wire_run(prompt.submit, "infill", inputs, names, False)
    tab.wire_run(gen_btn.click, "generate", inputs, names, "generate_text")
    tab.wire_run(noise_btn.click, "noise", inputs, names, "noise_text")
    with gr.Accordion("Compare side by side", open=False, elem_id="text-compare"):
        gr.Markdown(compare_help(slot, "text"))
        parts = compare_columns("text", slot, 2, lambda elem_id: token_view(elem_id, "Tokens"))
        with gr.Row():
            cmp_fill = gr.Button("Compare: fill the gaps", variant="primary", elem_id="text-compare-infill")
            cmp_gen = gr.Button("Compare: generate from nothing", elem_id="text-compare-generate")
    tab.wire_compare(cmp_fill.click, "infill", inputs, names, parts, "compare_infill_text")
    tab.wire_compare(cmp_gen.click, "generate", inputs, names, parts, "compare_generate_text")
    tab.wire_common(stop_btn, "text")


# ============================================================================================== faces tab
def face_editor() -> gr.ImageEditor:
    # The editor starts empty. With a first face in it, a pick made while the browser still loads that
    # face left it on screen (panel 2 showing the pick): 8 of 8 fresh page loads over a 300 ms link.
    editor = gr.ImageEditor(
        value=None,
        type="numpy",
        image_mode="RGBA",
        sources=(),
        transforms=(),
        layers=False,
        brush=gr.Brush(colors=[("#D55E00", 0.6)], default_color=("#D55E00", 0.6), color_mode="fixed", default_size=14),
        eraser=gr.Eraser(default_size=14),
        canvas_size=(256, 256),
        height=380,
        label="1 · Brush over the region to repaint",
        elem_id="face-editor",
        format="png",  # lossless: the pixels outside the mask must come back exactly
        buttons=[],
    )
    editor.preprocess = refuse_unreadable_images(editor.preprocess)
    return editor


def build_face_tab(slot: ModelSlot, examples: list[Path]) -> None:
    gr.Markdown(
        "Pick an example face or upload a photo (any size: centre-cropped to 64×64), **brush over the region to "
        "repaint**, then **Repaint the brushed region**. The middle image shows the token cells a run redraws (a "
        "4×4-pixel cell changes if the brush touches it). Or **Generate a new face** (every cell), or **Noise it**: "
        "your photo and brush stay in panel 1 for the next Repaint."
    )
    example_images = faces.load_examples(examples, slot.models[slot.names[0]].tokenizer.image_size)
    with gr.Row():
        with gr.Column(scale=5, min_width=300):
            editor = face_editor()
            upload = gr.UploadButton("Upload a photo…", size="sm", elem_id="face-upload")
            gallery = gr.Gallery(
                [im for im, _ in example_images], label="Example faces (click one)", columns=6, height=130,
                allow_preview=False, show_label=True, elem_id="face-gallery", buttons=[],
            )  # fmt: skip
        with gr.Column(scale=5, min_width=300):
            with gr.Row(elem_id="face-panels"):
                mask_img = face_view("face-mask", "2 · What the run redraws (token cells)")
                result = face_view("face-result")
            with gr.Row(elem_id="face-buttons"):
                infill_btn = gr.Button("Repaint the brushed region", variant="primary", elem_id="face-infill")
                gen_btn = gr.Button("Generate a new face", elem_id="face-generate")
                noise_btn = gr.Button("Noise it, then bring it back", elem_id="face-noise")
                stop_btn = gr.Button("■ Stop", variant="stop", elem_id="face-stop")
            out = run_outputs(result, "face", "Download the trajectory (GIF)", [mask_img])
            out.status.value = "Pick an example face or upload a photo to start."
    gr.Markdown(DCGAN_NOTE)
    advanced = advanced_panel("face", slot)
    tab = TabController(slot, faces.FaceView(), faces.plan_run, advanced, out)
    tab.wire_run(infill_btn.click, "infill", [editor], ["editor"], "infill_face")
    tab.wire_run(gen_btn.click, "generate", [], [], "generate_face")
    tab.wire_run(noise_btn.click, "noise", [editor], ["editor"], "noise_face")
    with gr.Accordion("Compare side by side", open=False, elem_id="face-compare"):
        gr.Markdown(compare_help(slot, "face"))
        parts = compare_columns("face", slot, 3, lambda elem_id: face_view(elem_id, "Result", 220))
        with gr.Row():
            cmp_fill = gr.Button("Compare: repaint", variant="primary", elem_id="face-compare-infill")
            cmp_gen = gr.Button("Compare: generate", elem_id="face-compare-generate")
    tab.wire_compare(cmp_fill.click, "infill", [editor], ["editor"], parts, "compare_infill_face")
    tab.wire_compare(cmp_gen.click, "generate", [], [], parts, "compare_generate_face")
    tab.wire_common(stop_btn, "face")

    def preview(value, name):
        return faces.preview(value, slot.pick(name)[1])

    def loaded(image, name, message):
        """A new image in the editor: nothing brushed yet, and the previous run's result and controls cleared."""
        model = slot.pick(name)[1]
        image = faces.array_to_square(image, model.tokenizer.image_size)
        hide = gr.update(visible=False)
        return (
            editor_files(faces.editor_value(image)),
            faces.empty_mask_view(image, model),
            message,
            hide,
            hide,
            "",
            None,
        )

    def load_upload(path, name):
        try:
            image = faces.load_image_file(path, slot.pick(name)[1].tokenizer.image_size)
        except (faces.ImageInputError, TypeError) as err:
            message = str(err) if path else "No file received."
            gr.Warning(message)
            return (gr.skip(), gr.skip(), f"⚠️ {message}", *[gr.skip()] * 4)
        return loaded(image, name, "Image loaded (centre-cropped to 64×64). Now brush over what to repaint.")

    def pick_example(name, evt: gr.SelectData):
        i = evt.index if isinstance(evt.index, int) else evt.index[0]
        return loaded(example_images[i][0], name, "Example loaded. Brush over what to repaint.")

    # .input, not .change: Gradio's editor swallows the first .change after it loads (measured: the first
    # brush stroke sent no event); .input fires on every stroke and when a new background loads.
    editor.input(preview, [editor, advanced.model], mask_img, api_name="preview_mask", show_progress="hidden",
                 trigger_mode="always_last")  # fmt: skip
    new_image = [editor, mask_img, out.status, out.scrub, out.download, out.frame_info, result]
    # Before the file dialog: a file over the limit is refused by Gradio before any handler runs, so the status
    # must not still show the previous file's message then.
    upload.click(lambda: UPLOAD_HELP, None, out.status, api_name=False,
                 queue=False, show_progress="hidden")  # fmt: skip
    upload.upload(load_upload, [upload, advanced.model], new_image, api_name="load_image")
    gallery.select(pick_example, [advanced.model], new_image, api_name=False)


# ============================================================================================== the app
@dataclass(frozen=True)
class TabSpec:
    """One tab of the app: its title, which models it takes (``what``: its command-line flag and environment
    variable), and the function that lays it out with its slot of models and the example faces."""

    title: str
    id: str
    what: str
    flag: str
    env: str
    build: Callable[[ModelSlot, list[Path]], None]


TABS = (
    TabSpec("Text", "text", "text", "--text-model", "GGM_TEXT_MODEL", lambda slot, _examples: build_text_tab(slot)),
    TabSpec("Faces", "faces", "face", "--face-model", "GGM_FACE_MODEL", build_face_tab),
)


def build_demo(
    text: ModelSlot, face: ModelSlot, examples: list[Path] | None = None, warm_up: WarmUp | None = None
) -> gr.Blocks:
    """The whole app; ``text`` and ``face`` hold the loaded checkpoints (a tab without one shows why); while
    ``warm_up`` builds the compiled paths, a line under the title says so."""
    with gr.Blocks(title="Glauber Generative Model") as demo:
        gr.Markdown(
            "# Glauber Generative Model\n"
            "A discrete diffusion model that denoises a sequence of tokens **one position at a time** "
            "(heat-bath / Glauber dynamics), learned by telling signal from noise "
            "([arXiv 2405.17035](https://arxiv.org/abs/2405.17035)). Watch every step."
        )
        if warm_up is not None:
            notice = gr.Markdown(warm_up.notice, elem_id="warm-up")
            timer = gr.Timer(WARM_UP_POLL_S)
            timer.tick(lambda: (warm_up.notice(), gr.Timer(active=not warm_up.ready)), None, [notice, timer],
                       api_name=False, queue=False, show_progress="hidden")  # fmt: skip
        slots = {"text": text, "face": face}
        with gr.Tabs():
            for tab in TABS:
                with gr.Tab(tab.title, id=tab.id):
                    slot = slots[tab.what]
                    if slot.models:
                        tab.build(slot, examples or [])
                    else:
                        gr.Markdown(
                            _unavailable(tab.what, tab.flag, tab.env, slot.errors), elem_id=f"{tab.what}-missing"
                        )
        with gr.Accordion("How it works", open=False):
            gr.Markdown(howitworks.TEXT)
            gr.HTML(howitworks.panel_html())
    return demo


def _unavailable(what: str, flag: str, env: str, errors: list[str]) -> str:
    reasons = "\n".join(f"- {e}" for e in errors) or "- no checkpoint given"
    return (
        f"### The {what} model is not available\n{reasons}\n\n"
        f"Start the app with `{flag} PATH_OR_HUB_ID` or set `{env}` to a checkpoint folder or Hugging Face repo id."
    )


def launch_kwargs() -> dict:
    """Host and port (0.0.0.0:7860 on Hugging Face Spaces), upload limit and CSS."""
    on_spaces = os.environ.get("SYSTEM") == "spaces"
    return {
        "server_name": "0.0.0.0" if on_spaces else "127.0.0.1",
        "server_port": 7860 if on_spaces else int(os.environ.get("GRADIO_SERVER_PORT", 7860)),
        "max_file_size": MAX_FILE_SIZE,
        "css": CSS,
        "show_error": True,  # an API caller sees why a value was refused (e.g. a seed that is not a number)
    }


def example_folders(face_specs: list[str]) -> list[Path]:
    """``<face checkpoint>/examples`` (assets/faces/examples by default), then the examples shipped with the app."""
    folders = [Path(s).expanduser() / "examples" for s in face_specs if Path(s).expanduser().is_dir()]
    return [*folders, ROOT / DEFAULT_FACE_MODEL / "examples", SHIPPED_EXAMPLES]


def create_app(text_specs=None, face_specs=None) -> gr.Blocks:
    """Load the checkpoints (once) and build the app, with the queue set for visitors at once; the compiled
    sampling paths are built in the background (``GGM_COMPILE=0`` keeps the eager ones)."""
    torch.set_num_threads(SAMPLING_THREADS)
    text_specs, text_default = split_specs(text_specs, os.environ.get("GGM_TEXT_MODEL"), str(ROOT / DEFAULT_TEXT_MODEL))
    extra = [str(ROOT / p) for p in DEFAULT_EXTRA_FACE_MODELS if (ROOT / p).is_dir()]
    face_specs, face_default = split_specs(
        face_specs, os.environ.get("GGM_FACE_MODEL"), [str(ROOT / DEFAULT_FACE_MODEL), *extra]
    )
    text = load_slot(text_specs, "bpe", text_default)
    face = load_slot(face_specs, IMAGE_TOKENIZERS, face_default)
    for e in text.errors + face.errors:
        print(f"[ggm app] checkpoint not loaded: {e}")
    for model in [*text.models.values(), *face.models.values()]:
        device.key(model)  # registered before any ZeroGPU worker is forked, so every worker holds every model
        if device.ZERO_GPU:
            model.network.to("cuda")  # ZeroGPU's emulation places it; a decorated call runs it on the GPU
    warm_up = WarmUp([] if device.ZERO_GPU else [*text.models.items(), *face.models.items()])  # ZeroGPU: no compile
    demo = build_demo(text, face, faces.find_examples(example_folders(face_specs)), warm_up)
    # Every streamed frame and download is a file in Gradio's cache: those older than CACHE_MAX_AGE_S go, and the
    # oldest while they exceed CACHE_MAX_MB, so a long-lived Space does not fill its disk (docs/benchmarks.md, "Soak").
    start_cache_sweeper(Path(gradio_upload_folder()), CACHE_MAX_AGE_S, CACHE_MAX_MB * 2**20)
    warm_up.start()
    return with_queue(demo)


def with_queue(demo: gr.Blocks) -> gr.Blocks:
    """Gradio's queue with up to :data:`RUNS_AT_ONCE` handlers at once (visitors' runs are sampled on the
    batcher's lanes, so more handlers than cores let simultaneous runs share a batch)."""
    return demo.queue(default_concurrency_limit=RUNS_AT_ONCE)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--text-model", action="append", help="checkpoint folder or Hub repo id (repeatable)")
    ap.add_argument("--face-model", action="append", help="checkpoint folder or Hub repo id (repeatable)")
    ap.add_argument("--host", help="address to listen on (default 127.0.0.1; 0.0.0.0 on Spaces)")
    ap.add_argument("--port", type=int, help="port (default 7860)")
    args = ap.parse_args(argv)
    kwargs = launch_kwargs()
    kwargs |= {k: v for k, v in (("server_name", args.host), ("server_port", args.port)) if v}
    create_app(args.text_model, args.face_model).launch(**kwargs)


if __name__ == "__main__":
    main()

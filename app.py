"""Gradio app for the Glauber Generative Model: generate or infill text and faces, one token at a time.

    python app.py                                   # assets/text_austen and assets/faces
    python app.py --text-model PATH_OR_HUB_ID --face-model PATH_OR_HUB_ID
    GGM_TEXT_MODEL=... GGM_FACE_MODEL=... python app.py

Several checkpoints per tab: repeat the flag or separate them with commas. A missing checkpoint disables its
tab with a message. Every computation is a ``ggm_core`` call; UI logic lives in ``ggm_app/``.
"""

import argparse
import os
import random
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no update check or analytics: works offline

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from ggm_app import faces, howitworks  # noqa: E402
from ggm_app import text as textui  # noqa: E402
from ggm_app.common import (  # noqa: E402
    CHANGED,
    COLOR_MAP,
    SETTLED,
    STATE_HELP,
    FramePacer,
    ModelSlot,
    RunSettings,
    StateTracker,
    Trajectory,
    export_dir,
    load_slot,
    model_summary,
    next_seed,
    readout,
    split_specs,
)
from ggm_core import image_infill

ROOT = Path(__file__).resolve().parent
DEFAULT_TEXT_MODEL = "assets/text_austen"
DEFAULT_FACE_MODEL = "assets/faces"
SHIPPED_EXAMPLES = ROOT / "ggm_app" / "examples"
MAX_FILE_SIZE = "10mb"
GIF_FRAMES = 60
NEWLINE = "↵"  # line breaks in the token view (a token display cannot break a line)

CSS = """
#face-result img, #face-mask img, #face-gallery img { image-rendering: pixelated; }
#face-gallery .grid-container { grid-template-columns: repeat(6, minmax(0, 1fr)) !important; }
#face-gallery .thumbnail-item { width: 100% !important; height: auto !important; aspect-ratio: 1; }
#text-out { min-height: 10rem; }
#text-out .textfield { word-break: normal; row-gap: 3px; font-size: 1.05rem; }
#text-out .token.highlighted { margin: 0 !important; padding: 2px 0 !important; border-radius: 0 !important;
  box-shadow: inset -1px 0 0 rgba(255, 255, 255, 0.9); }
.ggm-diagram svg { border: 1px solid #ddd; border-radius: 8px; }
footer { display: none !important; }
"""

TEXT_EXAMPLES = [
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a [___].",
    "Emma Woodhouse, handsome, clever, and rich, [12] and had lived nearly twenty-one years in the world.",
    "“My dear Mr. Bennet,” said his lady to him one day, “[___]” Mr. Bennet replied that he had not.",
]


def _plain(message: str) -> str:
    """Toasts do not render Markdown: drop the backticks."""
    return message.replace("`", "")


def _warn(message: str) -> None:
    gr.Warning(_plain(message))


def _info(message: str) -> None:
    gr.Info(_plain(message))


def _status(lines: list[str]) -> str:
    return "\n\n".join(line for line in lines if line)


def _notices(notices: list[str]) -> str:
    return "\n".join(f"- {n}" for n in notices)


def _stopped(traj: Trajectory, download) -> tuple:
    """Status, scrubber and download updates for a run stopped by the Stop button."""
    last = len(traj) - 1
    return (
        f"Stopped after {traj.nfe[-1]} network calls. Scrub or download what ran.",
        gr.update(visible=True, maximum=last, value=last, label=f"Scrub through the run ({last + 1} frames)"),
        gr.update(visible=True, value=str(download)),
    )


def _seed_controls(prefix: str):
    with gr.Row():
        seed = gr.Number(
            value=0,
            precision=0,
            minimum=0,
            label="Seed",
            info="A run uses this seed, then moves it on by one, so the next click draws a new sample.",
            scale=3,
            elem_id=f"{prefix}-seed",
        )
        dice = gr.Button("Random seed", scale=1, size="sm")
    dice.click(lambda: random.randrange(2**31), None, seed, api_name=f"random_seed_{prefix}", queue=False)
    return seed


def _advance_seed_after(events, seed) -> None:
    """When a run ends, the seed box moves on by one."""
    for event in events:
        event.then(next_seed, seed, seed, api_name=False, queue=False, show_progress="hidden")


def _advanced(prefix: str, slot: ModelSlot):
    """The Advanced accordion: model choice, sweeps, positions per call, temperature, top-p, seed."""
    first = slot.models[slot.names[0]]
    with gr.Accordion("Advanced", open=False, elem_id=f"{prefix}-advanced"):
        model = gr.Dropdown(
            slot.names,
            value=slot.names[0],
            label="Model",
            visible=len(slot.names) > 1,
            elem_id=f"{prefix}-model",
        )
        info = gr.Markdown(model_summary(slot.names[0], first))
        with gr.Row():
            sweeps = gr.Slider(
                1,
                max(8, 2 * first.schedule.sweeps),
                value=first.schedule.sweeps,
                step=1,
                label="Sweeps (the trained number is exact)",
                elem_id=f"{prefix}-sweeps",
            )
            ppc = gr.Slider(1, 32, value=1, step=1, label="Positions per network call (1 = exact)")
        with gr.Row():
            temperature = gr.Slider(0.1, 2.0, value=1.0, step=0.05, label="Temperature (1 = exact)")
            top_p = gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="Top-p (1 = exact)")
        seed = _seed_controls(prefix)

    def on_model(name):
        m = slot.models.get(name, first)
        trained = m.schedule.sweeps
        return gr.update(maximum=max(8, 2 * trained), value=trained), model_summary(name, m)

    model.change(on_model, model, [sweeps, info], api_name=False)
    return model, sweeps, ppc, temperature, top_p, seed


def _pick(slot: ModelSlot, name):
    return slot.models.get(name) or slot.models[slot.names[0]]


# ============================================================================================== text tab
def build_text_tab(slot: ModelSlot) -> None:
    gr.Markdown(
        "Type some text and mark gaps with **`[___]`** (a gap of the default length) or **`[N]`** (a gap of N "
        "tokens), then **Fill the gaps** and watch them fill, one token per network call. Your text never "
        "changes. Or **Generate from nothing**. Empty text also generates from nothing."
    )
    with gr.Row():
        with gr.Column(scale=3):
            prompt = gr.Textbox(
                value=TEXT_EXAMPLES[0],
                lines=4,
                label="Text with gaps",
                placeholder="It is a truth universally acknowledged, that [___] must be in want of a [3].",
                elem_id="text-input",
            )
            gr.Examples([[t] for t in TEXT_EXAMPLES], inputs=[prompt], label="Examples")
        with gr.Column(scale=1, min_width=200):
            infill_btn = gr.Button("Fill the gaps", variant="primary", elem_id="text-infill")
            gen_btn = gr.Button("Generate from nothing", elem_id="text-generate")
            stop_btn = gr.Button("■ Stop", variant="stop", elem_id="text-stop")
            gap_len = gr.Slider(1, 64, value=textui.DEFAULT_GAP, step=1, label="Tokens in a [___] gap")
    status = gr.Markdown("", elem_id="text-status")
    out = gr.HighlightedText(
        label="Tokens (coloured by state)",
        color_map=COLOR_MAP,
        show_legend=True,
        show_inline_category=False,
        combine_adjacent=False,
        elem_id="text-out",
    )
    gr.Markdown(STATE_HELP)
    with gr.Row(equal_height=True):
        scrub = gr.Slider(0, 1, value=0, step=1, label="Scrub through the run", visible=False, scale=4)
        download = gr.DownloadButton("Download the trajectory (HTML)", visible=False, scale=1, elem_id="text-dl")
    frame_info = gr.Markdown("")
    model, sweeps, ppc, temperature, top_p, seed = _advanced("text", slot)
    traj_state = gr.State(None)

    def run(mode, text, gap, name, n_sweeps, n_ppc, temp, p, seed_value):
        m = _pick(slot, name)
        tok, L = m.tokenizer, m.schedule.seq_len
        settings = RunSettings.clean(m, n_sweeps, n_ppc, temp, p, seed_value)
        gap = max(1, min(L, int(gap or textui.DEFAULT_GAP)))
        if mode == "infill":
            plan = textui.plan_infill(text or "", tok, L, gap)
        else:
            plan = textui.TextPlan([0] * L, [False] * L)
        if plan.error:
            _warn(plan.error)
            yield gr.skip(), _status([plan.error, _notices(plan.notices)]), gr.skip(), gr.skip(), gr.skip()
            return
        for notice in plan.notices:
            _info(notice)
        known = np.array(plan.known, dtype=bool)
        traj = Trajectory(extra={"known": known, "model": name, "mode": mode})
        tracker = StateTracker(known)
        kwargs = settings.sample_kwargs()
        if known.any():
            kwargs |= {"known_tokens": torch.tensor(plan.tokens), "known": torch.from_numpy(known)}
        notes = _notices(plan.notices + plan.remarks)
        pacer, since, t0 = None, set(), time.perf_counter()
        hide = gr.update(visible=False)
        for ev in m.sample(**kwargs):
            if traj.extra.get("done"):  # the Stop button: its handler has answered for this run
                return
            tokens = ev.tokens[0].numpy()
            tracker.update(ev.positions, ev.sweep)
            traj.add(tokens, tracker.states(ev.positions), ev.nfe)
            since.update(ev.positions)
            if pacer is None or (pacer.due(ev.updates_done) and ev.updates_done < ev.total_updates):
                pacer = pacer or FramePacer(ev.total_updates)
                frame = textui.frame_text(tok, tokens, tracker.states(sorted(since)), known, NEWLINE)
                progress = (
                    f"Sampling… sweep {settings.sweeps - ev.sweep} of {settings.sweeps} · "
                    f"{ev.updates_done}/{ev.total_updates} redraws · {ev.nfe} network calls"
                )
                yield frame, _status([progress, notes]), hide, hide, traj
                since = set()
        if traj.extra.get("done"):
            return
        seconds = time.perf_counter() - t0
        traj.extra |= {"done": True, "seconds": seconds}
        summary = readout(traj.nfe[-1], seconds, plan.n_free, settings.approximations(m), settings.seed)
        yield from _finish_text(traj, tok, m, summary, notes)

    def _finish_text(traj, tok, m, summary, notes):
        path = textui.export_html(
            traj, tok, export_dir() / "ggm_text_trajectory.html", "GGM text trajectory", summary.replace("**", "")
        )
        last = len(traj) - 1
        frame = textui.frame_text(tok, traj.tokens[-1], tracker_final(traj), traj.extra["known"], NEWLINE)
        yield (
            frame,
            _status([summary, notes]),
            gr.update(visible=True, maximum=last, value=last, label=f"Scrub through the run ({last + 1} frames)"),
            gr.update(visible=True, value=str(path)),
            traj,
        )

    def infill(text, gap, name, n_sweeps, n_ppc, temp, p, seed_value):
        yield from run("infill", text, gap, name, n_sweeps, n_ppc, temp, p, seed_value)

    def generate(name, n_sweeps, n_ppc, temp, p, seed_value):
        yield from run("generate", "", None, name, n_sweeps, n_ppc, temp, p, seed_value)

    def stop(traj):
        if not isinstance(traj, Trajectory) or len(traj) == 0 or traj.extra.get("done"):
            return "Nothing is running.", gr.skip(), gr.skip()
        traj.extra["done"] = True
        m = _pick(slot, traj.extra.get("model"))
        path = textui.export_html(
            traj, m.tokenizer, export_dir() / "ggm_text_trajectory.html", "GGM text trajectory (stopped)", ""
        )
        return _stopped(traj, path)

    def scrub_frame(frame, traj):
        if not isinstance(traj, Trajectory) or len(traj) == 0:
            return gr.skip(), ""
        i = traj.index(frame)
        m = _pick(slot, traj.extra.get("model"))
        shown = textui.frame_text(m.tokenizer, traj.tokens[i], traj.states[i], traj.extra["known"], NEWLINE)
        return shown, f"Frame {i} of {len(traj) - 1}: {traj.nfe[i]} network calls so far."

    advanced = [model, sweeps, ppc, temperature, top_p, seed]
    outputs = [out, status, scrub, download, traj_state]
    common = {"outputs": outputs, "concurrency_id": "sampler", "show_progress": "minimal"}
    ev_fill = infill_btn.click(infill, [prompt, gap_len, *advanced], api_name="infill_text", **common)
    ev_submit = prompt.submit(infill, [prompt, gap_len, *advanced], api_name=False, **common)
    ev_gen = gen_btn.click(generate, advanced, api_name="generate_text", **common)
    stop_btn.click(
        stop, traj_state, [status, scrub, download], cancels=[ev_fill, ev_submit, ev_gen], api_name="stop_text"
    )
    _advance_seed_after([ev_fill, ev_submit, ev_gen], seed)
    scrub.input(scrub_frame, [scrub, traj_state], [out, frame_info], api_name="scrub_text", show_progress="hidden")


def tracker_final(traj: Trajectory) -> np.ndarray:
    """The last frame's states with no "just changed" highlight."""
    s = traj.states[-1].copy()
    s[s == CHANGED] = SETTLED
    return s


# ============================================================================================== faces tab
def build_face_tab(slot: ModelSlot, examples: list[Path]) -> None:
    gr.Markdown(
        "Pick an example face or upload a photo (any size: centre-cropped to 64×64), **brush over the region to "
        "repaint**, then **Repaint the brushed region**. The middle image shows the token cells the model will "
        "redraw (a 4×4-pixel cell changes if the brush touches it). Or **Generate a new face**."
    )
    tok0 = slot.models[slot.names[0]].tokenizer
    grid, patch = tok0.grid_shape, tok0.patch_size
    example_images = []
    for p in examples:
        try:
            example_images.append((faces.load_image_file(p, tok0.image_size), p.stem))
        except faces.ImageInputError:
            continue
    with gr.Row():
        with gr.Column(scale=5, min_width=300):
            # The editor starts empty. With a first face in it, a pick made while the browser still loads that
            # face left it on screen (panel 2 showing the pick): 8 of 8 fresh page loads over a 300 ms link.
            editor = gr.ImageEditor(
                value=None,
                type="numpy",
                image_mode="RGBA",
                sources=(),
                transforms=(),
                layers=False,
                brush=gr.Brush(
                    colors=[("#D55E00", 0.6)], default_color=("#D55E00", 0.6), color_mode="fixed", default_size=14
                ),
                eraser=gr.Eraser(default_size=14),
                canvas_size=(256, 256),
                height=380,
                label="1 · Brush over the region to repaint",
                elem_id="face-editor",
                format="png",  # lossless: the pixels outside the mask must come back exactly
                buttons=[],
            )
            with gr.Row(equal_height=True):
                upload = gr.UploadButton("Upload a photo…", size="sm", elem_id="face-upload")
            gallery = gr.Gallery(
                [im for im, _ in example_images],
                label="Example faces (click one)",
                columns=6,
                height=130,
                allow_preview=False,
                show_label=True,
                elem_id="face-gallery",
                buttons=[],
            )
        with gr.Column(scale=5, min_width=300):
            with gr.Row():
                mask_img = gr.Image(
                    label="2 · What the model will repaint (token cells)",
                    format="png",
                    interactive=False,
                    height=300,
                    elem_id="face-mask",
                    buttons=[],
                )
                result = gr.Image(
                    label="3 · Result", format="png", interactive=False, height=300, elem_id="face-result"
                )
            with gr.Row():
                infill_btn = gr.Button("Repaint the brushed region", variant="primary", elem_id="face-infill")
                gen_btn = gr.Button("Generate a new face", elem_id="face-generate")
                stop_btn = gr.Button("■ Stop", variant="stop", elem_id="face-stop")
            status = gr.Markdown("Pick an example face below or upload a photo to start.", elem_id="face-status")
            with gr.Row(equal_height=True):
                scrub = gr.Slider(0, 1, value=0, step=1, label="Scrub through the run", visible=False, scale=3)
                download = gr.DownloadButton("Download the trajectory (GIF)", visible=False, scale=1, elem_id="face-dl")
            frame_info = gr.Markdown("")
    gr.Markdown(
        "<small>Example faces are samples of a DCGAN (PyPI `gan-face-generate`) trained on Microsoft DigiFace-1M, "
        "which is licensed for non-commercial research only.</small>"
    )
    model, sweeps, ppc, temperature, top_p, seed = _advanced("face", slot)
    traj_state = gr.State(None)

    def geometry(m):
        tok = m.tokenizer
        return tok, tok.patch_size, tok.image_size

    def preview(value, name):
        m = _pick(slot, name)
        tok, patch, size = geometry(m)
        try:
            image, pmask = faces.read_editor(value, size)
        except faces.ImageInputError:
            return None
        return faces.mask_view(image, image_infill.mask_to_cells(pmask, patch), patch)

    def load_upload(path, name):
        m = _pick(slot, name)
        if not path:
            return gr.skip(), gr.skip(), "No file received."
        try:
            image = faces.load_image_file(path, m.tokenizer.image_size)
        except faces.ImageInputError as err:
            _warn(str(err))
            return gr.skip(), gr.skip(), f"⚠️ {err}"
        empty = faces.mask_view(image, np.zeros(grid, bool), patch)
        return (
            faces.editor_value(image),
            empty,
            "Image loaded (centre-cropped to 64×64). Now brush over what to repaint.",
        )

    def pick_example(evt: gr.SelectData):
        i = evt.index if isinstance(evt.index, int) else evt.index[0]
        image = example_images[i][0]
        empty = faces.mask_view(image, np.zeros(grid, bool), patch)
        return faces.editor_value(image), empty, "Example loaded. Brush over what to repaint."

    def run(mode, value, name, n_sweeps, n_ppc, temp, p, seed_value):
        m = _pick(slot, name)
        tok, patch, size = geometry(m)
        settings = RunSettings.clean(m, n_sweeps, n_ppc, temp, p, seed_value)
        gh, gw = tok.grid_shape
        image = alpha = None
        known = np.zeros(gh * gw, dtype=bool)
        notes = []
        cells = np.ones((gh, gw), dtype=bool)
        if mode == "infill":
            try:
                image, pmask = faces.read_editor(value, size)
            except faces.ImageInputError as err:
                _warn(str(err))
                yield gr.skip(), gr.skip(), f"⚠️ {err}", gr.skip(), gr.skip(), gr.skip()
                return
            cells = image_infill.mask_to_cells(pmask, patch)
            if not cells.any():
                msg = "The mask is empty: brush over the region to repaint first (or use Generate a new face)."
                _warn(msg)
                yield faces.mask_view(image, cells, patch), gr.skip(), f"⚠️ {msg}", gr.skip(), gr.skip(), gr.skip()
                return
            if cells.all():
                notes.append("The mask covers the whole image: this is the same as generating a new face.")
                _info(notes[-1])
                image = None
            else:
                codes = tok.encode(image[None])[0]
                known = ~cells.reshape(-1)
                alpha = image_infill.blend_alpha(cells, patch)
        view = faces.mask_view(image, cells, patch)
        traj = Trajectory(extra={"known": known, "model": name, "image": image, "alpha": alpha, "view": view})
        tracker = StateTracker(known)
        kwargs = settings.sample_kwargs()
        if known.any():
            kwargs |= {"known_tokens": codes, "known": torch.from_numpy(known)}
        pacer, last_shown, t0 = None, None, time.perf_counter()
        hide = gr.update(visible=False)
        for ev in m.sample(**kwargs):
            if traj.extra.get("done"):  # the Stop button: its handler has answered for this run
                return
            tracker.update(ev.positions, ev.sweep)
            traj.add(ev.tokens[0].numpy(), tracker.states(ev.positions), ev.nfe)
            if pacer is None or (pacer.due(ev.updates_done) and ev.updates_done < ev.total_updates):
                pacer = pacer or FramePacer(ev.total_updates)
                shown = faces.display(image_infill.compose(tok.decode(ev.tokens)[0], image, alpha))
                progress = (
                    f"Sampling… sweep {settings.sweeps - ev.sweep} of {settings.sweeps} · "
                    f"{ev.updates_done}/{ev.total_updates} redraws · {ev.nfe} network calls"
                )
                # Gradio rewrites the cached file of an image sent again, under a download of the previous
                # copy: send the mask view once (infilling only: it shows the editor's mask), and a frame only
                # when it changed.
                first_view = view if len(traj) == 1 and mode == "infill" else gr.skip()
                new_frame = gr.skip() if last_shown is not None and np.array_equal(shown, last_shown) else shown
                last_shown = shown
                yield first_view, new_frame, _status([progress, _notices(notes)]), hide, hide, traj
        if traj.extra.get("done"):
            return
        seconds = time.perf_counter() - t0
        traj.extra |= {"done": True, "seconds": seconds}
        summary = readout(traj.nfe[-1], seconds, int((~known).sum()), settings.approximations(m), settings.seed)
        final = faces.display(
            image_infill.compose(tok.decode(torch.from_numpy(traj.tokens[-1][None]).long())[0], image, alpha)
        )
        gif = export_gif(traj, m)
        last = len(traj) - 1
        yield (
            gr.skip(),
            final,
            _status([summary, _notices(notes)]),
            gr.update(visible=True, maximum=last, value=last, label=f"Scrub through the run ({last + 1} frames)"),
            gr.update(visible=True, value=str(gif)),
            traj,
        )

    def export_gif(traj, m):
        idx = traj.subsample(GIF_FRAMES)
        decoded = m.tokenizer.decode(torch.from_numpy(np.stack([traj.tokens[i] for i in idx])).long())
        frames = [image_infill.compose(d, traj.extra["image"], traj.extra["alpha"]) for d in decoded]
        return faces.export_gif(frames, export_dir() / "ggm_face_trajectory.gif")

    def infill(value, name, n_sweeps, n_ppc, temp, p, seed_value):
        yield from run("infill", value, name, n_sweeps, n_ppc, temp, p, seed_value)

    def generate(name, n_sweeps, n_ppc, temp, p, seed_value):
        yield from run("generate", None, name, n_sweeps, n_ppc, temp, p, seed_value)

    def stop(traj):
        if not isinstance(traj, Trajectory) or len(traj) == 0 or traj.extra.get("done"):
            return "Nothing is running.", gr.skip(), gr.skip()
        traj.extra["done"] = True
        return _stopped(traj, export_gif(traj, _pick(slot, traj.extra.get("model"))))

    def scrub_frame(frame, traj):
        if not isinstance(traj, Trajectory) or len(traj) == 0:
            return gr.skip(), ""
        i = traj.index(frame)
        m = _pick(slot, traj.extra.get("model"))
        decoded = m.tokenizer.decode(torch.from_numpy(traj.tokens[i][None]).long())[0]
        shown = image_infill.compose(decoded, traj.extra["image"], traj.extra["alpha"])
        return faces.display(shown), f"Frame {i} of {len(traj) - 1}: {traj.nfe[i]} network calls so far."

    advanced = [model, sweeps, ppc, temperature, top_p, seed]
    outputs = [mask_img, result, status, scrub, download, traj_state]
    common = {"outputs": outputs, "concurrency_id": "sampler", "show_progress": "minimal"}
    ev_fill = infill_btn.click(infill, [editor, *advanced], api_name="infill_face", **common)
    ev_gen = gen_btn.click(generate, advanced, api_name="generate_face", **common)
    stop_btn.click(stop, traj_state, [status, scrub, download], cancels=[ev_fill, ev_gen], api_name="stop_face")
    _advance_seed_after([ev_fill, ev_gen], seed)
    scrub.input(scrub_frame, [scrub, traj_state], [result, frame_info], api_name="scrub_face", show_progress="hidden")
    # .input, not .change: Gradio's editor swallows the first .change after it loads (measured: the first
    # brush stroke sent no event); .input fires on every stroke and when a new background loads.
    editor.input(
        preview, [editor, model], mask_img, api_name="preview_mask", show_progress="hidden", trigger_mode="always_last"
    )
    upload.upload(load_upload, [upload, model], [editor, mask_img, status], api_name="load_image")
    gallery.select(pick_example, None, [editor, mask_img, status], api_name="pick_example")


# ============================================================================================== the app
def build_demo(text: ModelSlot, face: ModelSlot, examples: list[Path] | None = None) -> gr.Blocks:
    """The whole app; ``text`` and ``face`` hold the loaded checkpoints (a tab without one shows why)."""
    with gr.Blocks(title="Glauber Generative Model") as demo:
        gr.Markdown(
            "# Glauber Generative Model\n"
            "A discrete diffusion model that denoises a sequence of tokens **one position at a time** "
            "(heat-bath / Glauber dynamics), learned by telling signal from noise "
            "([arXiv 2405.17035](https://arxiv.org/abs/2405.17035)). Watch every step."
        )
        with gr.Tabs():
            with gr.Tab("Text", id="text"):
                if text.models:
                    build_text_tab(text)
                else:
                    gr.Markdown(
                        _unavailable("text", "--text-model", "GGM_TEXT_MODEL", text.errors), elem_id="text-missing"
                    )
            with gr.Tab("Faces", id="faces"):
                if face.models:
                    build_face_tab(face, examples or [])
                else:
                    gr.Markdown(
                        _unavailable("face", "--face-model", "GGM_FACE_MODEL", face.errors), elem_id="face-missing"
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
    }


def example_folders(face_specs: list[str]) -> list[Path]:
    """``<face checkpoint>/examples`` (assets/faces/examples by default), then the examples shipped with the app."""
    folders = [Path(s).expanduser() / "examples" for s in face_specs if Path(s).expanduser().is_dir()]
    return [*folders, ROOT / DEFAULT_FACE_MODEL / "examples", SHIPPED_EXAMPLES]


def create_app(text_specs=None, face_specs=None) -> gr.Blocks:
    """Load the checkpoints (once) and build the app, with the queue set for a 2-core machine."""
    text_specs, text_default = split_specs(text_specs, os.environ.get("GGM_TEXT_MODEL"), str(ROOT / DEFAULT_TEXT_MODEL))
    face_specs, face_default = split_specs(face_specs, os.environ.get("GGM_FACE_MODEL"), str(ROOT / DEFAULT_FACE_MODEL))
    text = load_slot(text_specs, "bpe", text_default)
    face = load_slot(face_specs, "vq", face_default)
    for e in text.errors + face.errors:
        print(f"[ggm app] checkpoint not loaded: {e}")
    demo = build_demo(text, face, faces.find_examples(example_folders(face_specs)))
    return demo.queue(default_concurrency_limit=1)


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

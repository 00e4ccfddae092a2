"""Screenshots of the app's views for the docs, taken in a real Chromium on the shipped checkpoints.

    python -m tools.app_screenshots [--text-model PATH ...] [--face-model PATH ...] [--out docs/screenshots]

Needs the dev tools (``playwright``) and Debian's ``chromium``. Takes: a text sample with the belief overlay
on a scrubbed frame, Compare on the text tab, "noise it" on a face (mid-way through the forward process and
at the end), the belief map on a face, and Compare on the faces tab (the first three face models, or one
model at three budgets).
"""

import argparse
import socket
from pathlib import Path

import app

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


def wait_for(page, selector: str, text: str, timeout: int = 120_000) -> None:
    page.wait_for_function(
        f"() => (document.querySelector('{selector}')?.innerText || '').includes({text!r})", timeout=timeout
    )


def set_number(page, selector: str, value) -> None:
    box = page.locator(f"{selector} input[type=number]")
    box.fill(str(value))
    box.press("Enter")


def pick(page, selector: str, option: str) -> None:
    """Choose ``option`` in the dropdown ``selector``, in the option list its input controls."""
    box = page.locator(f"{selector} input")
    box.click()
    page.locator(f"[id='{box.get_attribute('aria-controls')}'] [role=option][aria-label='{option}']").click()
    page.wait_for_timeout(300)


def belief_view(page, prefix: str, frame: int, path: Path) -> None:
    """The belief overlay on the scrubbed ``frame`` of the tab's last run, as a screenshot; the overlay off again."""
    page.locator(f"#{prefix}-belief input").check()
    wait_for(page, f"#{prefix}-frame-info", "believes")
    set_number(page, f"#{prefix}-scrub", frame)
    wait_for(page, f"#{prefix}-frame-info", f"Frame {frame} ")
    page.screenshot(path=str(path), full_page=True)
    page.locator(f"#{prefix}-belief input").uncheck()


def text_views(page, out: Path, names: list[str]) -> None:
    page.get_by_role("tab", name="Text").click()
    page.click("#text-generate")
    wait_for(page, "#text-status", "network calls ·")
    belief_view(page, "text", 200, out / "text_belief.png")
    page.click("#text-compare")
    if len(names) > 1:
        pick(page, "#text-compare-model-1", names[1])
    else:
        set_number(page, "#text-compare-budget-1", 64)
    page.click("#text-compare-infill")
    wait_for(page, "#text-compare-readout-0", "seed")
    wait_for(page, "#text-compare-readout-1", "seed")
    page.locator("#text-compare").screenshot(path=str(out / "text_compare.png"))


def face_views(page, out: Path, names: list[str]) -> None:
    page.get_by_role("tab", name="Faces").click()
    page.locator("#face-gallery img").first.click()
    page.wait_for_timeout(2500)  # the editor draws the picked face
    page.click("#face-noise")
    wait_for(page, "#face-status", "forward step 3")
    page.screenshot(path=str(out / "faces_noise_it_forward.png"), full_page=True)
    wait_for(page, "#face-status", "network calls ·")
    page.screenshot(path=str(out / "faces_noise_it_end.png"), full_page=True)
    belief_view(page, "face", 1000, out / "faces_belief.png")
    page.click("#face-compare")
    for i in range(3):
        if i < len(names):
            pick(page, f"#face-compare-model-{i}", names[i])
        else:
            set_number(page, f"#face-compare-budget-{i}", (0, 64, 16)[i])
    page.click("#face-compare-generate")
    for i in range(3):
        wait_for(page, f"#face-compare-readout-{i}", "seed")
    page.locator("#face-compare").screenshot(path=str(out / "faces_compare.png"))


def main(argv=None) -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text-model", action="append", default=None)
    parser.add_argument("--face-model", action="append", default=None)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    demo = app.create_app(args.text_model, args.face_model)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(**(app.launch_kwargs() | {"server_port": port, "prevent_thread_lock": True, "quiet": True}))
    text_names = _names(demo, "text-model")
    face_names = _names(demo, "face-model")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"http://127.0.0.1:{port}/", wait_until="load")
        page.wait_for_selector("#text-input textarea", timeout=60_000)
        text_views(page, args.out, text_names)
        face_views(page, args.out, face_names)
        browser.close()
    demo.close()
    print(f"screenshots in {args.out}/")


def _names(demo, elem_id: str) -> list[str]:
    """The model names of a tab's model choice."""
    for block in demo.blocks.values():
        if getattr(block, "elem_id", None) == elem_id:
            return [c[0] if isinstance(c, tuple) else c for c in block.choices]
    return []


if __name__ == "__main__":
    main()

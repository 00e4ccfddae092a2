"""The shipped text model in a real Chromium: the page's first example, infilled with seeds 0-7 at the app's own
defaults, starts its gap with a real word (issue: 6 of 8 began with a word fragment before the seam rule)."""

import socket
import sys
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "assets" / "text_austen"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def vocabulary(tmp_path_factory):
    from training.corpus import prepare_text
    from training.word_metrics import word_vocabulary

    try:
        corpus = prepare_text(cache_dir=tmp_path_factory.mktemp("austen"))
    except RuntimeError as err:  # no Debian mirror
        pytest.skip(f"the Austen corpus could not be fetched: {err}")
    return word_vocabulary((corpus / "train.txt").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    sys.path.insert(0, str(ROOT / "tests"))
    from app_checkpoints import make_face_checkpoint

    import app

    face = make_face_checkpoint(tmp_path_factory.mktemp("face") / "faces")
    demo = app.create_app([str(SHIPPED)], [str(face)])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(**(app.launch_kwargs() | {"server_port": port, "prevent_thread_lock": True, "quiet": True}))
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"http://127.0.0.1:{port}/", wait_until="load")
        page.wait_for_selector("#text-input textarea", timeout=60_000)
        yield page
        browser.close()
    demo.close()


def test_the_first_example_starts_its_gap_with_a_real_word(page, vocabulary):
    from ggm_app.text import EXAMPLES
    from training.word_metrics import WORD

    prefix = EXAMPLES[0][: EXAMPLES[0].index("[___]")]
    words = []
    for seed in range(8):
        shown = run_infill(page, EXAMPLES[0], seed)
        assert shown.startswith(prefix.rstrip(" ")), shown[:120]
        match = WORD.search(shown, len(prefix.rstrip(" ")))
        words.append(match.group().lower() if match else "")
    real = sum(w in vocabulary for w in words)
    print(f"first words: {words} ({real} of 8 real)")
    assert real >= 7, words


def run_infill(page, text: str, seed: int) -> str:
    """Fill ``text``'s gaps with ``seed`` and return the text the token view shows once this run has ended."""
    if not page.is_visible("#text-seed input"):
        page.click("#text-advanced")
    page.fill("#text-input textarea", text)
    box = page.locator("#text-seed input[type=number]")
    box.fill(str(seed))
    box.press("Enter")  # a number box commits its value on Enter or blur
    page.wait_for_timeout(300)
    page.click("#text-infill")
    try:
        page.wait_for_function(  # this run's readout (it names its seed), not the last run's
            f"() => {{ const s = document.querySelector('#text-status').innerText;"
            f" return s.includes('tokens/s ·') && s.includes('seed {seed}'); }}",
            timeout=120_000,
        )
    except Exception as error:
        raise AssertionError(f"no readout for seed {seed}: {page.inner_text('#text-status')!r}") from error
    return "".join(page.eval_on_selector_all("#text-out .token .text", "els => els.map(e => e.textContent)"))


def test_a_text_comes_back_whole_with_its_gaps_filled_and_nothing_after_it(page):
    import re

    from ggm_app.text import END_PIECE, EXAMPLES
    from ggm_core.text_infill import parse_gaps

    for seed, text in enumerate(["It was a [___] day.", *EXAMPLES], start=100):
        shown = run_infill(page, text, seed)
        segments, _ = parse_gaps(text)
        gaps = "".join(r"(.+?)" if s.is_gap else re.escape(s.text) for s in segments)
        match = re.fullmatch(gaps + re.escape(END_PIECE), shown, flags=re.S)
        assert match and all(g.strip() for g in match.groups()), (text, shown)

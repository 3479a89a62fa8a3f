"""The app in a real browser (Debian's Chromium driven by Playwright), as a student uses it.

Screenshots of every tab, at 1280x800 and at projector size 1920x1080, go to
`$SRGAN_SCREENSHOTS` (default: artifacts/screenshots).
"""

import os
from pathlib import Path

import pytest
from PIL import Image

from ui import app
from ui.common import example_paths

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(os.environ.get("SRGAN_SCREENSHOTS", Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"))
# Every tab's title, from the app's own list (a tab added later is walked too).
TABS_EN = [tab.STRINGS.t(tab.KEY, "en") for tab in app.TABS]
TABS_ES = [tab.STRINGS.t(tab.KEY, "es") for tab in app.TABS]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: apt-get install chromium (make test does it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


def _settle(page, timeout=90_000):
    """Wait until every event has finished (Gradio hides idle status trackers with the class "hide")."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=\"status-tracker\"]:not(.hide)').length === 0", timeout=timeout
    )


def _drawn_side(page, selector: str) -> float:
    """How wide the picture `selector` (an <img>) is drawn on screen, in CSS px.

    Not the element's box: inside it, object-fit letterboxes the picture (contain) or also never enlarges it
    (Gradio's own scale-down: a 96x96 picture stays 96 px in a 320-px box).
    """
    page.locator(selector).scroll_into_view_if_needed()  # Gradio's <img> loads lazily, once on screen
    page.wait_for_function(f"() => document.querySelector({selector!r})?.naturalWidth > 0", timeout=120_000)
    return page.evaluate(
        f"() => {{ const i = document.querySelector({selector!r}), r = i.getBoundingClientRect();"
        " const fit = getComputedStyle(i).objectFit;"
        " let s = Math.min(r.width / i.naturalWidth, r.height / i.naturalHeight);"
        " if (fit === 'none') s = 1; else if (fit === 'scale-down') s = Math.min(s, 1);"
        " return s * i.naturalWidth; }"
    )


# Shown panels drawn wrong: a label whose box meets one of its panel's buttons (full screen, download, ...), or
# a panel whose content is taller than the panel (its bottom, e.g. the upload/webcam/clipboard row, cut off).
_PANELS_DRAWN_WRONG = """() => [...document.querySelectorAll('label[data-testid="block-label"]')]
  .filter(label => label.offsetParent).flatMap(label => {
    const r = label.getBoundingClientRect(), block = label.closest('.block'), wrong = [];
    if ([...block.querySelectorAll('.icon-button-wrapper button')].some(button => {
      const q = button.getBoundingClientRect();
      return q.width > 0 && r.left < q.right && q.left < r.right && r.top < q.bottom && q.top < r.bottom; }))
      wrong.push('label under buttons: ' + label.innerText);
    if (block.scrollHeight > block.clientHeight + 1)
      wrong.push(`cut off (${block.scrollHeight} px in ${block.clientHeight}): ` + label.innerText);
    return wrong; })"""


def _panels_drawn_wrong(page) -> list[str]:
    """What `_PANELS_DRAWN_WRONG` finds on the page as it is now: [] when every shown panel is drawn right."""
    return page.evaluate(_PANELS_DRAWN_WRONG)


def _visit_tabs(page, names: list[str], shot_prefix: str) -> dict[str, list[str]]:
    """Open each tab, screenshot it to SHOTS/<shot_prefix>_<tab>.png; returns {tab: its panels drawn wrong}."""
    wrong = {}
    for name in names:
        page.get_by_role("tab", name=name).click()
        _settle(page)
        if found := _panels_drawn_wrong(page):
            wrong[name] = found
        page.screenshot(path=str(SHOTS / f"{shot_prefix}_{name.replace(' ', '_').lower()}.png"), full_page=True)
    return wrong


def _open(browser, url, width, height):
    page = browser.new_page(viewport={"width": width, "height": height})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_text("SRGAN Studio").first.wait_for(timeout=30_000)
    return page, errors


def test_visit_every_tab_upscale_and_switch_language(browser, app_url, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page, errors = _open(browser, app_url, 1280, 800)
    assert _visit_tabs(page, TABS_EN, "1280") == {}

    # Compare: upload a small image, upscale, see the three results.
    page.get_by_role("tab", name="Compare").click()
    small = tmp_path / "upload.png"
    Image.open(example_paths()[0]).resize((48, 48)).save(small)
    page.locator("input[type=file]").first.set_input_files(str(small))
    page.wait_for_timeout(800)
    page.get_by_role("button", name="Upscale x4").click()
    for label in ("Bicubic", "SRResNet (MSE)", "SRGAN"):
        block = page.locator(".block", has=page.get_by_text(label, exact=True)).filter(has=page.locator("img"))
        block.first.locator("img").first.wait_for(timeout=60_000)
    _settle(page)
    page.screenshot(path=str(SHOTS / "1280_compare_results.png"), full_page=True)

    # Switch to Spanish: the tabs and the buttons follow.
    page.get_by_label("Español").check()
    for name in TABS_ES:
        page.get_by_role("tab", name=name).wait_for(timeout=10_000)
    page.get_by_role("button", name="Ampliar x4").wait_for(timeout=10_000)
    page.get_by_text("Ejemplos (no usados en el entrenamiento)").first.wait_for(timeout=10_000)  # gr.Examples too
    assert page.get_by_text("Examples (held out from training)").count() == 0
    _settle(page)
    page.screenshot(path=str(SHOTS / "1280_compare_es.png"), full_page=True)
    assert not errors, errors


def test_projector_size_and_spanish_url(browser, app_url):
    page, errors = _open(browser, app_url + "?lang=es", 1920, 1080)
    page.get_by_role("tab", name="Comparar").wait_for(timeout=15_000)
    assert _visit_tabs(page, TABS_ES, "1920_es") == {}
    assert page.get_by_text("Traceback").count() == 0
    assert not errors, errors


@pytest.mark.parametrize(
    ("tab", "title"), [("Feature maps", "diferencia cuadrática media de activaciones (Ec. 5)"), ("Loss lab", "Imagen")]
)
def test_a_filled_table_takes_the_new_language(browser, app_url, tab, title):
    """Switching language while a table shows rows retitles its columns (Gradio keeps a filled table's titles)."""
    page, errors = _open(browser, app_url, 1280, 800)
    page.get_by_role("tab", name=tab).click()
    _settle(page)
    page.get_by_text("SRResNet (MSE)", exact=True).locator("visible=true").first.wait_for(timeout=60_000)  # a row
    page.get_by_label("Español").check()
    page.get_by_text(title, exact=True).locator("visible=true").first.wait_for(timeout=15_000)  # a column title
    assert not errors, errors


def test_finetune_start_watch_curves_move_then_stop(browser, app_url):
    page, errors = _open(browser, app_url, 1280, 800)
    page.get_by_role("tab", name="Fine-tune").click()
    _settle(page)
    page.get_by_role("button", name="Start fine-tuning").click()
    curves = page.locator("#ft-curves img")
    curves.first.wait_for(timeout=120_000)
    first = curves.first.get_attribute("src")
    # The curves move: the image is redrawn while the run streams its progress.
    page.wait_for_function(
        "(src) => { const i = document.querySelector('#ft-curves img'); return i && i.src !== src; }",
        arg=first,
        timeout=120_000,
    )
    page.screenshot(path=str(SHOTS / "1280_finetune_running.png"), full_page=True)
    page.get_by_role("button", name="Stop (keeps the last checkpoint)").click()
    _settle(page, timeout=120_000)
    page.screenshot(path=str(SHOTS / "1280_finetune_stopped.png"), full_page=True)
    assert page.get_by_text("Traceback").count() == 0
    assert not errors, errors

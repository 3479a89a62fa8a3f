"""The Architecture tab in a real browser (Debian's Chromium driven by Playwright), in English and Spanish."""

import pytest

from .test_app_browser import SHOTS, _drawn_side, _open, _panels_drawn_wrong, _settle, browser  # noqa: F401

pytestmark = pytest.mark.browser


def _open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    page.locator("#ar-left img").first.wait_for(timeout=120_000)  # the walk ran on the example
    _settle(page, timeout=180_000)


def test_click_a_block_then_play_one_gan_step(browser, app_url):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    page, errors = _open(browser, app_url, 1280, 900)
    _open_tab(page, "Architecture")
    page.locator("#ar-diagram label").filter(has_text="res16").first.click()
    page.wait_for_function("() => document.querySelector('#ar-info').innerText.includes('16 · res16')", timeout=30_000)
    assert "(1, 64, 128, 128)" in page.locator("#ar-info").inner_text()  # the 192x192 example, cropped to 128
    page.locator("#ar-diagram label").filter(has_text="sigmoid").first.click()
    page.wait_for_function("() => document.querySelector('#ar-info').innerText.includes('D(I)')", timeout=30_000)
    page.locator("#ar-d-step").click()
    page.wait_for_function("() => document.querySelector('#ar-game-report').innerText.includes('D steps 1')",
                           timeout=120_000)  # fmt: skip
    page.screenshot(path=str(SHOTS / "1280_architecture.png"), full_page=True)
    assert page.get_by_text("Traceback").count() == 0
    assert not errors, errors


def test_spanish_on_a_phone_and_at_projector_size(browser, app_url):  # noqa: F811
    page, errors = _open(browser, app_url + "?lang=es", 1280, 900)
    _open_tab(page, "Arquitectura")  # at 390 px Gradio folds the tabs into a menu: open it wide, then narrow it
    assert "Salida" in page.locator("#ar-info").inner_text()
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(500)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390 + 2, f"the page scrolls sideways on a phone: {width}px"
    box = page.locator("#ar-diagram label").first.bounding_box()
    assert box["width"] <= 390 and box["height"] >= 40  # one block per line, readable
    assert _panels_drawn_wrong(page) == [], "on a phone"
    page.screenshot(path=str(SHOTS / "390_architecture_es.png"), full_page=True)
    page.close()
    page, errors2 = _open(browser, app_url + "?presenter=1&lang=es", 1920, 1080)
    page.wait_for_function("() => document.body.classList.contains('srgan-presenter')", timeout=15_000)
    _open_tab(page, "Arquitectura")
    size = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('#ar-diagram label')).fontSize)")
    assert size >= 16
    drawn = _drawn_side(page, "#ar-ablated img")  # a 96x96 picture
    assert drawn >= 2 * 96, f"the ablation's output is drawn {drawn:.0f} px wide on a 1920 px projector"
    page.screenshot(path=str(SHOTS / "1920_architecture_presenter_es.png"), full_page=True)
    assert not errors and not errors2, errors + errors2

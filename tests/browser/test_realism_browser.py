"""The Realism dial tab and presenter mode in a real browser (Debian's Chromium driven by Playwright)."""

import pytest

from .test_app_browser import SHOTS, _drawn_side, _open, _settle, browser  # noqa: F401  (browser is a fixture)

pytestmark = pytest.mark.browser


def test_realism_slider_changes_the_image_and_the_plot(browser, app_url):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    page, errors = _open(browser, app_url, 1280, 900)
    page.get_by_role("tab", name="Realism dial").click()
    image = page.locator("#rl-sr img")
    image.first.wait_for(timeout=90_000)  # opening the tab computes α = 0.5 on the example
    page.locator("#rl-plot img").first.wait_for(timeout=120_000)
    _settle(page, timeout=120_000)
    before = image.first.get_attribute("src")
    assert "α = 0.50" in page.locator("#rl-metrics").inner_text()
    # Move the slider to the SRGAN end with the keyboard, as a student would with the arrow keys.
    slider = page.locator("#rl-alpha input[type=range]")
    slider.focus()
    page.keyboard.press("End")
    page.wait_for_function(
        "(src) => { const i = document.querySelector('#rl-sr img'); return i && i.src !== src; }",
        arg=before,
        timeout=60_000,
    )
    page.wait_for_function("() => document.querySelector('#rl-metrics').innerText.includes('α = 1.00')", timeout=60_000)
    _settle(page, timeout=120_000)
    assert "PSNR" in page.locator("#rl-sentence").inner_text()
    for crop in ("#rl-sr img", "#rl-hr img"):  # 192x192 crops, drawn as large as their 384-px panels
        assert _drawn_side(page, crop) >= 1.5 * 192, crop
    page.screenshot(path=str(SHOTS / "1280_realism_dial.png"), full_page=True)
    assert page.get_by_text("Traceback").count() == 0
    assert not errors, errors


def _font_px(page, selector: str) -> float:
    return page.evaluate(f"() => parseFloat(getComputedStyle(document.querySelector('{selector}')).fontSize)")


def test_presenter_mode_from_the_url_has_larger_type(browser, app_url):  # noqa: F811
    page, errors = _open(browser, app_url, 1920, 1080)
    _settle(page)
    normal = {s: _font_px(page, s) for s in ("button[role=tab]", ".gradio-container .prose")}
    assert not page.evaluate("() => document.body.classList.contains('srgan-presenter')")
    page.close()

    page, errors = _open(browser, app_url + "?presenter=1", 1920, 1080)
    page.wait_for_function("() => document.body.classList.contains('srgan-presenter')", timeout=15_000)
    _settle(page)
    large = {s: _font_px(page, s) for s in normal}
    for selector, size in normal.items():
        assert large[selector] >= 1.3 * size, (selector, size, large[selector])
    assert page.locator("#srgan-presenter-toggle input").is_checked()
    # The Compare tab's results beside the inputs, taller, all on the first screen (issue #18).
    result = page.locator(".srgan-result").first.bounding_box()
    assert result["height"] > 500 and result["y"] + result["height"] <= 1080  # 300 px normally
    page.screenshot(path=str(SHOTS / "1920_presenter_compare.png"), full_page=True)
    # The toggle turns it off again.
    page.locator("#srgan-presenter-toggle input").uncheck()
    page.wait_for_function("() => !document.body.classList.contains('srgan-presenter')", timeout=10_000)
    assert not errors, errors

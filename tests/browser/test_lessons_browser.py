"""Issue #18: a lesson's link to the code, clicked once in a real browser, opens the code at its symbol."""

import pytest

from .test_app_browser import _open, browser  # noqa: F401  (browser is a fixture)

pytestmark = pytest.mark.browser


def test_clicking_a_lesson_code_link_opens_the_symbol(browser, app_url):  # noqa: F811
    page, errors = _open(browser, app_url, 1280, 800)
    page.get_by_role("tab", name="Lessons").click()
    page.get_by_label("Lesson", exact=True).click()
    page.get_by_role("option", name="The MSE content loss and PSNR").click()
    link = page.locator("a[href*='symbol=mse_content_loss']").first
    link.scroll_into_view_if_needed(timeout=30_000)
    with page.context.expect_page(timeout=15_000) as opened:
        link.click()  # the first click opens it
    code = opened.value
    code.wait_for_load_state()
    line = code.locator(".line.hl").first
    line.wait_for(timeout=15_000)
    assert "def mse_content_loss" in line.inner_text()
    assert code.url.split("#")[1] == line.get_attribute("id")  # the anchor of its first line
    box = line.bounding_box()
    assert box is not None and 0 <= box["y"] < code.viewport_size["height"]  # scrolled to it
    assert code.locator(".highlight .k").count() > 10  # syntax highlighting
    assert not errors, errors

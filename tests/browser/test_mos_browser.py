"""A whole MOS round in Chromium: a teacher and a student, each in their own browser context (own session);
and the students' phone page at 390 x 844."""

import csv
import io

import pytest
from gradio_client import Client

from .test_app_browser import SHOTS, _settle, browser  # noqa: F401  (the module-scoped browser fixture)

pytestmark = pytest.mark.browser
RATINGS = ("4 · good", "2 · poor", "5 · excellent")


def _page(browser, url):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_role("tab", name="MOS test").click()
    _settle(page)
    return context, page, errors


def test_a_mos_round_teacher_and_student(browser, app_url):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    teacher_ctx, teacher, teacher_errors = _page(browser, app_url)
    teacher.get_by_text("Teacher: session, live results, reveal").click()
    teacher.get_by_role("button", name="Open a new session").click()
    code_box = teacher.locator("#mos-teacher-code textarea, #mos-teacher-code input").first
    teacher.wait_for_function(
        "() => /^[A-Z]{4}$/.test(document.querySelector('#mos-code')?.innerText.trim() ?? '')", timeout=90_000
    )
    code = code_box.input_value()
    assert teacher.locator("#mos-code").inner_text().strip() == code
    _settle(teacher)
    assert "0 votes from 0 students" in teacher.locator("#mos-summary").inner_text()
    assert f"/mos?code={code}" in teacher.locator("#mos-join").inner_text()  # the join address, and its QR code
    assert teacher.locator("#mos-qr svg").count() == 1
    assert "token" not in teacher.locator("#mos-join").inner_html()

    student_ctx, student, student_errors = _page(browser, app_url)
    student.locator("#mos-student-code textarea, #mos-student-code input").first.fill(code.lower())
    student.get_by_role("button", name="Join").click()
    student.locator("#mos-crop img").first.wait_for(timeout=30_000)
    _settle(student)
    seen = []
    for k, rating in enumerate(RATINGS, start=1):
        crop_id = student.locator("#mos-crop-id textarea, #mos-crop-id input").first.input_value()
        seen.append((crop_id, int(rating[0])))
        student.get_by_label(rating).check()
        student.get_by_role("button", name="Rate and show the next crop").click()
        student.get_by_text(f"you have rated {k} of").wait_for(timeout=30_000)
        _settle(student)
    assert len({c for c, _ in seen}) == len(RATINGS)  # a new crop each time
    student.screenshot(path=str(SHOTS / "1280_mos_student.png"), full_page=True)

    # The teacher's live results (a timer, no click) count the student's votes, still blind.
    teacher.get_by_text(f"{len(RATINGS)} votes from 1 student").wait_for(timeout=30_000)
    table = teacher.locator("#mos-table").inner_text()
    assert "SRGAN" not in table and "Bicubic" not in table
    teacher.get_by_role("button", name="Reveal the methods").click()
    teacher.get_by_text("Methods revealed.").wait_for(timeout=30_000)
    _settle(teacher)
    assert "SRGAN" in teacher.locator("#mos-table").inner_text()
    teacher.screenshot(path=str(SHOTS / "1280_mos_teacher_revealed.png"), full_page=True)

    teacher.get_by_role("button", name="Reset the votes").click()  # asks first; Cancel keeps everything
    teacher.get_by_text(f"Delete the {len(RATINGS)} votes of session {code}?").wait_for(timeout=30_000)
    teacher.get_by_role("button", name="Cancel").click()
    teacher.get_by_text(f"Delete the {len(RATINGS)} votes").wait_for(state="hidden", timeout=30_000)

    teacher.get_by_role("button", name="Export the votes (CSV)").click()
    link = teacher.locator("#mos-csv a").first
    link.wait_for(timeout=30_000)
    response = teacher.request.get(link.get_attribute("href"))
    rows = list(csv.DictReader(io.StringIO(response.text())))
    assert [(r["crop_id"], int(r["score"])) for r in rows] == seen
    assert {r["session"] for r in rows} == {code}

    assert not teacher_errors and not student_errors, (teacher_errors, student_errors)
    teacher_ctx.close()
    student_ctx.close()


PHONE = {"width": 390, "height": 844}


def _phone(browser, url, locale):  # noqa: F811
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale=locale)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="domcontentloaded")
    return context, page, errors


def _on_screen(page, selector):
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return (
        box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= PHONE["width"] + 0.5
        and (box["y"] + box["height"] <= PHONE["height"])
    )


def test_a_student_votes_on_a_phone_without_scrolling(browser, app_url):  # noqa: F811
    """The QR code's address on a 390 x 844 phone: joined at once, the crop as wide as the screen, one tap a vote."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    teacher = Client(app_url, verbose=False)
    _, code, join_html, keys = teacher.predict({}, "en", api_name="/mos_open")
    address = join_html.split("href='", 1)[1].split("'", 1)[0]
    assert address.startswith(app_url.rstrip("/")) and f"/mos?code={code}" in address
    context, phone, errors = _phone(browser, address.replace("&lang=en", ""), "es-ES")  # the browser speaks Spanish
    phone.locator("#mos-phone-img").wait_for(timeout=60_000)
    _settle(phone)
    phone.get_by_text("has puntuado 0 de 24").wait_for(timeout=30_000)
    assert phone.locator("#mos-phone-code input, #mos-phone-code textarea").first.input_value() == code
    image = phone.locator("#mos-phone-img").bounding_box()
    assert image["width"] >= 0.9 * PHONE["width"] and abs(image["width"] - image["height"]) < 2
    for selector in (
        "#mos-phone-code",
        "#mos-phone-img",
        *(f"#mos-phone-{s}" for s in range(1, 6)),
        "#mos-phone-progress",
    ):
        assert _on_screen(phone, selector), selector
    assert phone.locator("#mos-phone-1").bounding_box()["y"] > image["y"] + image["height"] - 1  # buttons under it
    assert "excelente" in phone.locator("#mos-phone-5").inner_text()
    phone.screenshot(path=str(SHOTS / "390_mos_phone_es.png"))
    first = phone.locator("#mos-phone-img").get_attribute("src")
    phone.locator("#mos-phone-4").tap()
    phone.get_by_text("has puntuado 1 de 24").wait_for(timeout=30_000)
    _settle(phone)
    assert phone.locator("#mos-phone-img").get_attribute("src") != first  # the next crop
    phone.locator("#mos-phone-2").tap()
    phone.get_by_text("has puntuado 2 de 24").wait_for(timeout=30_000)
    assert phone.evaluate("() => [window.scrollY, document.documentElement.scrollHeight <= window.innerHeight]") == [
        0,
        True,
    ]
    rows = teacher.predict(code, keys[code], api_name="/mos_export")
    with open(rows, newline="", encoding="utf-8") as f:
        assert sorted(int(r["score"]) for r in csv.DictReader(f)) == [2, 4]
    assert not errors, errors
    context.close()

    context, phone, errors = _phone(browser, f"{app_url}mos?lang=en", "es-ES")  # ?lang wins; no code: join by hand
    phone.get_by_role("button", name="Join").wait_for(timeout=60_000)
    _settle(phone)  # the page's events are wired: a code typed before would not reach the server
    box = phone.locator("#mos-phone-code input, #mos-phone-code textarea").first
    box.fill(code.lower())
    box.press("Tab")  # the box's change reaches Gradio before the click
    phone.get_by_role("button", name="Join").click()
    phone.get_by_text("you have rated 0 of 24").wait_for(timeout=30_000)
    assert "excellent" in phone.locator("#mos-phone-5").inner_text()
    phone.screenshot(path=str(SHOTS / "390_mos_phone_en.png"))
    assert not errors, errors
    context.close()

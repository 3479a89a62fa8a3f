"""A whole MOS round in Chromium: a teacher and a student, each in their own browser context (own session)."""

import csv
import io

import pytest

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
    teacher.get_by_text(f"{len(RATINGS)} votes from 1 students").wait_for(timeout=30_000)
    table = teacher.locator("#mos-table").inner_text()
    assert "SRGAN" not in table and "Bicubic" not in table
    teacher.get_by_role("button", name="Reveal the methods").click()
    teacher.get_by_text("Methods revealed.").wait_for(timeout=30_000)
    _settle(teacher)
    assert "SRGAN" in teacher.locator("#mos-table").inner_text()
    teacher.screenshot(path=str(SHOTS / "1280_mos_teacher_revealed.png"), full_page=True)

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

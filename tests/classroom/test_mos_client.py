"""The MOS test through gradio_client: who may do what, guessing slowed down, a class of 30 voting at once,
and a server restart mid-session."""

import csv
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import start_app  # tests/ has no __init__.py: pytest puts it on sys.path
from gradio_client import Client
from gradio_client.exceptions import AppError

STUDENTS = 30
VOTES_EACH = 3
GUESSES = 4  # the guarded app's $SRGAN_MOS_GUESSES: wrong codes/keys per browser session per minute


def _open(client: Client) -> tuple[str, str]:
    """`/mos_open` as a teacher's script: (code, teacher key)."""
    _, code, join_html, keys = client.predict({}, "en", api_name="/mos_open")
    assert f"/mos?code={code}" in join_html and "<svg" in join_html  # the join address and its QR code
    return code, keys[code]


def _csv_rows(client: Client, code: str, key: str) -> list[dict]:
    path = client.predict(code, key, api_name="/mos_export")
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def guarded_app(tmp_path_factory):
    """An app of its own (its guess counts must not meet the other tests'), with a small guess limit."""
    with start_app(tmp_path_factory, env={"SRGAN_MOS_GUESSES": str(GUESSES)}) as (url, _):
        yield url


def test_a_student_with_the_code_cannot_manage_the_session_the_teacher_can(guarded_app):
    teacher = Client(guarded_app, verbose=False)
    code, key = _open(teacher)
    student = Client(guarded_app, verbose=False, download_files=False)
    _, crop_id, _ = student.predict(code, api_name="/mos_join")  # the code lets a student join and vote
    student.predict(code, crop_id, 4, api_name="/mos_vote")
    # Nothing, the code itself, a wrong key: each refusal counts as a guess, so two per client (the limit is
    # tested below), and five in all from this address (whose limit is three times a client's).
    for client, attempts in (
        (student, [("/mos_results", {}), ("/mos_reveal", code)]),
        (Client(guarded_app, verbose=False, download_files=False), [("/mos_reset", ""), ("/mos_export", {code: "x"})]),
    ):
        for endpoint, wrong in attempts:
            with pytest.raises(AppError, match="Only the teacher's browser"):
                client.predict(code, wrong, api_name=endpoint)
    _, table, summary = teacher.predict(code, key, api_name="/mos_results")  # the key itself...
    assert "**1** vote from" in summary and "hidden" in summary
    assert [row[0] for row in table["data"]] == ["A", "B", "C", "D"]
    assert [(r["crop_id"], r["score"]) for r in _csv_rows(teacher, code, key)] == [(crop_id, "4")]
    _, table, summary = teacher.predict(code, {code: key}, api_name="/mos_reveal")  # ... or the keyring
    assert "Methods revealed" in summary and "SRGAN" in str(table["data"])
    student3 = Client(guarded_app, verbose=False, download_files=False)
    _, _, summary = student3.predict(code, {}, api_name="/mos_results")  # revealed: on the projector anyway
    assert "**1** vote from" in summary
    with pytest.raises(AppError, match="Only the teacher's browser"):
        student3.predict(code, {}, api_name="/mos_reset")

    _, table, summary, deleted_csv = teacher.predict(code, key, api_name="/mos_reset")
    assert "1 vote deleted" in summary and sum(row[1] for row in table["data"]) == 0
    with open(deleted_csv, newline="", encoding="utf-8") as f:
        assert [r["crop_id"] for r in csv.DictReader(f)] == [crop_id]  # an export of what the reset deleted
    _, table, summary = teacher.predict(code, key, api_name="/mos_undo_reset")
    assert "1 vote is back" in summary and "Methods revealed" in summary
    with pytest.raises(AppError, match="no reset to undo"):
        teacher.predict(code, key, api_name="/mos_undo_reset")


def test_guessing_codes_or_keys_is_limited_per_client(guarded_app):
    teacher = Client(guarded_app, verbose=False)
    code, key = _open(teacher)
    guesser = Client(guarded_app, verbose=False, download_files=False)
    for k in range(GUESSES):
        with pytest.raises(AppError, match="No session has the code|Only the teacher's browser"):
            if k % 2:
                guesser.predict(code, f"key-guess-{k}", api_name="/mos_reset")
            else:
                guesser.predict(f"ZZZ{'ACDE'[k]}", api_name="/mos_join")
    with pytest.raises(AppError, match=r"Too many wrong codes from this device: wait \d+ s"):
        guesser.predict(code, api_name="/mos_join")  # even the right code, for the rest of the minute
    with pytest.raises(AppError, match="Too many wrong codes"):
        guesser.predict(code, key, api_name="/mos_reset")  # and even the right key
    student = Client(guarded_app, verbose=False, download_files=False)  # another browser is not held up
    _, crop_id, _ = student.predict(code, api_name="/mos_join")
    assert crop_id
    _, _, summary = teacher.predict(code, key, api_name="/mos_results")
    assert "**0** votes" in summary  # the guesser's right key came too late: nothing was reset


def _student(url: str, code: str, k: int) -> list[tuple[str, int]]:
    """One student's browser: join, rate `VOTES_EACH` crops, then replay the last vote (which must not count)."""
    # A client is a session of its own: a voter of its own. It does not download the crops (a browser would
    # show them; the test is about the votes), which keeps 30 clients from saturating a 2-core CI machine.
    client = Client(url, verbose=False, download_files=False)
    _, crop_id, _ = client.predict(code, api_name="/mos_join")
    sent = []
    for j in range(VOTES_EACH):
        score = 1 + (k + j) % 5
        _, next_id, progress, _ = client.predict(code, crop_id, score, api_name="/mos_vote")
        sent.append((crop_id, score))
        assert f"rated {j + 1} of" in progress, progress
        last, crop_id = sent[-1], next_id
    _, _, progress, _ = client.predict(code, last[0], 5, api_name="/mos_vote")
    assert "already rated" in progress
    return sent


def test_thirty_students_vote_at_once(app_url):
    teacher = Client(app_url, verbose=False)
    code, key = _open(teacher)
    with ThreadPoolExecutor(max_workers=STUDENTS) as pool:
        sent = [vote for votes in pool.map(lambda k: _student(app_url, code, k), range(STUDENTS)) for vote in votes]

    _, table, summary = teacher.predict(code, key, api_name="/mos_results")
    counts = [row[1] for row in table["data"]]
    assert sum(counts) == STUDENTS * VOTES_EACH, table
    assert f"**{STUDENTS * VOTES_EACH}** votes from **{STUDENTS}** students" in summary
    rows = _csv_rows(teacher, code, key)
    assert Counter((r["crop_id"], int(r["score"])) for r in rows) == Counter(sent)  # none lost, none doubled
    assert Counter(r["voter"] for r in rows) == Counter({voter: VOTES_EACH for voter in {r["voter"] for r in rows}})
    assert len({r["voter"] for r in rows}) == STUDENTS


def test_votes_and_the_teacher_key_survive_a_server_restart(tmp_path_factory):
    runs = tmp_path_factory.mktemp("mos_runs")
    env = {"SRGAN_RUNS_DIR": str(runs)}
    with start_app(tmp_path_factory, env=env) as (url, _):
        client = Client(url, verbose=False)
        code, key = _open(client)
        _, crop_id, _ = client.predict(code, api_name="/mos_join")
        client.predict(code, crop_id, 4, api_name="/mos_vote")
        client.predict(code, key, api_name="/mos_reveal")
        before = _csv_rows(client, code, key)
    with start_app(tmp_path_factory, env=env) as (url, _):
        client = Client(url, verbose=False)
        _, table, summary = client.predict(code, key, api_name="/mos_results")
        assert "**1** vote from" in summary and "revealed" in summary
        assert _csv_rows(client, code, key) == before
        assert sum(row[1] for row in table["data"]) == 1
        with pytest.raises(AppError, match="Only the teacher's browser"):
            client.predict(code, "", api_name="/mos_export")

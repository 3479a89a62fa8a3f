"""The MOS test through gradio_client: a class of 30 voting at once, and a server restart mid-session."""

import csv
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from conftest import start_app  # tests/ has no __init__.py: pytest puts it on sys.path
from gradio_client import Client

STUDENTS = 30
VOTES_EACH = 3


def _csv_rows(client: Client, code: str) -> list[dict]:
    path = client.predict(code, api_name="/mos_export")
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


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
    _, code = teacher.predict(api_name="/mos_open")
    with ThreadPoolExecutor(max_workers=STUDENTS) as pool:
        sent = [vote for votes in pool.map(lambda k: _student(app_url, code, k), range(STUDENTS)) for vote in votes]

    _, table, summary = teacher.predict(code, api_name="/mos_results")
    counts = [row[1] for row in table["data"]]
    assert sum(counts) == STUDENTS * VOTES_EACH, table
    assert f"**{STUDENTS * VOTES_EACH}** votes from **{STUDENTS}** students" in summary
    rows = _csv_rows(teacher, code)
    assert Counter((r["crop_id"], int(r["score"])) for r in rows) == Counter(sent)  # none lost, none doubled
    assert Counter(r["voter"] for r in rows) == Counter({voter: VOTES_EACH for voter in {r["voter"] for r in rows}})
    assert len({r["voter"] for r in rows}) == STUDENTS


def test_votes_survive_a_server_restart(tmp_path_factory):
    runs = tmp_path_factory.mktemp("mos_runs")
    env = {"SRGAN_RUNS_DIR": str(runs)}
    with start_app(tmp_path_factory, env=env) as (url, _):
        client = Client(url, verbose=False)
        _, code = client.predict(api_name="/mos_open")
        _, crop_id, _ = client.predict(code, api_name="/mos_join")
        client.predict(code, crop_id, 4, api_name="/mos_vote")
        client.predict(code, api_name="/mos_reveal")
        before = _csv_rows(client, code)
    with start_app(tmp_path_factory, env=env) as (url, _):
        client = Client(url, verbose=False)
        _, table, summary = client.predict(code, api_name="/mos_results")
        assert "**1** votes" in summary and "revealed" in summary
        assert _csv_rows(client, code) == before
        assert sum(row[1] for row in table["data"]) == 1

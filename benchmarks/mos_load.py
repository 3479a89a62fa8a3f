"""A class joining the MOS test at once: N students (one gradio_client each, a browser session of its own)
join a session and rate crops as fast as the server answers; every vote must be recorded, none lost.

    python benchmarks/mos_load.py                   # 40 students x 6 votes, as in docs/reliability.md
    python benchmarks/mos_load.py --students 60 --votes 24

It starts `python app.py` on a free port (SRGAN_OFFLINE=1, a temporary runs folder), opens a session as the
teacher's script would (/mos_open), lets every student thread join (/mos_join) and vote (/mos_vote), then
counts the votes in the teacher's CSV export (/mos_export) against those sent.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _student(url: str, code: str, k: int, votes: int, start: threading.Barrier) -> tuple[list, list[float]]:
    """One phone: join, then `votes` ratings. Returns ((crop id, score) sent, seconds per request)."""
    from gradio_client import Client

    client = Client(url, verbose=False, download_files=False)
    start.wait()
    times = []
    t0 = time.perf_counter()
    _, crop_id, _ = client.predict(code, api_name="/mos_join")
    times.append(time.perf_counter() - t0)
    sent = []
    for j in range(votes):
        score = 1 + (k + j) % 5
        t0 = time.perf_counter()
        _, next_id, _, _ = client.predict(code, crop_id, score, api_name="/mos_vote")
        times.append(time.perf_counter() - t0)
        sent.append((crop_id, score))
        crop_id = next_id
    return sent, times


def run(students: int, votes: int) -> dict:
    """Start the app, open a session, let `students` join and vote `votes` times each; count what was recorded.

    Returns:
        students, votes sent and recorded, lost, doubled, wall seconds, p50/p95 request seconds.
    """
    from gradio_client import Client

    from ui.launch import app_subprocess

    tmp = Path(tempfile.mkdtemp(prefix="srgan-mos-load-"))
    with app_subprocess(runs_dir=tmp / "runs", log_path=tmp / "app.log") as (url, _):
        teacher = Client(url, verbose=False)
        _, code, _, keys = teacher.predict({}, "en", api_name="/mos_open")
        start = threading.Barrier(students + 1)
        with ThreadPoolExecutor(max_workers=students) as pool:
            futures = [pool.submit(_student, url, code, k, votes, start) for k in range(students)]
            start.wait()  # every client is connected: from here on is the class joining and voting
            t0 = time.perf_counter()
            results = [f.result() for f in futures]
            wall = time.perf_counter() - t0
        with open(teacher.predict(code, keys[code], api_name="/mos_export"), newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    sent = Counter(vote for votes_sent, _ in results for vote in votes_sent)
    recorded = Counter((r["crop_id"], int(r["score"])) for r in rows)
    latencies = sorted(t for _, times in results for t in times)
    return {
        "students": students,
        "voters recorded": len({r["voter"] for r in rows}),
        "votes sent": sum(sent.values()),
        "votes recorded": len(rows),
        "lost": sum((sent - recorded).values()),
        "extra": sum((recorded - sent).values()),
        "wall s": round(wall, 1),
        "p50 s": round(statistics.median(latencies), 2),
        "p95 s": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Print one table row of the run (exit 1 if a vote was lost or doubled)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=40)
    p.add_argument("--votes", type=int, default=6, help="votes per student")
    args = p.parse_args(argv)
    figures = run(args.students, args.votes)
    print("| " + " | ".join(figures) + " |")
    print("|" + "---|" * len(figures))
    print("| " + " | ".join(str(v) for v in figures.values()) + " |")
    return 0 if figures["lost"] == figures["extra"] == 0 and figures["voters recorded"] == args.students else 1


if __name__ == "__main__":
    sys.exit(main())

"""The paper's mean-opinion-score (MOS) test, as a classroom game: sessions, blind crops, votes, statistics.

Ledig et al. 2017 (arXiv 1609.04802) §3.4 and Table 2: 26 raters scored 12 versions of every image
(nearest, bicubic, SRCNN, SelfExSR, DRCN, ESPCN, SRResNet-MSE, SRResNet-VGG22, SRGAN-MSE, SRGAN-VGG22,
SRGAN-VGG54 and the original HR) from 1 (bad) to 5 (excellent), on Set5, Set14 and BSD100, without knowing
which was which. Here a teacher opens a session, the class rates four versions (bicubic, SRResNet, SRGAN,
HR) of a few crops of the held-out built-in photos, and the pooled scores are compared with the paper's.

Storage: one SQLite file, `<runs folder>/mos.sqlite3` (WAL mode, so readers never block the writer), and
the crops of each session as PNG files in `<runs folder>/mos/<CODE>/`. Votes therefore survive a server
restart. Every call opens its own short-lived connection: sqlite3 connections must not be shared between
threads, and Gradio runs handlers in a thread pool.

Ballot stuffing: a UNIQUE constraint on (session, voter, crop) makes a second vote on the same crop by the
same voter a no-op. The *first* rating counts and `MosStore.vote` returns False for the repeat: a student
who double-clicks, or replays a request, cannot add weight, and nobody can overwrite a rating afterwards.

This module is the store (`MosStore`: sessions, codes, votes, results, CSV export; `get_store`). The
statistics are `srgan.classroom.mos_stats` (`summarise`, `MethodStats`, the paper's Table 2), the deck of
crops `srgan.classroom.mos_deck` (`make_deck`, `region_versions`, the methods rated).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import secrets
import shutil
import sqlite3
import time
from collections.abc import Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cache import LRUCache

# Some of these are not used here but re-exported (noqa: F401): ui/mos.py and the tests import them from
# srgan.classroom.mos, where they were before mos_stats.py and mos_deck.py were split off; ui/ needs no edit.
from .mos_deck import (  # noqa: F401
    CONTEXT,
    CROP_SIZE,
    METHODS,
    REGIONS,
    Crop,
    Upscale,
    make_deck,
    region_versions,
)
from .mos_stats import PAPER_MOS, PAPER_SETS, MethodStats, summarise, t_quantile_975  # noqa: F401
from .runs import runs_dir

DB_NAME = "mos.sqlite3"
CROP_FOLDER = "mos"
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY"  # no B/8, I/L/1, O/0, S/5, Z/2: easy to read off a projector
CODE_LENGTH = 4
SCORES = (1, 2, 3, 4, 5)


class UnknownSession(ValueError):
    """No MOS session has this code (a ValueError: the app shows its message to the user)."""


# ----------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Session:
    code: str
    created: float
    revealed: bool
    labels: dict[str, str]  # method -> blind letter "A".."D", shuffled per session
    n_crops: int


@dataclass(frozen=True)
class Results:
    code: str
    revealed: bool
    labels: dict[str, str]
    stats: dict[str, MethodStats]  # every method of METHODS, in that order
    votes: int
    voters: int
    n_crops: int


_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    code TEXT PRIMARY KEY,
    created REAL NOT NULL,
    revealed INTEGER NOT NULL DEFAULT 0,
    labels TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS crops (
    session_code TEXT NOT NULL REFERENCES sessions(code) ON DELETE CASCADE,
    crop_id TEXT NOT NULL,
    method TEXT NOT NULL,
    image TEXT NOT NULL,
    source TEXT NOT NULL,
    box TEXT NOT NULL,
    PRIMARY KEY (session_code, crop_id)
);
CREATE TABLE IF NOT EXISTS votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_code TEXT NOT NULL,
    voter_id TEXT NOT NULL,
    crop_id TEXT NOT NULL,
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    created REAL NOT NULL,
    UNIQUE (session_code, voter_id, crop_id),
    FOREIGN KEY (session_code, crop_id) REFERENCES crops(session_code, crop_id) ON DELETE CASCADE
);
"""


def normalise_code(code: str) -> str:
    """What a student typed (" abcd ") as a stored code ("ABCD")."""
    return "".join(str(code or "").split()).upper()


def voter_order(code: str, voter_id: str, crop_ids: Sequence[str]) -> list[str]:
    """The order in which one voter sees the crops: shuffled per voter (no common order effect), but stable."""
    order = sorted(crop_ids)
    seed = int.from_bytes(hashlib.sha256(f"{code}:{voter_id}".encode()).digest()[:8], "big")
    random.Random(seed).shuffle(order)
    return order


class MosStore:
    """MOS sessions and votes in `<root>/mos.sqlite3`; every method is safe to call from many threads.

    Args:
        root: the runs folder (default `srgan.classroom.runs.runs_dir()`, i.e. $SRGAN_RUNS_DIR).
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else runs_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        self.path = self.root / DB_NAME
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode=WAL")  # persistent in the file: readers never wait for the writer
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self, *, write: bool = False) -> Any:
        """A fresh connection for one transaction, committed on success and always closed.

        Writers take the lock up front (BEGIN IMMEDIATE): two transactions that both read then write
        could otherwise deadlock, one of them failing with "database is locked" at once.
        """
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
            db.execute("PRAGMA busy_timeout=30000")  # wait for a concurrent writer instead of failing
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- sessions ----------------------------------------------------------------------------

    def open_session(
        self, *, regions: int = REGIONS, seed: int | None = None, upscalers: dict[str, Upscale] | None = None
    ) -> Session:
        """A new session: a fresh code and its deck of blind crops (made now, cached as PNG files).

        Args:
            regions: how many regions of the held-out photos; each is shown in the four versions.
            seed: picks the regions, the blind letters and the crop numbering (default: random).
            upscalers: method -> function LR -> x4 image, for "bicubic", "srresnet", "srgan" (default:
                `srgan.engine.inference.upscaler_for`; tests pass cheap ones).

        Returns:
            The `Session`.
        """
        rng = random.Random(secrets.randbits(64) if seed is None else seed)
        code = self._reserve_code(rng)
        folder = self.root / CROP_FOLDER / code
        try:
            deck = make_deck(folder, regions=regions, rng=rng, upscalers=upscalers)
            with self._connect(write=True) as db:
                db.executemany(
                    "INSERT INTO crops (session_code, crop_id, method, image, source, box) VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (
                            code,
                            c.crop_id,
                            c.method,
                            c.path.relative_to(self.root).as_posix(),
                            c.source,
                            json.dumps(c.box),
                        )
                        for c in deck
                    ],
                )
        except BaseException:
            with self._connect(write=True) as db:
                db.execute("DELETE FROM sessions WHERE code = ?", (code,))
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return self.session(code)

    def _reserve_code(self, rng: random.Random) -> str:
        """Insert a session row under a code nobody holds (the PRIMARY KEY settles races between teachers)."""
        letters = list("ABCD")
        rng.shuffle(letters)
        labels = json.dumps(dict(zip(METHODS, letters)))
        for _ in range(1000):
            code = "".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            with self._connect(write=True) as db:
                inserted = db.execute(
                    "INSERT OR IGNORE INTO sessions (code, created, labels) VALUES (?, ?, ?)",
                    (code, time.time(), labels),
                ).rowcount
            if inserted:
                return code
        raise RuntimeError("no free session code left")

    def session(self, code: str) -> Session:
        """The session with this code (case and spaces ignored).

        Raises:
            UnknownSession: no such session.
        """
        code = normalise_code(code)
        with self._connect() as db:
            row = db.execute("SELECT code, created, revealed, labels FROM sessions WHERE code = ?", (code,)).fetchone()
            n = db.execute("SELECT COUNT(*) FROM crops WHERE session_code = ?", (code,)).fetchone()[0]
        if row is None or n == 0:  # a session whose crops are still being made is not open yet
            raise UnknownSession(f"no MOS session has the code {code!r}" if code else "no session code given")
        return Session(row[0], row[1], bool(row[2]), json.loads(row[3]), n)

    def crops(self, code: str) -> list[Crop]:
        """The session's deck, by crop id."""
        code = self.session(code).code
        with self._connect() as db:
            rows = db.execute(
                "SELECT crop_id, method, image, source, box FROM crops WHERE session_code = ? ORDER BY crop_id", (code,)
            ).fetchall()
        return [Crop(r[0], r[1], self.root / r[2], r[3], tuple(json.loads(r[4]))) for r in rows]

    def crop(self, code: str, crop_id: str) -> Crop:
        """One crop of a session (ValueError if it is not in the deck)."""
        for c in self.crops(code):
            if c.crop_id == str(crop_id):
                return c
        raise ValueError(f"the session {normalise_code(code)} has no crop {crop_id!r}")

    def set_revealed(self, code: str, revealed: bool = True) -> None:
        """Show (or hide again) which letter is which method."""
        code = self.session(code).code
        with self._connect(write=True) as db:
            db.execute("UPDATE sessions SET revealed = ? WHERE code = ?", (int(revealed), code))

    def reset(self, code: str) -> int:
        """Delete the session's votes and hide the methods again (the code and the crops stay).

        Returns:
            How many votes were deleted.
        """
        code = self.session(code).code
        with self._connect(write=True) as db:
            deleted = db.execute("DELETE FROM votes WHERE session_code = ?", (code,)).rowcount
            db.execute("UPDATE sessions SET revealed = 0 WHERE code = ?", (code,))
        return deleted

    # -- votes -------------------------------------------------------------------------------

    def vote(self, code: str, voter_id: str, crop_id: str, score: float | str) -> bool:
        """Record one rating.

        Args:
            code: the session code.
            voter_id: who votes (the app uses a hash of the browser session).
            crop_id: a crop of the session's deck.
            score: 1 (bad) .. 5 (excellent).

        Returns:
            True when recorded; False when this voter had already rated this crop (the first rating stays).

        Raises:
            UnknownSession, ValueError: unknown session or crop, a score outside 1..5, no voter.
        """
        value = _score(score)
        if not voter_id:
            raise ValueError("a vote needs a voter id")
        crop = self.crop(code, crop_id)
        with self._connect(write=True) as db:
            cursor = db.execute(
                "INSERT INTO votes (session_code, voter_id, crop_id, score, created) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (session_code, voter_id, crop_id) DO NOTHING",
                (normalise_code(code), str(voter_id), crop.crop_id, value, time.time()),
            )
            return cursor.rowcount == 1

    def rated(self, code: str, voter_id: str) -> dict[str, int]:
        """crop id -> score of the crops this voter has rated in this session."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT crop_id, score FROM votes WHERE session_code = ? AND voter_id = ?",
                (normalise_code(code), str(voter_id)),
            ).fetchall()
        return dict(rows)

    def next_crop(self, code: str, voter_id: str) -> Crop | None:
        """The next crop this voter has not rated, in the voter's own shuffled order (None when done)."""
        crops = {c.crop_id: c for c in self.crops(code)}
        done = self.rated(code, voter_id)
        for crop_id in voter_order(normalise_code(code), voter_id, list(crops)):
            if crop_id not in done:
                return crops[crop_id]
        return None

    # -- results -----------------------------------------------------------------------------

    def results(self, code: str) -> Results:
        """Per-method n, mean and 95 % interval of the session's votes, pooled over crops and voters."""
        session = self.session(code)
        with self._connect() as db:
            rows = db.execute(
                "SELECT c.method, v.score, v.voter_id FROM votes v JOIN crops c "
                "ON c.session_code = v.session_code AND c.crop_id = v.crop_id "
                "WHERE v.session_code = ?",
                (session.code,),
            ).fetchall()
        stats = {m: summarise(score for method, score, _ in rows if method == m) for m in METHODS}
        return Results(
            code=session.code,
            revealed=session.revealed,
            labels=session.labels,
            stats=stats,
            votes=len(rows),
            voters=len({voter for _, _, voter in rows}),
            n_crops=session.n_crops,
        )

    def export_csv(self, code: str) -> str:
        """Every vote of the session as CSV: one row per vote, with the method unblinded, oldest first."""
        session = self.session(code)
        with self._connect() as db:
            rows = db.execute(
                "SELECT v.created, v.voter_id, v.crop_id, c.method, v.score, c.source, c.box "
                "FROM votes v JOIN crops c ON c.session_code = v.session_code AND c.crop_id = v.crop_id "
                "WHERE v.session_code = ? ORDER BY v.id",
                (session.code,),
            ).fetchall()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["session", "time_utc", "voter", "crop_id", "method", "blind_label", "score", "source", "box"])
        for created, voter, crop_id, method, score, source, box in rows:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created))
            box_text = " ".join(map(str, json.loads(box)))
            writer.writerow(
                [session.code, stamp, voter, crop_id, method, session.labels[method], score, source, box_text]
            )
        return out.getvalue()


def _score(score: float | str) -> int:
    try:
        value = float(score)
    except (TypeError, ValueError):
        raise ValueError(f"a rating is a whole number from 1 to 5, got {score!r}") from None
    if not value.is_integer() or int(value) not in SCORES:
        raise ValueError(f"a rating is a whole number from 1 to 5, got {score!r}")
    return int(value)


# ----------------------------------------------------------------------------------------------
# One store per runs folder, for the app

_stores: LRUCache[MosStore] = LRUCache(8)


def get_store() -> MosStore:
    """The `MosStore` of the current runs folder ($SRGAN_RUNS_DIR is read at each call)."""
    root = runs_dir().resolve()
    return _stores.get_or_create(root, lambda: MosStore(root))

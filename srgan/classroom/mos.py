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

Who may do what: the four-letter code is projected for the whole class, so it only lets a student join
and vote. Opening a session also makes a teacher key (`secrets.token_urlsafe`, 192 bits), handed once to
the browser that opened it; the store keeps only its sha256 (`sessions.secret_hash`). Revealing,
resetting, exporting, the live results and resuming need the key (`MosStore.teacher_session`). Guessing is
slowed by `GuessLimiter` (failed codes and keys per client per minute). A reset moves the votes aside
instead of deleting them: `MosStore.undo_reset` brings them back for `UNDO_SECONDS`, and a CSV file of
what was reset stays in the session's folder for good.

This module is the store (`MosStore`: sessions, codes, keys, votes, results, reset and undo, CSV export;
`get_store`; `GuessLimiter`). The
statistics are `srgan.classroom.mos_stats` (`summarise`, `MethodStats`, the paper's Table 2), the deck of
crops `srgan.classroom.mos_deck` (`make_deck`, `region_versions`, the methods rated).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import hmac
import io
import json
import os
import random
import secrets
import shutil
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
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
SECRET_BYTES = 24  # the teacher key: 24 random bytes, 32 URL-safe characters
UNDO_SECONDS = 30 * 60  # a reset can be undone for half an hour (its CSV file stays for good)


class UnknownSession(ValueError):
    """No MOS session has this code (a ValueError: the app shows its message to the user)."""


class NotTeacher(PermissionError, ValueError):
    """The teacher key is missing or wrong for this session (a ValueError too: the app shows the message)."""


class TooManyGuesses(PermissionError, ValueError):
    """Too many wrong codes or keys from one client in the last minute."""


class NothingToUndo(ValueError):
    """No reset of this session can be undone (none, already undone, or older than `UNDO_SECONDS`)."""


# ----------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Session:
    code: str
    created: float
    revealed: bool
    labels: dict[str, str]  # method -> blind letter "A".."D", shuffled per session
    n_crops: int
    # The teacher key, only in what `open_session` returns (the store keeps its sha256, never the key).
    secret: str = field(default="", repr=False, compare=False)


@dataclass(frozen=True)
class ResetReceipt:
    """What `MosStore.reset` did: how many votes it moved aside, until when it can be undone, and its CSV."""

    deleted: int
    undo_until: float  # time.time() after which `undo_reset` refuses
    csv_path: Path  # every vote the reset removed, as `export_csv` writes them


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
    labels TEXT NOT NULL,
    secret_hash TEXT  -- sha256 of the teacher key; NULL (a session from before keys): nobody can manage it
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
CREATE TABLE IF NOT EXISTS resets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_code TEXT NOT NULL REFERENCES sessions(code) ON DELETE CASCADE,
    created REAL NOT NULL,
    was_revealed INTEGER NOT NULL,
    undone INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS reset_votes (  -- the votes a reset moved aside, as they were
    reset_id INTEGER NOT NULL REFERENCES resets(id) ON DELETE CASCADE,
    voter_id TEXT NOT NULL,
    crop_id TEXT NOT NULL,
    score INTEGER NOT NULL,
    created REAL NOT NULL
);
"""


def secret_hash(secret: str) -> str:
    """The sha256 (hex) of a teacher key, which is all the store keeps of it."""
    return hashlib.sha256(f"srgan-mos-teacher:{secret}".encode()).hexdigest()


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
            columns = {row[1] for row in db.execute("PRAGMA table_info(sessions)")}
            if "secret_hash" not in columns:  # a store made before teacher keys
                db.execute("ALTER TABLE sessions ADD COLUMN secret_hash TEXT")

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
            The `Session`, with its teacher key in `.secret` (the only time the key is seen: hand it to
            the teacher's browser, never to the projector).
        """
        rng = random.Random(secrets.randbits(64) if seed is None else seed)
        secret = secrets.token_urlsafe(SECRET_BYTES)  # from the OS's CSPRNG, whatever the seed
        code = self._reserve_code(rng, secret_hash(secret))
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
        return dataclasses.replace(self.session(code), secret=secret)

    def _reserve_code(self, rng: random.Random, key_hash: str) -> str:
        """Insert a session row under a code nobody holds (the PRIMARY KEY settles races between teachers)."""
        letters = list("ABCD")
        rng.shuffle(letters)
        labels = json.dumps(dict(zip(METHODS, letters)))
        for _ in range(1000):
            code = "".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            with self._connect(write=True) as db:
                inserted = db.execute(
                    "INSERT OR IGNORE INTO sessions (code, created, labels, secret_hash) VALUES (?, ?, ?, ?)",
                    (code, time.time(), labels, key_hash),
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

    def teacher_session(self, code: str, secret: str | None) -> Session:
        """The session, if `secret` is its teacher key (compared in constant time).

        Raises:
            UnknownSession: no such session.
            NotTeacher: no key, a wrong one, or a session from before keys (which nobody can manage).
        """
        session = self.session(code)
        with self._connect() as db:
            stored = db.execute("SELECT secret_hash FROM sessions WHERE code = ?", (session.code,)).fetchone()[0]
        if not secret or not stored or not hmac.compare_digest(stored, secret_hash(str(secret))):
            raise NotTeacher(f"only the browser that opened session {session.code} can manage it")
        return session

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

    def reset(self, code: str) -> ResetReceipt:
        """Start the session again: its votes are moved aside and the methods hidden (code and crops stay).

        The votes are first written to `<session folder>/reset_<time>.csv` (kept for good), then moved to
        `reset_votes`, from where `undo_reset` can bring them back for `UNDO_SECONDS`.

        Returns:
            A `ResetReceipt`: how many votes, until when it can be undone, the CSV file.
        """
        session = self.session(code)
        now = time.time()
        folder = self.root / CROP_FOLDER / session.code
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now)) + f"-{int(now * 1000) % 1000:03d}"
        csv_path = folder / f"reset_{stamp}.csv"
        with self._connect(write=True) as db:
            csv_path.write_text(self._csv(db, session), encoding="utf-8")  # under the write lock: no vote slips by
            reset_id = db.execute(
                "INSERT INTO resets (session_code, created, was_revealed) VALUES (?, ?, ?)",
                (session.code, now, int(session.revealed)),
            ).lastrowid
            db.execute(
                "INSERT INTO reset_votes (reset_id, voter_id, crop_id, score, created) "
                "SELECT ?, voter_id, crop_id, score, created FROM votes WHERE session_code = ? ORDER BY id",
                (reset_id, session.code),
            )
            deleted = db.execute("DELETE FROM votes WHERE session_code = ?", (session.code,)).rowcount
            db.execute("UPDATE sessions SET revealed = 0 WHERE code = ?", (session.code,))
        return ResetReceipt(deleted, now + UNDO_SECONDS, csv_path)

    def undo_reset(self, code: str) -> int:
        """Bring back the votes of the session's last reset, if it is less than `UNDO_SECONDS` old.

        A student who rated a crop again after the reset gets the first rating back (the rule of `vote`:
        the first rating counts); votes on other crops since the reset stay. The methods are shown again
        if they were before the reset.

        Returns:
            How many votes came back.

        Raises:
            NothingToUndo: no reset to undo (none, undone already, or too old).
        """
        session = self.session(code)
        with self._connect(write=True) as db:
            row = db.execute(
                "SELECT id, created, was_revealed FROM resets WHERE session_code = ? AND undone = 0 "
                "ORDER BY id DESC LIMIT 1",
                (session.code,),
            ).fetchone()
            if row is None or time.time() > row[1] + UNDO_SECONDS:
                raise NothingToUndo(f"session {session.code} has no reset to undo (a reset can be undone for "
                                    f"{UNDO_SECONDS // 60} minutes)")  # fmt: skip
            reset_id, _, was_revealed = row
            db.execute(
                "DELETE FROM votes WHERE session_code = ? AND EXISTS (SELECT 1 FROM reset_votes r WHERE "
                "r.reset_id = ? AND r.voter_id = votes.voter_id AND r.crop_id = votes.crop_id)",
                (session.code, reset_id),
            )
            restored = db.execute(
                "INSERT INTO votes (session_code, voter_id, crop_id, score, created) "
                "SELECT ?, voter_id, crop_id, score, created FROM reset_votes WHERE reset_id = ? ORDER BY rowid",
                (session.code, reset_id),
            ).rowcount
            db.execute("UPDATE resets SET undone = 1 WHERE id = ?", (reset_id,))
            if was_revealed:
                db.execute("UPDATE sessions SET revealed = 1 WHERE code = ?", (session.code,))
        return restored

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
        """Per-method n, mean and 95 % interval of the session's votes (a bootstrap over voters, `summarise`)."""
        session = self.session(code)
        with self._connect() as db:
            rows = db.execute(
                "SELECT c.method, v.score, v.voter_id FROM votes v JOIN crops c "
                "ON c.session_code = v.session_code AND c.crop_id = v.crop_id "
                "WHERE v.session_code = ?",
                (session.code,),
            ).fetchall()
        by_voter: dict[str, dict[str, list[int]]] = {m: {} for m in METHODS}
        for method, score, voter in rows:
            by_voter[method].setdefault(voter, []).append(score)
        stats = {m: summarise(by_voter[m]) for m in METHODS}
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
            return self._csv(db, session)

    @staticmethod
    def _csv(db: sqlite3.Connection, session: Session) -> str:
        """`export_csv`'s text, read through an open transaction."""
        rows = db.execute(
            "SELECT v.created, v.voter_id, v.crop_id, c.method, v.score, c.source, c.box "
            "FROM votes v JOIN crops c ON c.session_code = v.session_code AND c.crop_id = v.crop_id "
            "WHERE v.session_code = ? ORDER BY v.created, v.id",
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


# ----------------------------------------------------------------------------------------------
# Guessing, slowed down


GUESSES_PER_MINUTE = 10  # wrong codes or keys a browser may send per minute ($SRGAN_MOS_GUESSES)
HOST_FACTOR = 3  # ... and an address, for all its browsers: a class behind one router shares it


class GuessLimiter:
    """Wrong codes and teacher keys per client in a sliding minute; a client over its limit is refused.

    A client is counted twice: by its browser session and by its address. The session limit stops one
    browser; the address limit (`HOST_FACTOR` times higher, since a classroom behind one router shares
    one address) stops a script that opens a fresh session for every guess. With the default 10 and 30
    a minute, trying every one of the 20^4 = 160,000 codes from one address takes 89 hours; a teacher
    key (192 random bits) cannot be guessed at any rate. Counts live in memory: a restart clears them.

    Args:
        per_minute: wrong guesses a browser session may make per window (default $SRGAN_MOS_GUESSES, or 10).
        window: the window in seconds.
        clock: the time source (tests pass a fake one).
    """

    def __init__(self, per_minute: int | None = None, *, window: float = 60.0, clock: Any = time.monotonic) -> None:
        self.per_minute = per_minute or int(os.environ.get("SRGAN_MOS_GUESSES", GUESSES_PER_MINUTE))
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _limit(self, client: str) -> int:
        return self.per_minute * (HOST_FACTOR if client.startswith("host:") else 1)

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.setdefault(client, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def check(self, clients: Iterable[str]) -> None:
        """Refuse a client that has used up its wrong guesses for now.

        Args:
            clients: its keys, e.g. ("session:<hash>", "host:<address>"); empty ones are skipped.

        Raises:
            TooManyGuesses: one of the keys is at its limit; the message says how long to wait.
        """
        now = self.clock()
        with self._lock:
            for client in filter(None, clients):
                times = self._recent(client, now)
                if len(times) >= self._limit(client):
                    wait = max(1, int(times[0] + self.window - now + 0.999))
                    raise TooManyGuesses(f"too many wrong codes or keys: wait {wait} s and try again")

    def failed(self, clients: Iterable[str]) -> None:
        """Count one wrong guess for each of the client's keys (and forget clients quiet for a window)."""
        now = self.clock()
        with self._lock:
            for client in filter(None, clients):
                self._recent(client, now).append(now)
            if len(self._failures) > 10_000:  # bounded memory under a flood of fresh sessions
                for key in [k for k, v in self._failures.items() if not v or v[-1] <= now - self.window]:
                    del self._failures[key]

    def guarded(self, clients: Iterable[str], action: Any) -> Any:
        """`action()`, refused if the client is over its limit; an unknown code or a wrong key counts.

        Raises:
            TooManyGuesses, UnknownSession, NotTeacher: and whatever `action` raises.
        """
        clients = tuple(clients)
        self.check(clients)
        try:
            return action()
        except (UnknownSession, NotTeacher):
            self.failed(clients)
            raise

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
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import random
import secrets
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..cache import LRUCache
from ..config import SCALE
from ..data import bicubic_downsample, builtin_image_paths, load_rgb, mod_crop
from .runs import runs_dir

METHODS: tuple[str, ...] = ("bicubic", "srresnet", "srgan", "hr")
DB_NAME = "mos.sqlite3"
CROP_FOLDER = "mos"
CROP_SIZE = 128  # HR pixels: big enough to judge texture, small enough for a phone screen (32 px LR)
REGIONS = 6  # regions per session: 6 x 4 methods = 24 ratings per student, about three minutes
CONTEXT = 8  # LR pixels of context around a region when upscaling, so no method is judged on border effects
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY"  # no B/8, I/L/1, O/0, S/5, Z/2: easy to read off a projector
CODE_LENGTH = 4
SCORES = (1, 2, 3, 4, 5)

# Ledig et al. 2017, Table 2: MOS on (Set5, Set14, BSD100), 26 raters, 1 (bad) to 5 (excellent).
# The paper's "SRResNet" row is its MSE-trained SRResNet and "SRGAN" its final SRGAN-VGG54 (§3.4); the
# app's bundled SRGAN is a small demo model trained with an MSE content loss, so the class is rating a
# cousin of the paper's network, not the same one.
PAPER_MOS: dict[str, tuple[float, float, float]] = {
    "bicubic": (1.97, 1.80, 1.47),
    "srresnet": (3.37, 2.98, 2.29),
    "srgan": (3.58, 3.72, 3.56),
    "hr": (4.32, 4.32, 4.46),
}
PAPER_SETS: tuple[str, ...] = ("Set5", "Set14", "BSD100")

# Student t quantile t_{0.975, df} for df = 1..30 (4 decimals, as printed in statistics tables).
_T975 = (12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281, 2.2010, 2.1788, 2.1604,
         2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555,
         2.0518, 2.0484, 2.0452, 2.0423)  # fmt: skip
_Z975 = 1.959963984540054  # the normal quantile the t quantile tends to


class UnknownSession(ValueError):
    """No MOS session has this code (a ValueError: the app shows its message to the user)."""


# ----------------------------------------------------------------------------------------------
# Statistics


def t_quantile_975(df: int) -> float:
    """t_{0.975, df}, the Student t quantile of a two-sided 95 % interval (no scipy needed).

    Args:
        df: degrees of freedom, >= 1.

    Returns:
        The table value for df <= 30; beyond it the Cornish-Fisher expansion in 1/df around the normal
        quantile (Abramowitz & Stegun 26.7.5), which is within 1e-5 of the exact value there.
    """
    if df < 1:
        raise ValueError(f"the t quantile needs df >= 1, got {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z = _Z975
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


@dataclass(frozen=True)
class MethodStats:
    """The scores one method received: count, mean and its 95 % interval (None where undefined)."""

    n: int
    mean: float | None = None
    sd: float | None = None  # sample standard deviation (n - 1), None for n < 2
    half_width: float | None = None  # t_{0.975, n-1} * sd / sqrt(n), None for n < 2

    @property
    def low(self) -> float | None:
        return None if self.half_width is None else self.mean - self.half_width

    @property
    def high(self) -> float | None:
        return None if self.half_width is None else self.mean + self.half_width


def summarise(scores: Iterable[float]) -> MethodStats:
    """Mean and 95 % interval, mean ± t_{0.975, n-1} · s / √n, of a method's scores.

    Args:
        scores: the ratings (1..5).

    Returns:
        `MethodStats`; with no score everything but n is None, with one score there is no interval.
    """
    values = [float(s) for s in scores]
    n = len(values)
    if n == 0:
        return MethodStats(0)
    mean = sum(values) / n
    if n == 1:
        return MethodStats(1, mean)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return MethodStats(n, mean, sd, t_quantile_975(n - 1) * sd / math.sqrt(n))


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
class Crop:
    crop_id: str  # "01".."24", numbered after shuffling: says nothing about the method
    method: str
    path: Path
    source: str  # the held-out photo
    box: tuple[int, int, int, int]  # its HR region (left, top, right, bottom)


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

Upscale = Callable[[Image.Image], Image.Image]


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

    def open_session(self, *, regions: int = REGIONS, seed: int | None = None,
                     upscalers: dict[str, Upscale] | None = None) -> Session:  # fmt: skip
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
                    [(code, c.crop_id, c.method, c.path.relative_to(self.root).as_posix(), c.source,
                      json.dumps(c.box)) for c in deck],
                )  # fmt: skip
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
                inserted = db.execute("INSERT OR IGNORE INTO sessions (code, created, labels) VALUES (?, ?, ?)",
                                      (code, time.time(), labels)).rowcount  # fmt: skip
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
            rows = db.execute("SELECT crop_id, method, image, source, box FROM crops WHERE session_code = ? "
                              "ORDER BY crop_id", (code,)).fetchall()  # fmt: skip
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
            rows = db.execute("SELECT crop_id, score FROM votes WHERE session_code = ? AND voter_id = ?",
                              (normalise_code(code), str(voter_id))).fetchall()  # fmt: skip
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
            rows = db.execute("SELECT c.method, v.score, v.voter_id FROM votes v JOIN crops c "
                              "ON c.session_code = v.session_code AND c.crop_id = v.crop_id "
                              "WHERE v.session_code = ?", (session.code,)).fetchall()  # fmt: skip
        stats = {m: summarise(score for method, score, _ in rows if method == m) for m in METHODS}
        return Results(session.code, session.revealed, session.labels, stats, len(rows),
                       len({voter for _, _, voter in rows}), session.n_crops)  # fmt: skip

    def export_csv(self, code: str) -> str:
        """Every vote of the session as CSV: one row per vote, with the method unblinded, oldest first."""
        session = self.session(code)
        with self._connect() as db:
            rows = db.execute("SELECT v.created, v.voter_id, v.crop_id, c.method, v.score, c.source, c.box "
                              "FROM votes v JOIN crops c ON c.session_code = v.session_code AND c.crop_id = v.crop_id "
                              "WHERE v.session_code = ? ORDER BY v.id", (session.code,)).fetchall()  # fmt: skip
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["session", "time_utc", "voter", "crop_id", "method", "blind_label", "score", "source",
                         "box"])  # fmt: skip
        for created, voter, crop_id, method, score, source, box in rows:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created))
            writer.writerow([session.code, stamp, voter, crop_id, method, session.labels[method], score, source,
                             " ".join(map(str, json.loads(box)))])  # fmt: skip
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
# The deck of crops


def _default_upscalers() -> dict[str, Upscale]:
    from ..engine.inference import upscaler_for

    return {m: upscaler_for(m) for m in ("bicubic", "srresnet", "srgan")}


def _pick_region(image: Image.Image, rng: random.Random, tries: int = 8) -> tuple[int, int, int, int]:
    """A CROP_SIZE box on the LR grid, the most textured of a few random ones.

    Flat sky or background looks the same in every version, and ratings of it say nothing about the methods.
    """
    best, best_score = None, -1.0
    for _ in range(tries):
        x = rng.randrange(0, (image.width - CROP_SIZE) // SCALE + 1) * SCALE
        y = rng.randrange(0, (image.height - CROP_SIZE) // SCALE + 1) * SCALE
        box = (x, y, x + CROP_SIZE, y + CROP_SIZE)
        grey = np.asarray(image.crop(box).convert("L"), dtype=np.float32)
        score = float(np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey, axis=1)).mean())
        if score > best_score:
            best, best_score = box, score
    return best


def region_versions(hr: Image.Image, box: tuple[int, int, int, int], upscalers: dict[str, Upscale]
                    ) -> dict[str, Image.Image]:  # fmt: skip
    """The four versions of one HR region: HR itself, and each method's x4 of the bicubic-downsampled photo.

    Each method upscales the LR region with `CONTEXT` pixels around it and the centre is kept, as if the
    whole photo had been upscaled. The window keeps one size (shifted inward at the photo's edges), which
    also lets the CPU convolution kernels reuse their setup from one region to the next.
    """
    lr = bicubic_downsample(hr, SCALE)
    x0, y0, x1, y1 = (v // SCALE for v in box)
    wx0 = min(max(0, x0 - CONTEXT), max(0, lr.width - (x1 - x0) - 2 * CONTEXT))
    wy0 = min(max(0, y0 - CONTEXT), max(0, lr.height - (y1 - y0) - 2 * CONTEXT))
    wx1, wy1 = min(lr.width, x1 - x0 + wx0 + 2 * CONTEXT), min(lr.height, y1 - y0 + wy0 + 2 * CONTEXT)
    window = lr.crop((wx0, wy0, wx1, wy1))
    inner = ((x0 - wx0) * SCALE, (y0 - wy0) * SCALE, (x1 - wx0) * SCALE, (y1 - wy0) * SCALE)
    versions = {m: upscalers[m](window).convert("RGB").crop(inner) for m in METHODS if m != "hr"}
    versions["hr"] = hr.crop(box)
    return versions


def make_deck(folder: Path, *, regions: int = REGIONS, rng: random.Random | None = None,
              upscalers: dict[str, Upscale] | None = None) -> list[Crop]:  # fmt: skip
    """Make a session's crops: `regions` regions of the held-out photos x the four methods, as PNG files.

    Args:
        folder: where the PNGs go (created).
        regions: number of regions, spread over the held-out photos in turn.
        rng: picks the regions and the shuffled numbering.
        upscalers: see `MosStore.open_session`.

    Returns:
        The crops, numbered "01".. in shuffled order (the number says nothing about the method).
    """
    rng = rng or random.Random()
    photos = builtin_image_paths(split="heldout")
    if not photos:
        raise ValueError("no held-out built-in photo for the MOS crops: install scikit-image or matplotlib")
    upscalers = upscalers or _default_upscalers()
    names = list(photos)
    rng.shuffle(names)
    hr_images = {n: mod_crop(load_rgb(photos[n]), SCALE) for n in names[:regions]}
    pieces = []
    for k in range(regions):
        name = names[k % len(names)]
        box = _pick_region(hr_images[name], rng)
        for method, image in region_versions(hr_images[name], box, upscalers).items():
            pieces.append((method, image, name, box))
    rng.shuffle(pieces)
    folder.mkdir(parents=True, exist_ok=True)
    deck = []
    for k, (method, image, name, box) in enumerate(pieces, start=1):
        crop_id = f"{k:02d}"
        path = folder / f"{crop_id}.png"
        image.save(path, format="PNG")
        deck.append(Crop(crop_id, method, path, name, box))
    return deck


# ----------------------------------------------------------------------------------------------
# One store per runs folder, for the app

_stores: LRUCache[MosStore] = LRUCache(8)


def get_store() -> MosStore:
    """The `MosStore` of the current runs folder ($SRGAN_RUNS_DIR is read at each call)."""
    root = runs_dir().resolve()
    return _stores.get_or_create(root, lambda: MosStore(root))

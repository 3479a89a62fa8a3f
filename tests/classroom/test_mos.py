"""The MOS test's data side (srgan.classroom.mos, mos_stats, mos_deck).

Statistics, sessions, one vote per crop, persistence, concurrency.
"""

import csv
import hashlib
import io
import itertools
import math
import sqlite3
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from srgan.classroom.mos import (
    CODE_ALPHABET,
    CODE_LENGTH,
    UNDO_SECONDS,
    GuessLimiter,
    MosStore,
    NothingToUndo,
    NotTeacher,
    TooManyGuesses,
    UnknownSession,
    secret_hash,
)
from srgan.classroom.mos_deck import METHODS
from srgan.classroom.mos_stats import FEW_RATERS, PAPER_MOS, bootstrap_interval, summarise, t_quantile_975
from srgan.data import bicubic_downsample, bicubic_upscale, builtin_image_paths, load_rgb, mod_crop

# Cheap stand-ins for the networks: the store and the statistics do not care what made a crop.
CHEAP = {m: (lambda im: bicubic_upscale(im, 4)) for m in ("bicubic", "srresnet", "srgan")}


@pytest.fixture
def store(tmp_path):
    return MosStore(tmp_path)


@pytest.fixture
def session(store):
    return store.open_session(regions=2, seed=0, upscalers=CHEAP)


def _by_method(store, code):
    crops = {}
    for c in store.crops(code):
        crops.setdefault(c.method, []).append(c.crop_id)
    return crops


# -- statistics ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "df, expected",
    [
        (1, 12.706),
        (2, 4.303),
        (5, 2.571),
        (10, 2.228),
        (29, 2.045),
        (30, 2.042),
        (40, 2.021),
        (60, 2.000),
        (120, 1.980),
        (10**6, 1.960),
    ],
)
def test_t_quantile_matches_the_printed_tables(df, expected):
    assert t_quantile_975(df) == pytest.approx(expected, abs=6e-4)


def test_t_quantile_is_smooth_past_the_table_and_decreasing():
    values = [t_quantile_975(df) for df in range(1, 400)]
    assert all(a > b for a, b in itertools.pairwise(values))
    assert t_quantile_975(31) == pytest.approx(2.0395, abs=1e-4)  # first value from the expansion
    with pytest.raises(ValueError):
        t_quantile_975(0)


def test_t_quantile_against_scipy_when_installed():
    stats = pytest.importorskip("scipy.stats")
    for df in list(range(1, 60)) + [75, 100, 250, 1000]:
        assert t_quantile_975(df) == pytest.approx(float(stats.t.ppf(0.975, df)), abs=1e-4)


def test_summarise_known_votes():
    s = summarise([1, 2, 3, 4, 5])  # five raters with one vote each
    assert (s.n, s.raters, s.mean, s.few_raters) == (5, 5, 3.0, False)
    assert s.sd == pytest.approx(math.sqrt(2.5))
    assert 1.0 <= s.low < 3.0 < s.high <= 5.0
    assert s.low == pytest.approx(1.8, abs=0.25) and s.high == pytest.approx(4.2, abs=0.25)  # ± 1.96·σ/√n, σ=√2
    assert summarise([1, 2, 3, 4, 5]) == s  # the same votes, the same interval: the chart does not flicker
    two = summarise([2, 4])  # the t interval was 3 ± 12.7, i.e. -9.7 .. 15.7; the bootstrap stays in 2..4
    assert (two.low, two.high, two.few_raters) == (2.0, 4.0, True)
    same = summarise([4, 4, 4])
    assert (same.low, same.high) == (4.0, 4.0)
    one = summarise([5])
    assert (one.n, one.mean, one.low, one.high, one.few_raters) == (1, 5.0, None, None, True)
    assert summarise([]).mean is None and summarise({}).n == 0


def test_the_bootstrap_resamples_raters_not_votes():
    """Ten raters, each rating six crops all alike: the spread is between raters, and the interval says so."""
    clustered = {f"r{k}": [1 + k % 5] * 6 for k in range(10)}
    by_rater = summarise(clustered)
    as_if_independent = summarise([v for votes in clustered.values() for v in votes])
    assert by_rater.mean == as_if_independent.mean == 3.0 and by_rater.n == 60 and by_rater.raters == 10
    width = by_rater.high - by_rater.low
    assert width > 2 * (as_if_independent.high - as_if_independent.low)  # √6 wider, about
    assert 1.0 <= by_rater.low and by_rater.high <= 5.0


@given(st.lists(st.lists(st.integers(1, 5), min_size=1, max_size=8), min_size=2, max_size=30))
@settings(max_examples=60, deadline=None)
def test_bootstrap_intervals_stay_inside_the_votes_and_hold_the_mean(by_rater):
    s = summarise({f"r{k}": votes for k, votes in enumerate(by_rater)})
    votes = [v for g in by_rater for v in g]
    assert min(votes) <= s.low <= s.high <= max(votes)
    assert s.low - 1e-9 <= s.mean <= s.high + 1e-9 or s.few_raters  # a skewed handful may miss it
    assert s.few_raters == (len(by_rater) < FEW_RATERS)


def test_bootstrap_needs_two_raters():
    with pytest.raises(ValueError):
        bootstrap_interval([[3, 4]])
    assert bootstrap_interval([[1], [5]], seed=1) == bootstrap_interval([[1], [5]], seed=1)


def test_paper_mos_is_table_2():
    assert PAPER_MOS["srgan"] == (3.58, 3.72, 3.56) and PAPER_MOS["hr"][2] == 4.46
    for sets in zip(*(PAPER_MOS[m] for m in METHODS)):  # bicubic < SRResNet < SRGAN < HR on every set
        assert list(sets) == sorted(sets)


# -- sessions and crops ----------------------------------------------------------------------


def test_session_code_and_deck(store, session):
    assert len(session.code) == CODE_LENGTH and set(session.code) <= set(CODE_ALPHABET)
    assert sorted(session.labels.values()) == ["A", "B", "C", "D"]
    crops = store.crops(session.code)
    assert [c.crop_id for c in crops] == [f"{k:02d}" for k in range(1, 9)]
    assert {m: len(ids) for m, ids in _by_method(store, session.code).items()} == {m: 2 for m in METHODS}
    for c in crops:
        image = Image.open(c.path)
        assert image.format == "PNG" and image.size == (128, 128)
        assert c.method not in c.path.name  # the file name does not give the method away
    assert store.session(f"  {session.code.lower()} ").code == session.code
    with pytest.raises(UnknownSession):
        store.session("ZZZZ")


def test_crops_are_regions_of_the_whole_upscaled_photo(store, session):
    """HR is the photo's own pixels; a method's crop equals that region of the whole photo upscaled."""
    for c in store.crops(session.code):
        hr = mod_crop(load_rgb(builtin_image_paths(split="heldout")[c.source]), 4)
        expected = {"hr": hr, "bicubic": bicubic_upscale(bicubic_downsample(hr, 4), 4)}.get(c.method)
        if expected is not None:
            assert Image.open(c.path).tobytes() == expected.crop(c.box).tobytes(), c


def test_failed_session_leaves_nothing(store):
    def broken(image):
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):
        store.open_session(regions=1, upscalers={**CHEAP, "srgan": broken})
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 0
    assert not any((store.root / "mos").glob("*/*.png"))


# -- votes -----------------------------------------------------------------------------------


def test_one_vote_per_crop_per_voter(store, session):
    crop = store.crops(session.code)[0].crop_id
    assert store.vote(session.code, "alice", crop, 2) is True
    assert store.vote(session.code, "alice", crop, 5) is False  # refused: the first rating stays
    assert store.vote(session.code, "bob", crop, 5) is True
    r = store.results(session.code)
    assert (r.votes, r.voters) == (2, 2)
    assert store.rated(session.code, "alice") == {crop: 2}
    for bad in (0, 6, 2.5, "x", None):
        with pytest.raises(ValueError):
            store.vote(session.code, "carol", crop, bad)
    with pytest.raises(ValueError):
        store.vote(session.code, "carol", "99", 3)
    assert store.results(session.code).votes == 2


def test_results_from_known_votes(store, session):
    ids = _by_method(store, session.code)
    for voter, score in zip("abcde", [1, 2, 3, 4, 5]):
        store.vote(session.code, voter, ids["bicubic"][0], score)
    store.vote(session.code, "a", ids["hr"][0], 4)
    store.vote(session.code, "b", ids["hr"][1], 5)
    store.vote(session.code, "c", ids["srresnet"][0], 2)
    r = store.results(session.code)
    assert (r.votes, r.voters, r.revealed) == (8, 5, False)
    assert r.stats["bicubic"].mean == 3.0 and r.stats["bicubic"].raters == 5
    assert 1.0 <= r.stats["bicubic"].low < 3.0 < r.stats["bicubic"].high <= 5.0
    hr = r.stats["hr"]
    assert (hr.mean, hr.raters, hr.low, hr.high, hr.few_raters) == (4.5, 2, 4.0, 5.0, True)
    assert (r.stats["srresnet"].n, r.stats["srresnet"].mean, r.stats["srresnet"].low) == (1, 2.0, None)
    assert r.stats["srgan"].n == 0 and r.stats["srgan"].mean is None


def test_one_voters_votes_count_as_one_rater(store, session):
    ids = _by_method(store, session.code)
    store.vote(session.code, "a", ids["srgan"][0], 5)
    store.vote(session.code, "a", ids["srgan"][1], 5)
    s = store.results(session.code).stats["srgan"]
    assert (s.n, s.raters, s.low) == (2, 1, None)  # two votes, one student: no interval


def test_each_voter_sees_every_crop_once_in_their_own_order(store, session):
    orders = {}
    for voter in ("alice", "bob"):
        seen = []
        while (crop := store.next_crop(session.code, voter)) is not None:
            seen.append(crop.crop_id)
            store.vote(session.code, voter, crop.crop_id, 3)
        assert sorted(seen) == [c.crop_id for c in store.crops(session.code)]
        orders[voter] = seen
    assert orders["alice"] != orders["bob"]


def test_votes_survive_a_restart(tmp_path, session):
    first = MosStore(tmp_path)
    crops = first.crops(session.code)
    for k, c in enumerate(crops):
        first.vote(session.code, f"v{k % 3}", c.crop_id, 1 + k % 5)
    first.set_revealed(session.code)
    before = first.results(session.code)
    del first
    again = MosStore(tmp_path)  # what a restarted server builds
    assert again.results(session.code) == before
    assert again.results(session.code).revealed and again.results(session.code).votes == len(crops)
    assert again.vote(session.code, "v0", crops[0].crop_id, 5) is False  # the ballot box remembers too
    with sqlite3.connect(again.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reset_moves_votes_aside_hides_the_methods_and_keeps_a_csv(store, session):
    crop = store.crops(session.code)[0].crop_id
    store.vote(session.code, "a", crop, 4)
    store.vote(session.code, "b", crop, 3)
    store.set_revealed(session.code)
    before = store.export_csv(session.code)
    receipt = store.reset(session.code)
    assert receipt.deleted == 2 and receipt.csv_path.read_text(encoding="utf-8") == before
    assert receipt.csv_path.parent == store.root / "mos" / session.code
    r = store.results(session.code)
    assert (r.votes, r.revealed, r.n_crops) == (0, False, 8)
    assert store.vote(session.code, "a", crop, 1) is True  # a new round


def test_undo_brings_the_votes_back_and_the_first_rating_wins(store, session):
    first, second = [c.crop_id for c in store.crops(session.code)[:2]]
    store.vote(session.code, "a", first, 4)
    store.vote(session.code, "b", first, 3)
    store.set_revealed(session.code)
    before = store.export_csv(session.code)
    store.reset(session.code)
    store.vote(session.code, "a", first, 1)  # "a" rates the same crop again after the reset...
    store.vote(session.code, "a", second, 2)  # ... and a new one
    assert store.undo_reset(session.code) == 2
    r = store.results(session.code)
    assert r.revealed and r.votes == 3
    assert store.rated(session.code, "a") == {first: 4, second: 2}  # the first rating of `first` is back
    assert store.export_csv(session.code).startswith(before)
    with pytest.raises(NothingToUndo):
        store.undo_reset(session.code)  # once only


def test_undo_expires(store, session, monkeypatch):
    from srgan.classroom import mos

    store.vote(session.code, "a", store.crops(session.code)[0].crop_id, 4)
    store.reset(session.code)
    later = mos.time.time() + UNDO_SECONDS + 1
    monkeypatch.setattr(mos.time, "time", lambda: later)
    with pytest.raises(NothingToUndo):
        store.undo_reset(session.code)
    with pytest.raises(NothingToUndo):
        MosStore(store.root).undo_reset(session.code)  # nor on a store that never reset


# -- the teacher key ---------------------------------------------------------------------------


def test_the_teacher_key_is_unguessable_and_only_its_hash_is_stored(store, session):
    assert len(session.secret) >= 32 and session.secret not in repr(session)
    assert store.teacher_session(session.code.lower(), session.secret).code == session.code
    assert store.session(session.code).secret == ""  # nobody gets the key back from the store
    for wrong in ("", None, "x", session.code, session.secret[:-1], session.secret + "x"):
        with pytest.raises(NotTeacher):
            store.teacher_session(session.code, wrong)
    with pytest.raises(UnknownSession):
        store.teacher_session("ZZZZ", session.secret)
    other = store.open_session(regions=1, seed=0, upscalers=CHEAP)
    assert other.secret != session.secret
    with pytest.raises(NotTeacher):
        store.teacher_session(other.code, session.secret)  # one session's key opens no other
    with sqlite3.connect(store.path) as db:
        stored = dict(db.execute("SELECT code, secret_hash FROM sessions").fetchall())
        dump = "\n".join(db.iterdump())
    assert stored[session.code] == secret_hash(session.secret) == hashlib.sha256(
        f"srgan-mos-teacher:{session.secret}".encode()
    ).hexdigest()
    assert session.secret not in dump and other.secret not in dump


def test_a_store_from_before_keys_is_upgraded_and_its_sessions_are_locked(tmp_path):
    with sqlite3.connect(tmp_path / "mos.sqlite3") as db:
        db.execute("CREATE TABLE sessions (code TEXT PRIMARY KEY, created REAL NOT NULL, "
                   "revealed INTEGER NOT NULL DEFAULT 0, labels TEXT NOT NULL)")  # fmt: skip
        db.execute("INSERT INTO sessions VALUES ('ACDE', 0, 0, '{}')")
    store = MosStore(tmp_path)
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT secret_hash FROM sessions WHERE code = 'ACDE'").fetchone() == (None,)
    session = store.open_session(regions=1, seed=1, upscalers=CHEAP)
    assert store.teacher_session(session.code, session.secret).code == session.code


# -- guessing, slowed down ---------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_guess_limiter_refuses_a_client_after_its_wrong_guesses_for_a_minute():
    clock = _Clock()
    limiter = GuessLimiter(3, clock=clock)
    alice, bob = ("session:alice", "host:10.0.0.1"), ("session:bob", "host:10.0.0.2")

    def wrong():
        raise UnknownSession("no such code")

    for _ in range(3):
        with pytest.raises(UnknownSession):
            limiter.guarded(alice, wrong)
    with pytest.raises(TooManyGuesses, match="wait 60 s"):
        limiter.guarded(alice, lambda: "a right guess, too late")
    assert limiter.guarded(bob, lambda: "ok") == "ok"  # another client is not affected
    clock.now += 30
    with pytest.raises(TooManyGuesses, match="wait 30 s"):
        limiter.check(alice)
    clock.now += 30.5  # a minute after the first wrong guesses: allowed again
    assert limiter.guarded(alice, lambda: "ok") == "ok"
    for _ in range(10):
        limiter.guarded(alice, lambda: "right guesses never count")
    limiter.check(alice)


def test_the_guess_limiter_counts_an_address_over_all_its_sessions():
    """A script that opens a fresh session per guess is stopped by its address (3x the session limit)."""
    limiter = GuessLimiter(2, clock=_Clock())
    for k in range(6):
        with pytest.raises(NotTeacher):
            limiter.guarded((f"session:{k}", "host:1.2.3.4"), lambda: (_ for _ in ()).throw(NotTeacher("no")))
    with pytest.raises(TooManyGuesses):
        limiter.check(("session:fresh", "host:1.2.3.4"))
    limiter.check(("session:fresh", "host:5.6.7.8"))


def test_the_guess_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("SRGAN_MOS_GUESSES", "4")
    assert GuessLimiter().per_minute == 4


def test_csv_export(store, session):
    crops = {c.crop_id: c for c in store.crops(session.code)}
    sent = [("a", "01", 4), ("b", "01", 2), ("a", "05", 5)]
    for voter, crop_id, score in sent:
        store.vote(session.code, voter, crop_id, score)
    rows = list(csv.DictReader(io.StringIO(store.export_csv(session.code))))
    assert [(r["voter"], r["crop_id"], int(r["score"])) for r in rows] == sent
    for r in rows:
        assert r["session"] == session.code
        assert r["method"] == crops[r["crop_id"]].method
        assert r["blind_label"] == session.labels[r["method"]]
        assert r["source"] == crops[r["crop_id"]].source


def test_thirty_voters_at_once_no_vote_lost_or_doubled(tmp_path, session):
    crops = [c.crop_id for c in MosStore(tmp_path).crops(session.code)]
    barrier = threading.Barrier(30)
    accepted = [0] * 30
    errors = []

    def student(k: int) -> None:
        store = MosStore(tmp_path)  # as the app's threads do: one store, many connections
        try:
            barrier.wait()
            for crop_id in crops:
                accepted[k] += store.vote(session.code, f"student{k}", crop_id, 1 + k % 5)
                accepted[k] += store.vote(session.code, f"student{k}", crop_id, 5)  # a double click: refused
        except (sqlite3.Error, ValueError) as e:  # "database is locked" above all; reported below
            errors.append(e)

    threads = [threading.Thread(target=student, args=(k,)) for k in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert accepted == [len(crops)] * 30
    r = MosStore(tmp_path).results(session.code)
    assert (r.votes, r.voters) == (30 * len(crops), 30)
    assert all(s.n == 30 * 2 for s in r.stats.values())
    assert r.stats["hr"].mean == pytest.approx(sum(1 + k % 5 for k in range(30)) / 30)


# -- what the tab shows -----------------------------------------------------------------------


def test_teacher_view_stays_blind_until_reveal(tmp_path, monkeypatch, session):
    from ui import mos as tab

    monkeypatch.setenv("SRGAN_RUNS_DIR", str(tmp_path))
    crop = MosStore(tmp_path).crops(session.code)[0].crop_id
    _, next_id, progress, cleared = tab.vote(session.code, crop, 4, voter="alice")
    assert next_id and next_id != crop and "1 of 8" in progress and cleared is None
    with pytest.raises(ValueError, match="rating"):
        tab.vote(session.code, next_id, None, voter="alice")
    with pytest.raises(ValueError, match="Only the teacher's browser"):
        tab.results_view(session.code, {}, "en")
    with pytest.raises(ValueError, match="Solo el navegador del docente"):
        tab.reveal(session.code, "not the key", "es")
    chart, table, summary = tab.results_view(session.code, {session.code: session.secret}, "en")
    cells = " ".join(map(str, table.to_numpy().ravel()))
    assert list(table.iloc[:, 0]) == ["A", "B", "C", "D"]
    assert not any(name in cells for name in ("Bicubic", "SRResNet", "SRGAN", "HR", "3.58"))
    assert "**1** vote from **1** student" in summary and chart.size[0] > 600
    chart, table, summary = tab.reveal(session.code, session.secret, "es")
    assert list(table.iloc[:, 0]) == ["Bicubic", "SRResNet (MSE)", "SRGAN", "HR"]
    assert "3.58 / 3.72 / 3.56" in " ".join(map(str, table.to_numpy().ravel())) and "revelados" in summary
    assert tab.results_view(session.code, None, "en").summary  # revealed: anyone with the code may look
    assert tab.voter_id("abc") == tab.voter_id("abc") != tab.voter_id("abd")
    with pytest.raises(ValueError, match="Ninguna sesión tiene el código ZZZZ"):
        tab.join("zzzz", "alice", "es")


def _overlaps(boxes) -> list:
    return [(a, b) for a, b in itertools.combinations(boxes, 2) if a.overlaps(b)]


@pytest.mark.parametrize("revealed", [False, True])
def test_the_chart_labels_do_not_collide_at_projector_size(tmp_path, monkeypatch, session, revealed):
    """n under every label, the interval named, nothing overlapping, drawn as the projector shows it."""
    from ui import mos as tab

    monkeypatch.setenv("SRGAN_RUNS_DIR", str(tmp_path))
    store = MosStore(tmp_path)
    for k, c in enumerate(store.crops(session.code)):
        for voter in range(3 + k % 4):  # few raters on some methods: dashed intervals
            store.vote(session.code, f"v{voter}", c.crop_id, 1 + (k + voter) % 5)
    store.set_revealed(session.code, revealed)
    for lang in ("en", "es"):
        fig = tab.results_figure(store.results(session.code), lang)
        image = tab.fig_to_pil(fig)
        assert image.size[0] >= 1200  # drawn 1:1 in the teacher's column at 1920 px: 15/13 pt labels stay large
        renderer = fig.canvas.get_renderer()
        ours, paper = fig.axes
        for ax in (ours, paper):
            labels = [lab for lab in ax.get_xticklabels() if lab.get_text()]
            assert len(labels) == 4
            boxes = [lab.get_window_extent(renderer) for lab in labels]
            assert not _overlaps(boxes), [lab.get_text() for lab in labels]
            assert all(b.x0 >= 0 and b.x1 <= image.size[0] for b in boxes)
        assert all("n=" in lab.get_text() for lab in ours.get_xticklabels())
        note = fig.get_supxlabel() if hasattr(fig, "get_supxlabel") else fig._supxlabel.get_text()
        assert "bootstrap" in note
        texts = [txt.get_window_extent(renderer) for txt in ours.texts] + [
            lab.get_window_extent(renderer) for lab in ours.get_xticklabels()
        ]
        assert not _overlaps(texts)

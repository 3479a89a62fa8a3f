"""The MOS test's data side (srgan.classroom.mos, mos_stats, mos_deck).

Statistics, sessions, one vote per crop, persistence, concurrency.
"""

import csv
import io
import itertools
import math
import sqlite3
import threading

import pytest
from PIL import Image

from srgan.classroom.mos import CODE_ALPHABET, CODE_LENGTH, MosStore, UnknownSession
from srgan.classroom.mos_deck import METHODS
from srgan.classroom.mos_stats import PAPER_MOS, summarise, t_quantile_975
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
    s = summarise([1, 2, 3, 4, 5])  # mean 3, s = sqrt(2.5), half width 2.7764 * 1.5811 / sqrt(5) = 1.9632
    assert (s.n, s.mean) == (5, 3.0)
    assert s.sd == pytest.approx(math.sqrt(2.5))
    assert s.half_width == pytest.approx(1.9632, abs=1e-4)
    assert (s.low, s.high) == pytest.approx((1.0368, 4.9632), abs=1e-4)
    two = summarise([2, 4])  # s = sqrt(2), so the half width is t_{0.975,1} = 12.7062 itself
    assert two.half_width == pytest.approx(12.7062)
    assert summarise([4, 4, 4]).half_width == 0.0
    one = summarise([5])
    assert (one.n, one.mean, one.half_width, one.low) == (1, 5.0, None, None)
    assert summarise([]).mean is None


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
    assert r.stats["bicubic"].mean == 3.0 and r.stats["bicubic"].half_width == pytest.approx(1.9632, abs=1e-4)
    assert r.stats["hr"].mean == 4.5 and r.stats["hr"].half_width == pytest.approx(12.7062 / 2, abs=1e-4)
    assert (r.stats["srresnet"].n, r.stats["srresnet"].mean, r.stats["srresnet"].half_width) == (1, 2.0, None)
    assert r.stats["srgan"].n == 0 and r.stats["srgan"].mean is None


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


def test_reset_deletes_votes_and_hides_the_methods(store, session):
    crop = store.crops(session.code)[0].crop_id
    store.vote(session.code, "a", crop, 4)
    store.vote(session.code, "b", crop, 3)
    store.set_revealed(session.code)
    assert store.reset(session.code) == 2
    r = store.results(session.code)
    assert (r.votes, r.revealed, r.n_crops) == (0, False, 8)
    assert store.vote(session.code, "a", crop, 1) is True  # a new round


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
    chart, table, summary = tab.results_view(session.code, "en")
    cells = " ".join(map(str, table.to_numpy().ravel()))
    assert list(table.iloc[:, 0]) == ["A", "B", "C", "D"]
    assert not any(name in cells for name in ("Bicubic", "SRResNet", "SRGAN", "HR", "3.58"))
    assert "**1** votes" in summary and chart.size[0] > 600
    chart, table, summary = tab.reveal(session.code, "es")
    assert list(table.iloc[:, 0]) == ["Bicubic", "SRResNet (MSE)", "SRGAN", "HR"]
    assert "3.58 / 3.72 / 3.56" in " ".join(map(str, table.to_numpy().ravel())) and "revelados" in summary
    assert tab.voter_id("abc") == tab.voter_id("abc") != tab.voter_id("abd")

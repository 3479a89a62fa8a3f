"""Issue #18: the MOS summary counts in the singular for one ("1 student", "1 estudiante")."""

import pytest

from srgan.classroom.mos import Results
from ui import mos


@pytest.mark.parametrize(
    "lang, n, expected",
    [
        ("en", 1, ("**1** vote", "**1** student", "1 crop")),
        ("es", 1, ("**1** voto", "**1** estudiante", "1 recorte")),
        ("en", 2, ("**2** votes", "**2** students", "2 crops")),
        ("es", 0, ("**0** votos", "**0** estudiantes", "0 recortes")),
    ],
)
def test_the_summary_counts_in_the_singular_for_one(monkeypatch, lang, n, expected):
    monkeypatch.setattr(mos, "results_chart", lambda results, lang: None)
    monkeypatch.setattr(mos, "results_table", lambda results, lang: None)
    results = Results(code="ABCD", revealed=False, labels={}, stats={}, votes=n, voters=n, n_crops=n)
    summary = mos._results_view(results, lang).summary.split("\n\n")[0]  # (then a note on MOS)
    votes, voters, crops = expected
    assert summary.startswith(f"{votes} {'from' if lang == 'en' else 'de'} {voters} ")
    assert f"({crops} " in summary
    if n == 1:
        assert "students" not in summary and "estudiantes" not in summary and "crops" not in summary


@pytest.mark.parametrize(
    "lang, asked, deleted, back",
    [
        ("en", "Delete the 1 vote of session", "1 vote deleted", "1 vote is back."),
        ("es", "¿Borrar el único voto de la sesión", "1 voto borrado", "Ha vuelto 1 voto."),
    ],
)
def test_reset_and_undo_say_one_vote_in_the_singular(tmp_path, monkeypatch, lang, asked, deleted, back):
    """The teacher resets a session with one vote: the question, the receipt and the undo say "1 vote"."""
    from srgan.classroom.mos import MosStore
    from srgan.data import bicubic_upscale

    monkeypatch.setattr(mos, "results_chart", lambda results, lang: None)
    store = MosStore(tmp_path)
    monkeypatch.setattr(mos, "get_store", lambda: store)
    cheap = {m: (lambda im: bicubic_upscale(im, 4)) for m in ("bicubic", "srresnet", "srgan")}
    session = store.open_session(regions=1, seed=0, upscalers=cheap)
    store.vote(session.code, "a", store.crops(session.code)[0].crop_id, 4)
    question = mos.reset_question(session.code, session.secret, lang)
    receipt = mos.reset(session.code, session.secret, lang)
    undone = mos.undo_reset(session.code, session.secret, lang)
    assert question.startswith(asked)
    assert receipt.summary.startswith(deleted)
    assert undone.summary.startswith(back)
    for text in (question, receipt.summary.split("\n\n")[0], undone.summary.split("\n\n")[0]):
        assert "1 votes" not in text and "1 votos" not in text

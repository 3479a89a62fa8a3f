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

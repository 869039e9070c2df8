"""dossier.line_kinds, the kinds of a dossier's current lines (migration 0012), which the merge
trusts instead of looking for lines to retire or for a VIDHOSP line: it must always be what the
lines say, and what the merge does with it must be what it did by looking."""

from __future__ import annotations

import datetime as dt

import pytest

from fides import config as config_mod
from fides.bench import synthetic
from fides.layouts import detect

_MISMATCHES = """
SELECT d.nda, d.line_kinds, coalesce(bit_or(CASE l.kind WHEN 'VIDHOSP' THEN 1 WHEN 'RSS' THEN 2 ELSE 4 END), 0)
FROM dossier d LEFT JOIN dossier_line l ON l.dossier_id = d.id AND l.current
GROUP BY d.id HAVING d.line_kinds <> coalesce(bit_or(CASE l.kind WHEN 'VIDHOSP' THEN 1 WHEN 'RSS' THEN 2 ELSE 4 END), 0)
"""


@pytest.fixture
def cfg(tmp_path):  # for the `engine` fixture (tests/integration/conftest.py)
    return config_mod.from_mapping(tmp_path / "root", {"inbox": {"stable_seconds": 0},
                                                       "establishment": {"finess": synthetic.FINESS}})


def _flows(tmp_path) -> dict[str, list[str]]:
    source = tmp_path / "flows"
    source.mkdir()
    synthetic.write_flows(source, 6, seed=11)
    return {kind: next(source.glob(f"{kind}_*")).read_bytes().decode("latin-1").splitlines()
            for kind in ("VIDHOSP", "RSS", "FICHCOMP")}


def _moved(rss: list[str], days: int) -> list[str]:
    """The RSS lines with every RUM `days` later."""
    out = []
    for text in rss:
        layout = detect("RSS", text)
        record = layout.parse(text)
        for field in ("date_entree_um", "date_sortie_um"):
            record[field] += dt.timedelta(days=days)
        out.append(layout.render(record))
    return out


def _drop(engine, kind: str, number: int, lines: list[str]) -> None:
    name = f"{kind}_{synthetic.FINESS}_2025040{number}000000_000{number}.txt"
    (engine.tree.inbox / name).write_bytes("".join(f"{line}\r\n" for line in lines).encode("latin-1"))
    report = engine.run_pass()
    assert [status for _, _, status in report.processed] == ["OK"], name


def _state(engine) -> dict[str, tuple]:
    return {nda: (kinds, entry, exit_, lines) for nda, kinds, entry, exit_, lines in engine.conn.execute(
        "SELECT d.nda, d.line_kinds, d.entry_date, d.exit_date, "
        "(SELECT string_agg(l.kind, ',' ORDER BY l.kind, l.file_id, l.line_no) FROM dossier_line l "
        " WHERE l.dossier_id = d.id AND l.current) FROM dossier d").fetchall()}


def test_line_kinds_follow_the_lines_and_the_vidhosp_dates_still_win(engine, tmp_path):
    flows = _flows(tmp_path)
    _drop(engine, "RSS", 1, flows["RSS"])  # RSS first: it creates the dossiers, dated by its RUMs
    first = _state(engine)
    assert {kinds for kinds, *_ in first.values()} == {2}
    _drop(engine, "VIDHOSP", 2, flows["VIDHOSP"])  # the VIDHOSP's dates replace the RUMs'
    with_vidhosp = _state(engine)
    assert {kinds for kinds, *_ in with_vidhosp.values()} == {3}
    assert engine.conn.execute(_MISMATCHES).fetchall() == []

    _drop(engine, "RSS", 3, _moved(flows["RSS"], 2))  # RSS again, RUMs moved: the VIDHOSP's dates stay
    again = _state(engine)
    for nda, (kinds, entry, exit_, lines) in again.items():
        assert (kinds, entry, exit_, lines) == (3, *with_vidhosp[nda][1:3], with_vidhosp[nda][3]), nda
    retired = engine.conn.execute("SELECT count(*) FROM dossier_line WHERE kind = 'RSS' AND NOT current").fetchone()[0]
    assert retired == len(flows["RSS"])  # the first RSS's lines, each replaced

    _drop(engine, "FICHCOMP", 4, flows["FICHCOMP"])
    kinds = dict(engine.conn.execute("SELECT d.nda, d.line_kinds FROM dossier d").fetchall())
    with_fichcomp = {nda for (nda,) in engine.conn.execute(
        "SELECT DISTINCT d.nda FROM dossier d JOIN dossier_line l ON l.dossier_id = d.id AND l.kind = 'FICHCOMP'")}
    assert with_fichcomp and all(kinds[n] == (7 if n in with_fichcomp else 3) for n in kinds)
    assert engine.conn.execute(_MISMATCHES).fetchall() == []


def test_rss_alone_spans_its_rums_until_a_vidhosp_comes(engine, tmp_path):
    flows = _flows(tmp_path)
    _drop(engine, "RSS", 1, flows["RSS"])
    before = _state(engine)
    _drop(engine, "RSS", 2, _moved(flows["RSS"], 2))  # no VIDHOSP yet: the new RUMs' span is taken
    after = _state(engine)
    for nda, (kinds, entry, exit_, _) in after.items():
        assert kinds == 2 and (entry, exit_) == (before[nda][1] + dt.timedelta(days=2),
                                                 before[nda][2] + dt.timedelta(days=2)), nda

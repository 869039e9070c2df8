"""Billing on real PostgreSQL: files integrated by the engine, validated, billed; the B2 files
written are read back with the project's B2 reader and checked against the valorisation."""

from __future__ import annotations

import datetime as dt
import itertools
import sys
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from fides import config as config_mod
from fides.billing import b2
from fides.billing.run import BillingResult, ReportLine, bill
from fides.layouts import load

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
import dossier_factory as factory  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"
NOW = dt.datetime(2025, 3, 25, 9, 0, tzinfo=dt.timezone.utc)
# Fields the factory leaves blank but ATIH marks mandatory (Simphonie indicators, IPP).
FILLED = {"rejet_amo": "0", "statut_ft_amo": "1", "statut_ft_amc": "9", "statut_ft_patient": "0",
          "pays_assurance": "100", "ipp": "00100234"}


def vidhosp_line(**over) -> str:
    return load("vidhosp_V015").render({**factory.vidhosp(**over), **FILLED})


def rss_line(**over) -> str:
    return load("rss_grp_122").render(factory.rum(**over))


def _valued_vidhosp(nda: str, **over) -> str:
    """A VIDHOSP whose amounts agree with fides' own valorisation (as a GAP's would)."""
    from fides.billing.valorisation import valorise

    d = factory.dossier(factory.vidhosp(num_admin_sejour=nda, **over), [factory.rum(num_admin_sejour=nda)])
    v = valorise(d, factory.context())
    return vidhosp_line(num_admin_sejour=nda, **over, **{k: v.expected_vidhosp[k] for k in v.expected_vidhosp})


@pytest.fixture
def cfg(tmp_path):  # for the `engine` fixture (tests/integration/conftest.py)
    return config_mod.from_mapping(tmp_path, {"inbox": {"stable_seconds": 0}, "billing": {"lot_size": 2, "tjp": {"146": 1000}}})


def drop(processor, name: str, lines: list[str]) -> None:
    (processor.tree.inbox / name).write_bytes("".join(f"{line}\r\n" for line in lines).encode("latin-1"))


def integrate(processor, ndas: list[str]) -> None:
    drop(processor, "IUM_990000010_20250301000000_0001.txt",
         (EXAMPLES / "ium_2013.txt").read_text(encoding="latin-1").splitlines())
    drop(processor, "VIDHOSP_990000010_20250320000000_0001.txt", [_valued_vidhosp(n) for n in ndas])
    drop(processor, "RSS_990000010_20250320000000_0002.txt", [rss_line(num_admin_sejour=n) for n in ndas])
    processor.run_pass()


def states(conn) -> dict[str, int]:
    return dict(conn.execute("SELECT nda, state FROM dossier ORDER BY nda").fetchall())


_RUNS = itertools.count(1)


def billed(processor, requested=None, config=None, conn=None) -> tuple[BillingResult, list[ReportLine]]:
    """A billing run in a transaction of its own, and its report read back from the pending
    outputs (its parts in order; each run's report has a name of its own)."""
    conn = conn or processor.conn
    report = processor.tree.reports / f"FACTURATION_TEST_{next(_RUNS)}.arl"
    with conn.transaction():
        result = bill(conn, config or processor.config, processor.context["refs"], processor.tree, "test", NOW,
                      report, requested)
    parts = conn.execute("SELECT content FROM pending_output WHERE path = %s ORDER BY id",
                         (processor.tree.relative(report),)).fetchall()
    text = b"".join(bytes(c) for c, in parts).decode("utf-8")
    assert text == "" or text.endswith("\n")
    return result, [ReportLine.parse(line) for line in text.splitlines()]


def test_validated_dossiers_are_billed_in_lots(engine):
    ndas = ["2025000201", "2025000202", "2025000203"]
    integrate(engine, ndas)
    conn = engine.conn
    assert states(conn) == {n: 1 for n in ndas}, conn.execute("SELECT dossier_id, code, message FROM anomaly").fetchall()

    report_path = engine.tree.reports / "FACTURATION_990000010.arl"
    with conn.transaction():
        result = bill(conn, engine.config, engine.context["refs"], engine.tree, "test", NOW, report_path)
    engine.write_outputs(None)

    assert states(conn) == {n: 2 for n in ndas}
    assert (result.generated, result.not_generated, result.lots) == (3, 0, 2)
    report = report_path.read_text(encoding="utf-8").splitlines()
    assert [line.split(";")[1:4] for line in report] == [
        ["2025000201", "GENERE", "000000001"], ["2025000202", "GENERE", "000000002"],
        ["2025000203", "GENERE", "000000003"]]
    assert {line.split(";")[4] for line in report} == {"2025H0"}
    # lot_size 2: two lots on FINESS géographique 990000028, numbered 001 and 002.
    lots = conn.execute("SELECT numero, invoices, b2_file FROM lot ORDER BY numero").fetchall()
    assert [(n, i) for n, i, _ in lots] == [(1, 2), (2, 1)]
    files = sorted(engine.tree.b2.iterdir())
    assert [p.name for p in files] == sorted(f for _, _, f in lots)
    parsed = [b2.read(p.read_bytes()) for p in files]
    invoices = [inv for f in parsed for lot in f.lots for inv in lot.invoices]
    assert [inv.first("2")["num_facture"] for inv in invoices] == [1, 2, 3]
    assert all(inv.first("2S")["complement_num_titre"] == "2025H0" for inv in invoices)
    totals = conn.execute("SELECT total, total_amo FROM invoice ORDER BY titre_id").fetchall()
    for inv, (total, amo) in zip(invoices, totals):
        five = inv.first("5")
        assert (five["montant_total_facture_ph"], five["total_remboursable_amo_ph"]) == (total, amo)
    for f, (_, count, _) in zip(parsed, lots):
        lot = f.lots[0]
        assert lot.trailer["nb_factures"] == count
        assert lot.trailer["total_facture"] == sum(i.first("5")["montant_total_facture_ph"] for i in lot.invoices)
        assert f.trailer["nb_enregistrements"] == f.record_count
    assert all(len(line) == 128 for p in files for line in p.read_text(encoding="latin-1").splitlines())
    synth = (engine.tree.reports / "FACT_SYNT.TXT").read_text(encoding="latin-1").splitlines()
    assert [line.split(";")[1] for line in synth] == ndas
    # every field of a line: the invoice's, its lot's (the third invoice is in the second lot), the file
    total, amo = totals[2]
    organisme = conn.execute("SELECT organisme FROM lot WHERE numero = 2").fetchone()[0].strip()
    assert synth[2].split(";") == [
        "FAC", "2025000203", "000000003", "2025H0", "990000028", "002", f"{NOW.astimezone():%Y%m%d}", organisme,
        "185057800608491", "20250303", "20250306", f"{total:.2f}", f"{amo:.2f}", f"{total - amo:.2f}", lots[1][2]]


def test_requested_dossiers_and_reasons(engine):
    integrate(engine, ["2025000201", "2025000202"])
    conn = engine.conn
    conn.execute("UPDATE dossier SET state = 0 WHERE nda = '2025000202'")  # as if never validated
    result, report = billed(engine, ["2025000201", "2025000202", "9999999999"])
    # in the order requested
    assert [(r.nda, r.generated, r.code) for r in report] == [
        ("2025000201", True, ""), ("2025000202", False, "LOT001"), ("9999999999", False, "DOS003")]
    assert (result.generated, result.not_generated) == (1, 2)


def test_exhausted_titre_range_reports_lot004_and_keeps_the_dossiers(engine, tmp_path):
    ndas = ["2025000201", "2025000202", "2025000203"]
    integrate(engine, ndas)
    conn = engine.conn
    narrow = config_mod.from_mapping(tmp_path, {"billing": {"lot_size": 2, "tjp": {"146": 1000}},
                                                "numbering": {"titre_first": 1, "titre_last": 2}})
    _, first = billed(engine, ndas[:2], narrow)
    assert [(r.nda, r.generated) for r in first] == [(n, True) for n in ndas[:2]]
    _, report = billed(engine, config=narrow)
    rows = [(r.nda, r.generated, r.code) for r in report]
    assert rows == [("2025000203", False, "LOT004")], rows
    assert "épuisée" in report[0].message
    assert states(conn) == {"2025000201": 2, "2025000202": 2, "2025000203": 1}  # still VALIDE: billed later
    assert conn.execute("SELECT count(*) FROM titre").fetchone()[0] == 2


def test_um_without_finess_geo_sends_dossier_back(engine):
    integrate(engine, ["2025000201"])
    conn = engine.conn
    conn.execute("UPDATE unite_medicale SET current = false")
    _, report = billed(engine)
    assert [(r.generated, r.code) for r in report] == [(False, "LOT003")]
    assert states(conn) == {"2025000201": 0}
    assert conn.execute("SELECT code FROM anomaly WHERE origin = 'billing'").fetchall() == [("LOT003",)]
    assert conn.execute("SELECT last_code, to_validate FROM dossier").fetchall() == [("LOT003", False)]
    assert conn.execute("SELECT event, from_state, to_state FROM audit_event WHERE dossier_id IS NOT NULL "
                        "ORDER BY id DESC LIMIT 1").fetchall() == [("erreur_referentiel", 1, 0)]


def test_rebilling_keeps_the_titre(engine):
    """After an ARL négatif the dossier is VALIDE again with its titre: a new lot, the same titre."""
    integrate(engine, ["2025000201"])
    conn = engine.conn
    billed(engine)
    conn.execute("UPDATE dossier SET state = 1")  # what NOEMIE 930 négatif does, through dossiers.change
    _, report = billed(engine)
    assert [(r.titre, r.lot) for r in report] == [("000000001", "002")]
    assert conn.execute("SELECT count(*) FROM titre").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM invoice WHERE current").fetchone()[0] == 1


def test_amounts_in_b2_equal_the_valorisation(engine):
    integrate(engine, ["2025000201"])
    conn = engine.conn
    billed(engine)
    engine.write_outputs(None)
    invoice = b2.read(next(engine.tree.b2.iterdir()).read_bytes()).lots[0].invoices[0]
    ghs = [r for r in invoice.all("3") if r["code_acte"] == "GHS"][0]
    # GHS 1955 (GHM 06C091), campaign 2025, × coefficient prudentiel 0.993: the factory's stay.
    tariff = engine.context["refs"].ghs_tariff("1955", dt.date(2025, 3, 6)).tarif_base
    assert ghs["prix_unitaire"] == tariff
    assert ghs["base_remboursement"] == (tariff * Decimal("0.993")).quantize(Decimal("0.01"))
    assert ghs["num_ghs"] == 1955


def test_chunks_and_lots_stream(engine, monkeypatch):
    """Dossiers read 2 at a time, lots of 2: lots span chunks, titres stay consecutive in dossier
    order, every lot's file holds its invoices, nothing is billed twice."""
    from fides.billing import run

    monkeypatch.setattr(run, "CHUNK", 2)
    monkeypatch.setattr(run._Report, "BUFFER", 2)  # report lines through the table, 2 at a time
    monkeypatch.setattr(run._Report, "PART", 2)
    ndas = [f"202500030{i}" for i in range(1, 6)]
    integrate(engine, ndas)
    conn = engine.conn
    result, report = billed(engine)
    parts = conn.execute("SELECT path, count(*) FROM pending_output WHERE path NOT LIKE '%%.b2' "
                         "GROUP BY path").fetchall()
    # 5 lines, 3 lots (sorted here: a server in fr_FR.UTF-8 orders 'FACT_SYNT' before 'FACTURATION')
    assert sorted((Path(p).name[:11], n) for p, n in parts) == [("FACTURATION", 3), ("FACT_SYNT.T", 3)]
    engine.write_outputs(None)
    assert states(conn) == {n: 2 for n in ndas}
    assert [(r.nda, r.titre, r.lot) for r in report] == [
        (n, f"{i:09d}", f"{(i + 1) // 2:03d}") for i, n in enumerate(ndas, 1)]
    lots = conn.execute("SELECT id, numero, invoices, b2_file, total FROM lot ORDER BY numero").fetchall()
    assert [(n, i) for _, n, i, _, _ in lots] == [(1, 2), (2, 2), (3, 1)] and result.lots == 3
    for lot_id, _, count, name, total in lots:
        invoices = b2.read((engine.tree.b2 / name).read_bytes()).lots[0].invoices
        rows = conn.execute("SELECT titre_id, total FROM invoice WHERE lot_id = %s ORDER BY titre_id",
                            (lot_id,)).fetchall()
        assert len(invoices) == len(rows) == count
        assert sum(t for _, t in rows) == total == sum(i.first("5")["montant_total_facture_ph"] for i in invoices)
    synth = (engine.tree.reports / "FACT_SYNT.TXT").read_text(encoding="latin-1").splitlines()
    assert [line.split(";")[1] for line in synth] == ndas
    (written,) = engine.tree.reports.glob("FACTURATION_TEST_*.arl")  # its parts, in order, in one file
    assert [ReportLine.parse(line) for line in written.read_text(encoding="utf-8").splitlines()] == report
    assert conn.execute("SELECT count(*) FROM pending_output").fetchone()[0] == 0
    # a second run finds nothing left to bill
    again, report = billed(engine)
    assert report == [] and again == BillingResult(0, 0, 0)
    outputs = conn.execute("SELECT path, length(content) FROM pending_output").fetchall()
    assert [(Path(p).parent.name, Path(p).name.startswith("FACTURATION_TEST_"), n) for p, n in outputs] == [
        ("reports", True, 0)]  # only its report, empty


def test_validation_sweep_walks_batches(engine, monkeypatch):
    """The sweep validates 2 dossiers per transaction, in id order: each batch's verdicts, state
    changes and audit events are written, a dossier with a blocking anomaly stays EN_COURS."""
    from fides import audit
    from fides.engine import validation

    monkeypatch.setattr(validation, "BATCH", 2)
    ndas = [f"202500040{i}" for i in range(1, 6)]
    drop(engine, "IUM_990000010_20250301000000_0001.txt",
         (EXAMPLES / "ium_2013.txt").read_text(encoding="latin-1").splitlines())
    drop(engine, "VIDHOSP_990000010_20250320000000_0001.txt", [_valued_vidhosp(n) for n in ndas])
    # no RUM for the third one: VAL002 (blocking)
    drop(engine, "RSS_990000010_20250320000000_0002.txt", [rss_line(num_admin_sejour=n) for n in ndas if n != ndas[2]])
    engine.run_pass()
    conn = engine.conn
    rows = conn.execute("SELECT nda, state, to_validate, billable_b2, last_code FROM dossier ORDER BY nda").fetchall()
    assert rows == [(n, 0, False, False, "VAL002") if n == ndas[2] else (n, 1, False, True, None) for n in ndas]
    events = conn.execute("SELECT d.nda FROM audit_event a JOIN dossier d ON d.id = a.dossier_id "
                          "WHERE a.event = 'validation' ORDER BY a.id").fetchall()
    assert [e[0] for e in events] == [n for n in ndas if n != ndas[2]]
    assert audit.verify(conn) == []


def test_two_runs_at_once_take_turns(engine, db_url):
    """Two billing runs started together: the second waits for the first and bills what is left;
    every dossier is billed once, titres are unique and gap-free."""
    import threading

    ndas = [f"202500050{i}" for i in range(1, 6)]
    integrate(engine, ndas)
    results, errors = [], []

    def run() -> None:
        try:
            with psycopg.connect(db_url, autocommit=True) as c:
                results.append(billed(engine, conn=c))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    done = sorted((r.nda, r.titre) for _, report in results for r in report if r.generated)
    assert [n for n, _ in done] == ndas
    assert sorted(t for _, t in done) == [f"{i:09d}" for i in range(1, 6)]
    assert sorted((len(report), res.generated) for res, report in results) == [(0, 0), (5, 5)]


def test_lots_wait_staged_until_the_run_commits(engine):
    """A run's B2 lots are written under out/.staging before its transaction commits, their rows
    holding only their names; a run rolled back leaves its staged files to the next run, which
    removes them; after the commit, each lot is renamed into out/b2, whole."""
    integrate(engine, ["2025000401", "2025000402"])
    conn = engine.conn
    with conn.transaction():
        bill(conn, engine.config, engine.context["refs"], engine.tree, "test", NOW, engine.tree.reports / "A.arl")
        (abandoned,) = conn.execute("SELECT staged FROM pending_output WHERE staged IS NOT NULL").fetchone()
        raise psycopg.Rollback()  # the run fails before its commit
    assert [p.name for p in engine.tree.staging.iterdir()] == [abandoned]
    result, _ = billed(engine)
    rows = conn.execute("SELECT path, staged, length(content) FROM pending_output WHERE path LIKE '%%.b2'").fetchall()
    assert result.lots == len(rows) == 1 and rows[0][2] == 0  # no content in the database
    (path, staged, _) = rows[0]
    assert [p.name for p in engine.tree.staging.iterdir()] == [staged] != [abandoned]  # the dead run's removed
    assert not (engine.tree.root / path).exists()
    lot = b2.read((engine.tree.staging / staged).read_bytes()).lots[0]
    engine.write_outputs(None)
    assert b2.read((engine.tree.root / path).read_bytes()).lots[0] == lot and len(lot.invoices) == 2
    assert list(engine.tree.staging.iterdir()) == []
    assert conn.execute("SELECT count(*) FROM pending_output").fetchone()[0] == 0

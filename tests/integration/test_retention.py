"""Retention on real PostgreSQL and a real tree: old archives, .arl and reports go, out/b2 stays;
old files' details are purged but nothing referenced is deleted; the audit trail's old prefix
is purged and `fides audit verify` still holds, from a verifiable anchor."""

from __future__ import annotations

import datetime as dt
import os

import psycopg
import pytest

from fides import audit
from fides import config as config_mod
from fides.engine import retention
from fides.engine.scheduler import Scheduler
from fides.engine.tree import TEMP_PREFIX, Tree

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 6, 1, 12, tzinfo=UTC)
OLD = NOW - dt.timedelta(days=400)
RECENT = NOW - dt.timedelta(days=10)


@pytest.fixture
def db(db_url):
    with psycopg.connect(db_url, autocommit=True) as c:  # as fides.store.db.connect gives it
        yield c


def cfg(root, **retention_days):
    return config_mod.from_mapping(root, {"retention": retention_days} if retention_days else {})


# --- audit trail -------------------------------------------------------------------------------

def events(conn, at: dt.datetime, n: int, start: int = 1) -> None:
    with conn.transaction():
        audit.append(conn, [audit.Event("creation", "test", dossier_id=i, to_state=0)
                            for i in range(start, start + n)], at)


def purge(conn, before: dt.datetime, now: dt.datetime = NOW) -> int:
    with conn.transaction():
        return retention.purge_audit(conn, before, "retention", now)


def count(conn, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_audit_purge_keeps_the_trail_verifiable(db):
    events(db, OLD, 5)
    events(db, RECENT, 3, start=6)
    assert purge(db, NOW - dt.timedelta(days=183)) == 5
    assert db.execute("SELECT min(id), max(id) FROM audit_event").fetchone() == (6, 9)
    anchor = db.execute("SELECT purged_to_id, purged_rows FROM audit_anchor").fetchone()
    assert anchor == (5, 5)
    last = db.execute("SELECT event, detail FROM audit_event WHERE id = 9").fetchone()
    assert last[0] == "purge_journal" and last[1].startswith("5;")
    assert audit.verify(db) == []
    events(db, NOW, 2, start=20)  # the chain goes on after the purge
    assert audit.verify(db) == []
    assert purge(db, NOW - dt.timedelta(days=183)) == 0  # nothing older left
    later = NOW + dt.timedelta(days=200)
    assert purge(db, later - dt.timedelta(days=183), later) == 6  # rows 6..11, the first purge event too
    assert db.execute("SELECT purged_to_id, purged_rows FROM audit_anchor").fetchone() == (11, 11)
    assert audit.verify(db) == []
    assert count(db, "audit_event") == 1


def test_audit_purge_of_everything_keeps_its_own_event(db):
    events(db, OLD, 4)
    assert purge(db, NOW) == 4
    assert count(db, "audit_event") == 1 and audit.verify(db) == []


def test_tampering_after_a_purge_is_still_detected(db):
    events(db, OLD, 5)
    events(db, RECENT, 3, start=6)
    purge(db, NOW - dt.timedelta(days=183))
    db.execute("UPDATE audit_event SET to_state = 4 WHERE id = 7")
    assert audit.verify(db) == ["ligne 7: contenu modifié (creation)"]
    db.execute("UPDATE audit_event SET to_state = 0 WHERE id = 7")
    db.execute("DELETE FROM audit_event WHERE id = 6")  # the first row after the anchor
    assert any(p.startswith("ligne 7: attendu n° 6") for p in audit.verify(db))


def test_a_moved_anchor_is_detected(db):
    events(db, OLD, 5)
    events(db, RECENT, 3, start=6)
    purge(db, NOW - dt.timedelta(days=183))
    # A forger deletes two more rows and moves the anchor onto the last one deleted.
    digest = db.execute("SELECT hash FROM audit_event WHERE id = 7").fetchone()[0]
    db.execute("DELETE FROM audit_event WHERE id <= 7")
    db.execute("UPDATE audit_anchor SET purged_to_id = 7, purged_to_hash = %s", (digest,))
    problems = audit.verify(db)
    assert problems == ["début de journal: purge jusqu'au n° 7 non attestée par un événement purge_journal "
                        "(ancre modifiée ?)"]


def test_purge_refuses_to_erase_an_alteration(db, tmp_path):
    events(db, OLD, 5)
    events(db, RECENT, 2, start=6)
    db.execute("UPDATE audit_event SET detail = 'maquillé' WHERE id = 2")
    with pytest.raises(retention.AuditPurgeRefused, match="avant le n° 5"):
        purge(db, NOW - dt.timedelta(days=183))
    assert count(db, "audit_event") == 7 and count(db, "audit_anchor") == 0
    tree = Tree(tmp_path)
    tree.create()
    with db.transaction():
        report = retention.run(db, cfg(tmp_path, audit_days=183), tree, "r", NOW)
    assert "purge du journal d'audit refusée (journal altéré)" in report.summary()
    assert audit.verify(db) == ["ligne 2: contenu modifié (creation)"]


# --- database rows -------------------------------------------------------------------------------

def add_file(conn, name: str, *, applied=False, status="KO", at=OLD, finished=True, duplicate_of=None) -> int:
    file_id = conn.execute(
        "INSERT INTO flux_file (name, flux, sha256, size, status, applied, duplicate_of, arl_text, destination, "
        "finished, processed_at) VALUES (%s, 'VIDHOSP', md5(%s), 1, %s, %s, %s, 'ARL;texte', 'archive/2025/01', "
        "%s, %s) RETURNING id", (name, name, status, applied, duplicate_of, finished, at)).fetchone()[0]
    conn.execute("INSERT INTO file_error (file_id, line_no, position, code, severity, message) "
                 "VALUES (%s, 1, 1, 'FMT001', 'E', 'détail')", (file_id,))
    return file_id


def add_line(conn, file_id: int, nda: str, current: bool) -> int:
    dossier_id = conn.execute("INSERT INTO dossier (finess, nda) VALUES ('990000010', %s) "
                              "ON CONFLICT (finess, nda) DO UPDATE SET nda = EXCLUDED.nda RETURNING id",
                              (nda,)).fetchone()[0]
    conn.execute("INSERT INTO dossier_line (dossier_id, kind, subtype, layout, seq, line, file_id, line_no, current) "
                 "VALUES (%s, 'VIDHOSP', 'complet', 'vidhosp_V015', 1, 'ligne', %s, 1, %s)", (dossier_id, file_id, current))
    return dossier_id


def test_old_files_details_are_purged_but_nothing_referenced_is_deleted(db, tmp_path):
    f = {}
    f["ko_old"] = add_file(db, "ko_old")
    f["ko_recent"] = add_file(db, "ko_recent", at=RECENT)
    f["unfinished"] = add_file(db, "unfinished", finished=False)
    f["applied_superseded"] = add_file(db, "applied_superseded", applied=True, status="OK")
    add_line(db, f["applied_superseded"], "2024000001", current=False)
    f["applied_current"] = add_file(db, "applied_current", applied=True, status="OK")
    dossier = add_line(db, f["applied_current"], "2024000002", current=True)
    # A billed dossier: its titre, lot and invoice are kept, and the file of its current line with them.
    titre = db.execute("INSERT INTO titre (exercice, budget, numero, complement, dossier_id) "
                       "VALUES (2025, 'H0', 1, '2025H0', %s) RETURNING id", (dossier,)).fetchone()[0]
    lot = db.execute("INSERT INTO lot (finess_geo, numero, organisme, exercice, b2_file, invoices, total, total_amo) "
                     "VALUES ('990000010', 1, '01751', 2025, 'B2_x.b2', 1, 10, 10) RETURNING id").fetchone()[0]
    db.execute("INSERT INTO invoice (dossier_id, titre_id, lot_id, total, total_amo, record_count) "
               "VALUES (%s, %s, %s, 10, 10, 3)", (dossier, titre, lot))
    f["superseded_unapplied"] = add_file(db, "superseded_unapplied")  # e.g. PARTIEL lines later replaced
    add_line(db, f["superseded_unapplied"], "2024000003", current=False)
    f["returned"] = add_file(db, "returned")
    db.execute("INSERT INTO insurance_return (dossier_id, kind, file_id, line_no) VALUES (%s, 'REJET', %s, 1)",
               (dossier, f["returned"]))
    f["um"] = add_file(db, "um")
    db.execute("INSERT INTO unite_medicale (finess, um, finess_geo, type_autorisation, date_effet, "
               "mode_hospitalisation, file_id) VALUES ('990000010', '1000', '990000028', '01', '2024-01-01', 'C', %s)",
               (f["um"],))
    f["pending"] = add_file(db, "pending")
    db.execute("INSERT INTO pending_output (path, content, file_id) VALUES ('out/arl/x.arl', 'x', %s)", (f["pending"],))
    f["original"] = add_file(db, "original")
    f["duplicate"] = add_file(db, "duplicate", status="DOUBLON", duplicate_of=f["original"])
    # A table added later by anyone: found through the catalogue.
    db.execute("CREATE TABLE autre_reference (id serial PRIMARY KEY, file_id bigint REFERENCES flux_file (id))")
    f["other_ref"] = add_file(db, "other_ref")
    db.execute("INSERT INTO autre_reference (file_id) VALUES (%s)", (f["other_ref"],))

    with db.transaction():
        counts = retention.purge_database(db, cfg(tmp_path), NOW)
    kept = {name for name, in db.execute("SELECT name FROM flux_file")}
    assert kept == set(f) - {"ko_old", "duplicate"}
    assert counts["fichiers"] == 2
    errors = {name for name, in db.execute("SELECT f.name FROM file_error e JOIN flux_file f ON f.id = e.file_id")}
    assert errors == {"ko_recent", "unfinished", "applied_current"}
    texts = dict(db.execute("SELECT name, arl_text FROM flux_file"))
    assert texts["applied_superseded"] == "" and texts["applied_current"] == "ARL;texte"
    assert texts["ko_recent"] == "ARL;texte" and texts["unfinished"] == "ARL;texte"
    assert count(db, "dossier_line") == 3 and count(db, "invoice") == 1 and count(db, "titre") == 1
    # A later purge deletes the original once its duplicate has gone.
    with db.transaction():
        assert retention.purge_database(db, cfg(tmp_path), NOW)["fichiers"] == 1
    assert "original" not in {name for name, in db.execute("SELECT name FROM flux_file")}


def test_referenced_rows_cannot_be_deleted_at_all(db):
    """The database itself refuses, whatever a purge would try."""
    file_id = add_file(db, "um")
    db.execute("INSERT INTO unite_medicale (finess, um, finess_geo, type_autorisation, date_effet, "
               "mode_hospitalisation, file_id) VALUES ('990000010', '1000', '990000028', '01', '2024-01-01', 'C', %s)",
               (file_id,))
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        db.execute("DELETE FROM flux_file WHERE id = %s", (file_id,))


def test_database_retention_zero_keeps_everything(db, tmp_path):
    add_file(db, "ko_old")
    with db.transaction():
        assert retention.purge_database(db, cfg(tmp_path, database_days=0), NOW) == {}
    assert count(db, "flux_file") == 1 and count(db, "file_error") == 1


def test_old_job_runs_go_but_each_jobs_latest_stays(db, tmp_path):
    for period, at in (("2025-01-01T10:00", OLD), ("2025-01-01T11:00", OLD), ("2026-05-30T10:00", RECENT)):
        db.execute("INSERT INTO job_run (job, period, claimed_by, started_at, outcome) VALUES ('validation', %s, 'x', %s, 'OK')",
                   (period, at))
    db.execute("INSERT INTO job_run (job, period, claimed_by, started_at, outcome) VALUES ('extract_epmsi', '2025-01', 'x', %s, 'OK')",
               (OLD,))
    with db.transaction():
        assert retention.purge_database(db, cfg(tmp_path), NOW)["executions"] == 2
    assert sorted(db.execute("SELECT job, period FROM job_run").fetchall()) == [
        ("extract_epmsi", "2025-01"), ("validation", "2026-05-30T10:00")]


# --- files ------------------------------------------------------------------------------------------

def touch(path, content: bytes = b"x", age_days: float = 0, now: dt.datetime | None = None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    stamp = (now or dt.datetime.now(UTC)).timestamp() - age_days * 86400
    os.utime(path, (stamp, stamp), follow_symlinks=False)
    return path


def test_old_files_are_deleted_and_b2_stays(tmp_path):
    root = tmp_path / "root"
    tree = Tree(root)
    tree.create()
    now = dt.datetime.now(UTC)
    local = now.astimezone()
    old_month = tree.archive(local.replace(day=1) - dt.timedelta(days=800))
    edge_month = tree.archive(local.replace(day=1) - dt.timedelta(days=370))
    current = tree.archive(local)
    touch(old_month / "A.txt")
    touch(edge_month / "B.txt.fenc")
    touch(current / "C.txt.fenc", age_days=500)  # the month decides, not the file's date
    touch(root / "archive" / "notes" / "lisez-moi.txt", age_days=900)  # not ours: left alone
    touch(tree.arl / "vieux.arl", age_days=400)
    touch(tree.arl / "recent.arl", age_days=10)
    touch(tree.reports / "FACTURATION_990000010_20240101000000.arl", age_days=400)
    touch(tree.reports / "FACT_SYNT.TXT", age_days=1)
    touch(tree.reports / f"{TEMP_PREFIX}123-x.in.zip", age_days=2)
    touch(tree.b2 / "B2_990000010_20240101000000_0001.b2", age_days=900)
    touch(tree.b2 / f"{TEMP_PREFIX}123-B2_y.b2", age_days=2)
    touch(tree.b2 / f"{TEMP_PREFIX}456-B2_z.b2", age_days=0)  # maybe being written right now
    outside = touch(tmp_path / "cible.txt", age_days=900)
    (tree.rejected / "lien").symlink_to(outside)
    os.utime(tree.rejected / "lien", (now.timestamp() - 400 * 86400,) * 2, follow_symlinks=False)
    touch(tree.rejected / "recent.txt", age_days=3)

    counts = retention.purge_files(tree, cfg(root), now)
    assert counts == {"archives": 2, "rejetes": 1, "arl": 1, "comptes_rendus": 1, "temporaires": 2}
    assert not old_month.exists() and not old_month.parent.exists()
    assert not edge_month.exists()
    assert (current / "C.txt.fenc").exists() and (root / "archive" / "notes" / "lisez-moi.txt").exists()
    assert sorted(p.name for p in tree.arl.iterdir()) == ["recent.arl"]
    assert sorted(p.name for p in tree.reports.iterdir()) == ["FACT_SYNT.TXT"]
    assert sorted(p.name for p in tree.b2.iterdir()) == [f"{TEMP_PREFIX}456-B2_z.b2",
                                                          "B2_990000010_20240101000000_0001.b2"]
    assert sorted(p.name for p in tree.rejected.iterdir()) == ["recent.txt"]
    assert outside.exists()  # a link is removed, never followed


def test_zero_days_keeps_files(tmp_path):
    root = tmp_path / "root"
    tree = Tree(root)
    tree.create()
    touch(tree.arl / "vieux.arl", age_days=4000)
    touch(tree.archive(dt.datetime(2001, 1, 1)) / "A.txt")
    counts = retention.purge_files(tree, cfg(root, archive_days=0, arl_days=0), dt.datetime.now(UTC))
    assert counts.get("archives") is None and counts.get("arl") is None
    assert (tree.arl / "vieux.arl").exists()


# --- the scheduled job ------------------------------------------------------------------------------

def test_scheduled_retention_purges_and_audits(db, db_url, tmp_path):
    root = tmp_path / "root"
    config = cfg(root)
    Tree(root).create()
    events(db, OLD - dt.timedelta(days=400), 3)
    add_file(db, "ko_old")
    touch(root / "out" / "arl" / "vieux.arl", age_days=400, now=NOW)
    s = Scheduler(config, {}, lambda: psycopg.connect(db_url, autocommit=True), actor="planif")
    ((period, outcome),) = s.run_due("retention", NOW)
    assert period.endswith("T03:30")
    assert outcome.startswith("OK ") and "arl=1" in outcome and "fichiers=1" in outcome
    assert "journal_audit=3" in outcome
    last = db.execute("SELECT event, detail FROM audit_event ORDER BY id DESC LIMIT 1").fetchone()
    assert last[0] == "retention" and "fichiers=1" in last[1]
    assert audit.verify(db) == []
    assert s.run_due("retention", NOW + dt.timedelta(hours=1)) == []
    s.conn.close()

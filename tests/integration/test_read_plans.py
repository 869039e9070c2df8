"""The read side's plans on a sizeable, analyzed database: each statement reads what it shows (and
the few rows it needs to find it), not a table per row. Counted from EXPLAIN ANALYZE: the rows each
table access produced or filtered out, times its loops; no timing. On the statements before their
fix these counts were a table's size times the rows of another (a scan of the returns per sending,
of the invoices per payment, of the lines' file index per dossier)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import psycopg
import pytest

from fides import config as config_mod
from fides.engine import retention
from fides.store import schema
from fides.store.db import helper_dsn
from fides.web import queries as q

FINESS = "990000010"
N = 20_000  # dossiers, each with a titre and a sending; lots of 100
PER_PAGE = 50

_FILL = f"""
INSERT INTO flux_file (name, flux, sha256, size, status, applied, arl_text, destination, finished, processed_at)
SELECT 'F' || g, 'VIDHOSP', 'h' || g, 1, CASE WHEN g <= 100 THEN 'KO' ELSE 'OK' END, g > 100, 'arl', '', true,
       timestamptz '2024-01-01' FROM generate_series(1, 300) g;
INSERT INTO dossier (finess, nda, state, creation_file_id)
SELECT '{FINESS}', lpad(g::text, 9, '0'), 2, 101 + g % 200 FROM generate_series(1, {N}) g;
INSERT INTO dossier_line (dossier_id, kind, subtype, layout, seq, line, file_id, line_no)
SELECT id, k, '', 'rss_grp_122', 1, 'x', creation_file_id + s, id * 4 + s * 2 + (k = 'RSS')::int
FROM dossier, unnest(ARRAY['VIDHOSP', 'RSS']) k, generate_series(0, 1) s;
INSERT INTO titre (exercice, budget, numero, complement, dossier_id) SELECT 2025, 'H0', id, '2025H0', id FROM dossier;
INSERT INTO lot (finess_geo, numero, organisme, exercice, b2_file, invoices, total, total_amo)
SELECT '990000028', g, '017510001', 2025, 'B2_' || g, 100, 0, 0 FROM generate_series(1, {N // 100}) g;
INSERT INTO invoice (dossier_id, titre_id, lot_id, total, total_amo, record_count, created_at)
SELECT t.dossier_id, t.id, (SELECT min(id) FROM lot) + (t.id - 1) / 100, 100, 80, 5,
       timestamptz '2025-01-01' + (t.id / 100) * interval '1 day'
FROM titre t;
INSERT INTO insurance_return (dossier_id, titre_id, invoice_id, kind, amount, file_id, line_no, at)
SELECT dossier_id, titre_id, id, CASE WHEN dossier_id % 10 = 0 THEN 'REJET' ELSE 'PAIEMENT' END, 80, 101 + dossier_id % 200, 1,
       created_at + interval '20 days'
FROM invoice WHERE dossier_id % 10 IN (0, 1, 2, 3, 4, 5, 6, 7);
INSERT INTO anomaly (dossier_id, code, severity, message, origin, active)
SELECT id, 'VAL010', 'E', 'm', 'validation', id % 20 = 0 FROM dossier WHERE id % 3 = 0 OR id % 20 = 0;
INSERT INTO file_error (file_id, line_no, position, code, severity, message)
SELECT f, n, 1, 'FMT001', 'E', 'm' FROM generate_series(1, 100) f, generate_series(1, 200) n;
ANALYZE;
"""


@pytest.fixture(scope="module")
def db(pg_server_url, template_db):
    name = f"fides_plans_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    with psycopg.connect(schema.database_url(pg_server_url, name), autocommit=True) as conn:
        conn.execute(_FILL)
        yield conn
    with psycopg.connect(pg_server_url, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _nodes(node: dict):
    yield node
    for child in node.get("Plans", ()):
        yield from _nodes(child)


def plan(conn, statement: str, params) -> list[dict]:
    """Every node of the executed plan (rolled back: retention's statements write)."""
    with conn.transaction(force_rollback=True):
        doc = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params).fetchone()[0]
    return list(_nodes(doc[0]["Plan"]))


def rows_read(nodes: list[dict], table: str) -> int:
    """Rows a table's accesses produced or filtered out, all loops together."""
    return sum((n["Actual Rows"] + n.get("Rows Removed by Filter", 0)) * n["Actual Loops"]
               for n in nodes if n.get("Relation Name") == table)


def count(conn, sql: str) -> int:
    return conn.execute(sql).fetchone()[0]


def test_reject_rate_reads_each_return_once(db):
    nodes = plan(db, q.REJECT_RATE, {"finess": FINESS, "months": 12})
    assert rows_read(nodes, "insurance_return") <= count(db, "SELECT count(*) FROM insurance_return")
    # every sending once to count them, at most once more to join those a reject answers
    assert rows_read(nodes, "invoice") <= 2 * N
    assert not any(n.get("Index Name") == "ix_invoice_titre_id_created_at_id" for n in nodes)


def test_lots_probe_the_returns_of_their_sendings(db):
    nodes = plan(db, q.LOTS, {"finess_geo": None, "arl": None, "limit": PER_PAGE, "offset": 0})
    sendings = PER_PAGE * 100
    assert rows_read(nodes, "insurance_return") <= 2 * sendings
    assert rows_read(nodes, "invoice") <= 4 * sendings
    lot = count(db, "SELECT max(id) FROM lot")
    nodes = plan(db, q.LOT_INVOICES, {"id": lot})
    assert rows_read(nodes, "insurance_return") <= 100
    assert rows_read(nodes, "invoice") <= 3 * 100


@pytest.mark.parametrize("gap", [False, True])
def test_payments_look_up_the_sending_of_the_page_only(db, gap):
    nodes = plan(db, q.PAYMENTS, {"finess": FINESS, "month": None, "gap": gap, "limit": PER_PAGE, "offset": 0})
    payments = count(db, "SELECT count(*) FROM insurance_return WHERE kind = 'PAIEMENT'")
    # the gap filter needs every payment's sending, by its key
    assert rows_read(nodes, "invoice") <= (payments + PER_PAGE if gap else PER_PAGE)


@pytest.mark.parametrize("statement", [q.PAYMENTS_BY_MONTH, q.REJECTS], ids=["payments_by_month", "rejects"])
def test_each_return_joins_the_sending_it_answers(db, statement):
    """The sending is recorded on the return (migration 0010): joined by its key, each invoice
    read once at most, where looking it up through the titre probed an index per return."""
    nodes = plan(db, statement, {"finess": FINESS, "organisme": None, "pending": False})
    assert rows_read(nodes, "invoice") <= count(db, "SELECT count(*) FROM invoice")
    assert not any(n.get("Index Name") == "ix_invoice_titre_id_created_at_id" for n in nodes)


def test_dossier_history_and_anomalies_are_lookups(db):
    dossier_id = 20  # one anomaly (20 % 20 == 0)
    nodes = plan(db, q.DOSSIER_HISTORY, {"id": dossier_id})
    assert rows_read(nodes, "dossier_line") == 0
    nodes = plan(db, q.DOSSIER_ANOMALIES, {"id": dossier_id})
    assert rows_read(nodes, "anomaly") == 1


def test_file_errors_are_read_in_order_a_page_at_a_time(db):
    ids = list(range(1, PER_PAGE + 1))
    nodes = plan(db, q.FIRST_ERRORS, {"ids": ids, "per_file": 20})
    assert rows_read(nodes, "file_error") == 20 * PER_PAGE
    nodes = plan(db, q.FILE_ERRORS, {"id": 1, "limit": PER_PAGE, "offset": 0})
    assert not [n for n in nodes if n["Node Type"] in ("Sort", "Seq Scan")]


PURGED_ON = dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc)


def test_retention_checks_a_file_s_returns_through_an_index(db, tmp_path):
    """Deleting a never-applied file checks every foreign key to it: without an index on the
    returns' file_id, one scan of all the returns per file deleted (45 s for 3 000 files); the
    DELETE itself may read them once."""
    config = config_mod.from_mapping(tmp_path, {"retention": {"database_days": 30}})
    # a session of its own: a session's table counters may still hold its earlier transactions'
    with psycopg.connect(helper_dsn(db)) as conn:
        counts = retention.purge_database(conn, config, PURGED_ON)
        scans = count(conn, "SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'insurance_return'")
        conn.rollback()
    assert counts["fichiers"] == 100
    assert scans <= 1


def test_retention_leaves_the_lines_of_a_purged_file_alone(db, tmp_path):
    """A file none of whose lines is current any more is purged once; the next runs do not walk
    its lines again to find that out."""
    config = config_mod.from_mapping(tmp_path, {"retention": {"database_days": 30}})
    with psycopg.connect(helper_dsn(db)) as conn:
        replaced = conn.execute("UPDATE dossier_line SET current = false WHERE file_id = 150").rowcount
        assert retention.purge_database(conn, config, PURGED_ON)["arl_en_base"] == 101  # 100 KO files and 150
        nodes = plan(conn, retention._OLD_FILES, {"before": PURGED_ON - dt.timedelta(days=30)})
        conn.rollback()
    assert replaced > 100
    assert sum(n.get("Rows Removed by Filter", 0) * n["Actual Loops"]
               for n in nodes if n.get("Relation Name") == "dossier_line") == 0

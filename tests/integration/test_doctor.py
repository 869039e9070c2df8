"""`fides doctor` on real directories and a real database: what it finds and how it says it."""

import datetime as dt

import psycopg

from fides import doctor
from fides.engine.tree import Tree


def _levels(checks):
    return {(c.subject, c.level) for c in checks}


def test_healthy_installation(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv("FIDES_DATABASE_URL", db_url)
    Tree(tmp_path).create()
    (tmp_path / "fides.toml").write_text('[establishment]\nfiness = "990000010"\n')
    (tmp_path / "fides.toml").chmod(0o600)
    checks = doctor.diagnose(tmp_path, today=dt.date(2025, 6, 1))
    assert all(c.level == doctor.OK for c in checks), checks
    assert ("schéma", doctor.OK) in _levels(checks)


def test_missing_tariff_campaign_is_flagged(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv("FIDES_DATABASE_URL", db_url)
    Tree(tmp_path).create()
    checks = doctor.diagnose(tmp_path, today=dt.date(2026, 11, 23))
    ref = [c for c in checks if c.subject == "référentiels"][0]
    assert ref.level == doctor.WARN and "2026-03-01" in ref.detail


def test_bad_configuration_stops_the_diagnosis(tmp_path):
    (tmp_path / "fides.toml").write_text('[establishment]\nfinnes = "1"\n')
    checks = doctor.diagnose(tmp_path)
    assert [(c.level, c.detail) for c in checks if c.level == doctor.FAIL] == [
        (doctor.FAIL, "establishment.finnes: clé inconnue")]


def test_unmigrated_database_and_missing_directories(tmp_path, pg_server_url, monkeypatch):
    with psycopg.connect(pg_server_url, autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS doctor_empty")
        c.execute("CREATE DATABASE doctor_empty")
    base, _, query = pg_server_url.partition("?")
    monkeypatch.setenv("FIDES_DATABASE_URL", base.rsplit("/", 1)[0] + "/doctor_empty?" + query)
    checks = doctor.diagnose(tmp_path)
    assert ("schéma", doctor.FAIL) in _levels(checks)
    assert ("répertoires", doctor.FAIL) in _levels(checks)


def test_rows_without_their_dossier_titre_or_lot_are_flagged(tmp_path, db_url, monkeypatch):
    """These references have no foreign key (migration 0008): the doctor counts the orphans."""
    monkeypatch.setenv("FIDES_DATABASE_URL", db_url)
    Tree(tmp_path).create()
    checks = doctor.diagnose(tmp_path, today=dt.date(2025, 6, 1))
    assert ("intégrité", doctor.OK) in _levels(checks)
    with psycopg.connect(db_url) as conn:
        dossier = conn.execute("INSERT INTO dossier (finess, nda) VALUES ('990000010', 'D1') RETURNING id").fetchone()[0]
        titre = conn.execute("INSERT INTO titre (exercice, budget, numero, complement, dossier_id) "
                             "VALUES (2025, '00', 1, 'X', %s) RETURNING id", (dossier,)).fetchone()[0]
        conn.execute("INSERT INTO anomaly (dossier_id, code, severity, message, origin) "
                     "VALUES (%s, 'VAL001', 'E', 'm', 'validation')", (dossier + 1000,))
        conn.execute("INSERT INTO invoice (dossier_id, titre_id, lot_id, total, total_amo, record_count) "
                     "VALUES (%s, %s, 12345, 1, 1, 7)", (dossier, titre))
        file_id = conn.execute("INSERT INTO flux_file (name, flux, sha256, size, status, arl_text, destination) "
                               "VALUES ('n', 'NOEMIE', 'h', 0, 'OK', '', '') RETURNING id").fetchone()[0]
        conn.execute("INSERT INTO insurance_return (dossier_id, titre_id, invoice_id, kind, file_id, line_no) "
                     "VALUES (%s, %s, 54321, 'REJET', %s, 1)", (dossier, titre, file_id))  # no such sending
    checks = doctor.diagnose(tmp_path, today=dt.date(2025, 6, 1))
    found = [c for c in checks if c.subject == "intégrité"]
    assert [(c.level, c.detail.split(" ")[0]) for c in found] == [(doctor.FAIL, "3")]


def test_a_database_not_in_utf8_is_refused_with_its_encoding(tmp_path, pg_server_url, monkeypatch):
    """A LATIN1 database cannot hold the shipped referentials (’): doctor says so plainly."""
    import uuid

    from fides.store import schema

    name = f"fides_latin1_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server_url, autocommit=True) as c:
        c.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'")
    try:
        monkeypatch.setenv("FIDES_DATABASE_URL", schema.database_url(pg_server_url, name))
        Tree(tmp_path).create()
        checks = doctor.diagnose(tmp_path)
        failed = [(c.subject, c.detail) for c in checks if c.level == doctor.FAIL]
        assert failed == [("base de données", "encodage LATIN1 : fides demande une base UTF8 "
                                              "(CREATE DATABASE … ENCODING 'UTF8')")]
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

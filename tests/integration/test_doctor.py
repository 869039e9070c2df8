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

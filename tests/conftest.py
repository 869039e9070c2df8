"""Shared fixtures. Databases are real PostgreSQL: the embedded server (pgserver) started once per
session, or the server named by FIDES_TEST_DATABASE_URL. Each test gets a fresh database cloned
from a migrated template that already holds the shipped referentials."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory) -> str:
    url = os.environ.get("FIDES_TEST_DATABASE_URL")
    if url:
        return url
    from fides.store.db import embedded_url

    return embedded_url(tmp_path_factory.mktemp("pg") / "pgdata")


@pytest.fixture(scope="session")
def template_db(pg_server_url) -> str:
    from fides.store import schema

    name = f"fides_tpl_{uuid.uuid4().hex[:8]}"
    schema.create_database(pg_server_url, name)
    yield name
    with psycopg.connect(pg_server_url, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fresh_database(server_url: str, prefix: str, template: str | None):
    """A new database (a copy of `template`, or empty) for one test, dropped after it."""
    from fides.store.schema import database_url

    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    yield database_url(server_url, name)
    with psycopg.connect(server_url, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db_url(pg_server_url, template_db) -> str:
    yield from _fresh_database(pg_server_url, "fides_t_", template_db)


@pytest.fixture
def other_db_url(pg_server_url, template_db) -> str:
    """A second fresh database, for a test that compares two runs."""
    yield from _fresh_database(pg_server_url, "fides_t_", template_db)


@pytest.fixture
def empty_url(pg_server_url):
    """A database without any table, for migration tests that start from an older revision."""
    yield from _fresh_database(pg_server_url, "fides_m_", None)


@pytest.fixture
def conn(db_url):
    with psycopg.connect(db_url) as c:
        yield c

"""Schema migrations (alembic), run by `fides db upgrade` and automatically at start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, text

from fides.store.db import sqlalchemy_url

MIGRATIONS = Path(__file__).with_name("migrations")
# Serialises concurrent upgrades (several fides processes starting together).
_UPGRADE_LOCK = 0x66696465  # "fide"


def _alembic(connection) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _UPGRADE_LOCK})
            command.upgrade(_alembic(connection), revision)
    finally:
        engine.dispose()


def database_url(server_url: str, name: str) -> str:
    """The URL of database `name` on the server `server_url` points at."""
    base, _, query = server_url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


def create_database(server_url: str, name: str) -> str:
    """A fresh database `name` (dropped first if it exists), migrated, with the shipped
    referentials: what the benchmark, the soak and the fault tests start from."""
    import psycopg

    from fides.store import referentials

    with psycopg.connect(server_url, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    url = database_url(server_url, name)
    upgrade(url)
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        referentials.load(conn)
    return url


def revision(url: str, message: str) -> None:
    """Developer helper: autogenerate a migration from the models (then read and edit it)."""
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as connection:
            command.revision(_alembic(connection), message=message, autogenerate=True)
    finally:
        engine.dispose()


def differences(url: str) -> list:
    """What differs between the database and the declared models (empty when in step)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from fides.store.models import metadata

    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as connection:
            ctx = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(ctx, metadata) + _collation_differences(connection, metadata)
    finally:
        engine.dispose()


# Alembic does not compare collations; identifiers must stay in "C" (models.Code).
_COLLATIONS = """
SELECT t.relname, a.attname, CASE WHEN a.attcollation = 100 THEN NULL ELSE c.collname END
FROM pg_attribute a
JOIN pg_class t ON t.oid = a.attrelid AND t.relkind = 'r'
JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = current_schema()
JOIN pg_collation c ON c.oid = a.attcollation
WHERE a.attnum > 0 AND NOT a.attisdropped
"""


def _collation_differences(connection, metadata) -> list:
    found = {(t, c): coll for t, c, coll in connection.execute(text(_COLLATIONS))}
    return [("modify_collation", table.name, column.name, found[table.name, column.name], declared)
            for table in metadata.sorted_tables for column in table.columns
            if (table.name, column.name) in found
            and found[table.name, column.name] != (declared := getattr(column.type, "collation", None))]

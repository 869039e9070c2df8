"""Fixtures shared by the integration tests."""

from __future__ import annotations

import psycopg
import pytest

from fides.engine.hooks import AFTER_PASS
from fides.engine.process import Processor
from fides.store import referentials


@pytest.fixture
def engine(cfg, db_url):
    """A Processor on a fresh database with the shipped referentials, its tree created; `cfg`
    is the test module's own configuration fixture."""
    conn = psycopg.connect(db_url, autocommit=True)  # as fides.store.db.connect gives it
    processor = Processor(cfg, conn, {}, AFTER_PASS)
    processor.tree.create()
    refs = referentials.read(conn)
    processor.context.update(refs=refs, codes=referentials.CodeSets(refs, referentials.tables(conn)))
    yield processor
    conn.close()

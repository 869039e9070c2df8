"""Fixtures shared by the integration tests."""

from __future__ import annotations

import psycopg
import pytest

from fides.engine.hooks import AFTER_PASS
from fides.engine.process import Processor
from fides.store import referentials


@pytest.fixture
def engine_on():
    """Makes Processors: `engine_on(cfg, url)` is one on the database `url` with the shipped
    referentials, its tree created (closed after the test)."""
    made = []

    def make(cfg, url: str) -> Processor:
        conn = psycopg.connect(url, autocommit=True)  # as fides.store.db.connect gives it
        made.append(conn)
        processor = Processor(cfg, conn, {}, AFTER_PASS)
        processor.tree.create()
        refs = referentials.read(conn)
        processor.context.update(refs=refs, codes=referentials.CodeSets(refs, referentials.tables(conn)))
        return processor

    yield make
    for conn in made:
        conn.close()


@pytest.fixture
def engine(engine_on, cfg, db_url):
    """A Processor on a fresh database (see `engine_on`); `cfg` is the test module's own
    configuration fixture."""
    return engine_on(cfg, db_url)

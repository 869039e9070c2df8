"""An installation opened for work: configuration, tree, database (migrated), referentials."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import psycopg

from fides import config as config_mod
from fides.engine.process import Processor
from fides.engine.tree import Tree
from fides.store import db, referentials, schema

log = logging.getLogger(__name__)


@dataclass
class Installation:
    config: config_mod.Config
    url: str
    conn: psycopg.Connection
    context: dict = field(default_factory=dict)

    @property
    def tree(self) -> Tree:
        return Tree(self.config.root, self.config["security.file_mode"], self.config["security.dir_mode"])

    def processor(self) -> Processor:
        from fides.engine.hooks import AFTER_PASS

        return Processor(self.config, self.conn, self.context, AFTER_PASS)


def _context(conn: psycopg.Connection) -> dict:
    if not referentials.tables(conn):
        with conn.transaction():
            loaded = referentials.load(conn)
        log.info("referentials loaded at first start: %d tables", len(loaded))
    refs = referentials.read(conn)
    return {"refs": refs, "codes": referentials.CodeSets(refs, referentials.tables(conn))}


@contextlib.contextmanager
def open_installation(root: Path, *, wait_seconds: float = 0.0) -> Iterator[Installation]:
    cfg = config_mod.load(root)
    tree = Tree(cfg.root, cfg["security.file_mode"], cfg["security.dir_mode"])
    tree.create()
    url = db.resolve_url(cfg["database.url"], cfg.root)
    schema.upgrade(url)
    conn = db.connect(url, wait_seconds=wait_seconds)
    try:
        yield Installation(cfg, url, conn, _context(conn))
    finally:
        conn.close()

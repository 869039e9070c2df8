"""Timing: the STATEREQUEST `*` answer for 1 000 000 dossiers. Not a test: prints the figure.

    .venv/bin/python tools/bench_state_request.py [PGDATA_DIR]
"""

import sys
import time
from pathlib import Path

import psycopg

from fides.returns.state_request import lines
from fides.store import db, schema

url = db.embedded_url(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/bench-pgdata"))
with psycopg.connect(url, autocommit=True) as c:
    c.execute("DROP DATABASE IF EXISTS bench_state WITH (FORCE)")
    c.execute("CREATE DATABASE bench_state")
url = url.replace("/postgres?", "/bench_state?")
schema.upgrade(url)
with psycopg.connect(url) as c:
    c.execute("INSERT INTO dossier (finess, nda, state) SELECT '990000010', 'N' || lpad(g::text, 9, '0'), g % 5 "
              "FROM generate_series(1, 1000000) g")
    c.execute("ANALYZE")
with psycopg.connect(url, autocommit=True) as c:
    start = time.perf_counter()
    size = sum(len(line) + 1 for line in lines(c, "990000010", None))
    print(f"STATEREQUEST * for 1 000 000 dossiers: {time.perf_counter() - start:.2f} s, {size / 1e6:.0f} MB")

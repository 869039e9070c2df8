"""Timing: a synthetic 100 000-line NOEMIE 578 applied through the engine (fides process pass),
and a 100 000-dossier EXTRACTEPMSI month. Not a test: prints figures.

    .venv/bin/python tools/bench_returns.py [/tmp/bench-root]
"""

import datetime as dt
import os
import shutil
import sys
import time
from pathlib import Path

import psycopg

from fides import config as config_mod
from fides.engine.process import Processor
from fides.engine.tree import Tree
from fides.returns import extract_epmsi
from fides.store import db, schema

root = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/bench-root")
shutil.rmtree(root, ignore_errors=True)
root.mkdir(parents=True)
(root / "fides.toml").write_text('[establishment]\nfiness = "990000010"\n[inbox]\nstable_seconds = 0\n')
url = db.embedded_url(Path("/tmp/bench-pgdata"))
name = "bench_returns"
with psycopg.connect(url, autocommit=True) as c:
    c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    c.execute(f'CREATE DATABASE "{name}"')
base, _, query = url.partition("?")
url = base.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")
schema.upgrade(url)
cfg = config_mod.load(root)
tree = Tree(root)
tree.create()
conn = psycopg.connect(url)

# --- 578: ~11 100 invoices of 9 entities (the sample's shape) = 100 000 lines --------------------
ENTITIES_PER_INVOICE = 9
invoices = (100_000 - 5) // ENTITIES_PER_INVOICE
at = dt.datetime(2025, 3, 10, 10, 15, tzinfo=dt.timezone.utc)
lot_id = conn.execute("INSERT INTO lot (finess_geo, numero, organisme, exercice, created_at, b2_file, invoices, total,"
                      " total_amo) VALUES ('990000028', 1, '017810000', 2025, %s, 'B2', 1, 0, 0) RETURNING id",
                      (at,)).fetchone()[0]
with conn.cursor().copy("COPY dossier (finess, nda, state, to_validate) FROM STDIN") as cp:
    for i in range(invoices):
        cp.write_row(("990000010", f"25{i:08d}", 2, False))
conn.execute("INSERT INTO titre (exercice, budget, numero, complement, dossier_id, created_at) "
             "SELECT 2025, '00', 100000 + (substr(nda, 3))::int, '202500', id, %s FROM dossier", (at,))
conn.execute("INSERT INTO invoice (dossier_id, titre_id, lot_id, total, total_amo, record_count, created_at) "
             "SELECT dossier_id, id, %s, 4352.10, 3511.68, 9, %s FROM titre", (lot_id, at))
conn.commit()

ents = ["000OR017810000     ES990000010     250320                    578", "04002990000028", "07003250320",
        "08004250310001"]
for i in range(invoices):
    n = 100000 + i
    ents += [f"10005{n:09d}", f"10505202500{n:09d}",
             "11005185057800608491 ASSURE                                             SYNTHETIQUE",
             "120058505071ASSURE                   SYNTHETIQUE", "1500510",
             "22006GHS  25030325030700100420210080          00336168",
             "22006PH8  25030525030500100015000100          00015000",
             "2500625032000000351168", "99005000010                   00000351168"]
ents.append("99900000015")
data = "".join(e + "@\r\n" for e in ents).encode("latin-1")
(root / "in" / "RSP578_BENCH.TXT").write_bytes(data)
lines = len(ents)
t0 = time.perf_counter()
report = Processor(cfg, conn).run_pass()
elapsed = time.perf_counter() - t0
paid = conn.execute("SELECT count(*) FROM dossier WHERE state = 4").fetchone()[0]
print(f"578: {lines} lines ({len(data) / 1e6:.1f} MB), {invoices} invoices, {paid} paid, {report.processed}")
print(f"578: {elapsed:.2f} s through the engine = {lines / elapsed:,.0f} lines/s, {invoices / elapsed:,.0f} invoices/s")
conn.commit()

# --- EXTRACTEPMSI: 100 000 dossiers exiting in one month, VIDHOSP + 2 RSS + 1 FICHCOMP each ------
N = 100_000
examples = Path(__file__).resolve().parent
vh = (Path("/work/main/tests/data/examples/vidhosp_V015.txt").read_bytes().decode("latin-1").splitlines()[0])
rss = (Path("/work/main/tests/data/examples/rss_grp_122.txt").read_bytes().decode("latin-1").splitlines()[0])
med = (Path("/work/main/tests/data/examples/fichcomp_med.txt").read_bytes().decode("latin-1").splitlines()[0])
file_id = conn.execute("INSERT INTO flux_file (name, flux, sha256, size, status, arl_text, destination) "
                       "VALUES ('seed', 'VIDHOSP', 's', 0, 'OK', '', '') RETURNING id").fetchone()[0]
with conn.cursor().copy("COPY dossier (finess, nda, state, to_validate, exit_date) FROM STDIN") as cp:
    for i in range(N):
        cp.write_row(("990000010", f"EX{i:08d}", 0, False, dt.date(2025, 4, 1 + i % 30)))
ids = [r[0] for r in conn.execute("SELECT id FROM dossier WHERE nda LIKE 'EX%'").fetchall()]
with conn.cursor().copy("COPY dossier_line (dossier_id, kind, subtype, layout, seq, line, file_id, line_no) "
                        "FROM STDIN") as cp:
    for dossier_id in ids:
        cp.write_row((dossier_id, "VIDHOSP", "complet", "vidhosp_V015", 1, vh, file_id, 1))
        cp.write_row((dossier_id, "RSS", "", "rss_grp_122", 1, rss, file_id, 1))
        cp.write_row((dossier_id, "RSS", "", "rss_grp_122", 2, rss, file_id, 2))
        cp.write_row((dossier_id, "FICHCOMP", "06", "fichcomp_med", 1, med, file_id, 1))
conn.execute("ANALYZE")
conn.commit()
import resource  # noqa: E402

before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
with conn.transaction():
    extract = extract_epmsi.export(conn, "990000010", tree, 2025, 4, dt.datetime.now(dt.timezone.utc))
elapsed = time.perf_counter() - t0
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"EXTRACTEPMSI: {extract.dossiers} dossiers, {sum(extract.lines.values())} lines, "
      f"{os.path.getsize(extract.path) / 1e6:.1f} MB zip in {elapsed:.2f} s; max RSS {before / 1024:.0f} -> {after / 1024:.0f} MB")
conn.close()

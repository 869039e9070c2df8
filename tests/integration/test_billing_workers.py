"""A large billing run values and renders its invoices in helper processes (fides.billing.valuing):
the same titres, lots, B2 files and report, byte for byte, as one process billing the same
dossiers; and a helper that cannot start or is killed fails the run, which keeps nothing."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import shutil
import signal
import time
import uuid
from concurrent.futures.process import BrokenProcessPool

import psycopg
import pytest

from fides import config as config_mod, helpers
from fides.bench import synthetic
from fides.billing import run as billing_run
from fides.billing import valuing
from fides.engine import validation
from fides.engine.hooks import AFTER_PASS
from fides.engine.process import Processor
from fides.store import referentials
from fides.store.schema import database_url

DOSSIERS = 2500
NOW = dt.datetime(2025, 6, 2, 8, 0, tzinfo=dt.timezone.utc)


def _site(tmp_path, server: str, template: str, flows, workers: int):
    """A fresh database and root with the same dossiers integrated and validated."""
    name = f"fides_t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    cfg = config_mod.from_mapping(tmp_path / name, {
        "inbox": {"stable_seconds": 0}, "establishment": {"finess": synthetic.FINESS},
        "billing": {"tjp": {"146": 1000}, "lot_size": 300, "workers": workers}})
    conn = psycopg.connect(database_url(server, name), autocommit=True)
    processor = Processor(cfg, conn, {}, AFTER_PASS)
    processor.tree.create()
    refs = referentials.read(conn)
    processor.context.update(refs=refs, codes=referentials.CodeSets(refs, referentials.tables(conn)))
    (processor.tree.inbox / "IUM_990000010_20250101000000_0001.txt").write_text(
        "".join(line + "\r\n" for line in synthetic.ium_lines()), encoding="latin-1")
    processor.run_pass()
    for flow in ("VIDHOSP", "RSS", "FICHCOMP"):
        shutil.copy(flows / f"{flow}_{synthetic.FINESS}_20250401000000_0001.txt", processor.tree.inbox)
        processor.run_pass()
    validation.sweep(conn, cfg, refs, "test", NOW)
    return name, processor


def _bill(processor) -> tuple[list, list, list]:
    """(report lines, pending outputs (path, bytes: a B2 lot's as staged), titres) of a billing run of
    every VALIDE dossier."""
    conn = processor.conn
    with conn.transaction():
        billing_run.bill(conn, processor.config, processor.context["refs"], processor.tree, "test", NOW,
                         processor.tree.reports / "FACTURATION.arl")
    outputs = [(path, (processor.tree.staging / staged).read_bytes() if staged else content) for path, content, staged
               in conn.execute("SELECT path, string_agg(content, '' ORDER BY id), max(staged) FROM pending_output "
                               "GROUP BY path ORDER BY path")]
    assert sum(path.endswith(".b2") for path, _ in outputs) > 1
    titres = conn.execute("SELECT d.nda, t.numero, t.complement FROM titre t JOIN dossier d ON d.id = t.dossier_id "
                          "ORDER BY t.numero").fetchall()
    report = dict(outputs).pop(processor.tree.relative(processor.tree.reports / "FACTURATION.arl"))
    return bytes(report).decode().splitlines(), [(p, bytes(c)) for p, c in outputs], titres


@pytest.fixture
def sites(tmp_path, pg_server_url, template_db, flows):
    """`sites(workers)` -> a processor on a site of its own; every site dropped at the end."""
    made = []

    def make(workers: int):
        made.append(_site(tmp_path, pg_server_url, template_db, flows, workers))
        return made[-1][1]

    yield make
    for name, processor in made:
        processor.conn.close()
        with psycopg.connect(pg_server_url, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def flows(tmp_path):
    directory = tmp_path / "flows"
    directory.mkdir()
    synthetic.write_flows(directory, DOSSIERS, seed=11)
    return directory


def _nothing_kept(conn) -> None:
    assert conn.execute("SELECT count(*) FROM titre").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM dossier WHERE state = 2").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM pending_output").fetchone()[0] == 0


def test_helpers_bill_the_same_bytes_as_one_process(sites, monkeypatch):
    monkeypatch.setattr(billing_run, "PARALLEL_FROM", 100)
    used = []
    chosen = billing_run._valuers
    monkeypatch.setattr(billing_run, "_valuers", lambda *a: used.append(chosen(*a)) or used[-1])
    one, two = sites(1), sites(2)
    alone, shared = _bill(one), _bill(two)
    assert [type(v) for v in used] == [valuing.InProcess, valuing.Helpers]
    report, outputs, titres = alone
    assert sum(line.split(";")[2] == "GENERE" for line in report) > DOSSIERS * 0.9
    assert len([p for p, _ in outputs if p.endswith(".b2")]) >= DOSSIERS // 300
    assert shared == alone  # report, every B2 file and FACT_SYNT.TXT byte for byte, titres
    helpers = two.conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                               "'fides-billing'").fetchone()[0]
    assert helpers == 0  # the helpers' connections are gone with them


def test_the_helpers_say_what_they_used_and_the_bench_counts_it(sites, monkeypatch):
    """Forked by fides.helpers' server, they are not this process's children: each result says
    what its helper used since its last one (CPU time, growth of its peak); the run adds them up."""
    from fides.bench import run as bench

    monkeypatch.setattr(billing_run, "PARALLEL_FROM", 100)
    monkeypatch.setattr(helpers, "cpu_seconds", 0.0)
    monkeypatch.setattr(helpers, "peak_kib_total", 0)
    processor = sites(2)
    mine = sum(os.times()[:4])  # this process and its waited-for children: not the fork server's
    _bill(processor)
    assert 0.05 < helpers.cpu_seconds < 60  # two helpers valuing 2 500 dossiers
    assert 2 * 10_000 < helpers.peak_kib_total < 2 * 1_000_000  # two interpreters, a few tens of MiB each
    fides, _ = bench._cpu_seconds(processor.conn.info.backend_pid)
    assert fides - mine >= helpers.cpu_seconds


def test_a_failing_helper_fails_the_run_which_keeps_nothing(sites, monkeypatch):
    monkeypatch.setattr(billing_run, "PARALLEL_FROM", 100)
    processor = sites(2)
    # a helper whose connection is refused (helpers, forked by their server, do not see a monkeypatch)
    monkeypatch.setattr(valuing, "helper_dsn", lambda conn: conn.info.dsn + " dbname=no_such_database")
    with pytest.raises(RuntimeError, match="billing helper could not start"):
        _bill(processor)
    _nothing_kept(processor.conn)


def test_a_killed_helper_fails_the_run_which_keeps_nothing(sites, monkeypatch):
    monkeypatch.setattr(billing_run, "PARALLEL_FROM", 100)
    processor = sites(2)
    apply_next = billing_run._apply_next

    def kill_a_helper_first(run, waiting):  # as the OOM killer would, while chunks are pending
        for child in multiprocessing.active_children():
            os.kill(child.pid, signal.SIGKILL)
            break
        monkeypatch.setattr(billing_run, "_apply_next", apply_next)
        time.sleep(0.5)
        apply_next(run, waiting)

    monkeypatch.setattr(billing_run, "_apply_next", kill_a_helper_first)
    with pytest.raises(BrokenProcessPool):
        _bill(processor)
    _nothing_kept(processor.conn)

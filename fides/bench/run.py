"""`fides bench`: measure each stage on synthetic flows and the embedded PostgreSQL.

Every stage runs in its own child process (its peak memory is its own), on a fresh database
per size. The floor of each ingested flow is a bare COPY of the same lines, already split into
the columns fides stores for a line, into a table of that shape without index, measured in the
same run: fides/floor says how far the whole pipeline (read, recognise, parse, check every field,
create or lock dossiers, store, `.arl`) is from the database's own speed.

Latency is measured apart: a `fides run` service (file watcher, default settings) receives
one-line VIDHOSP files one at a time; the time from the file's close to its `.arl` is recorded.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import resource
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from queue import Empty

import psycopg

from fides.bench import STAGES, synthetic

FLOWS = ("VIDHOSP", "RSS", "FICHCOMP")
_SUBTYPE = {"VIDHOSP": "complet", "RSS": "", "FICHCOMP": "06"}
_LAYOUT = {"VIDHOSP": "vidhosp_V015", "RSS": "rss_grp_122", "FICHCOMP": "fichcomp_med"}
FLOOR = "plancher COPY "


@dataclass
class Measure:
    stage: str
    size: int
    items: int
    seconds: float
    megabytes: float
    peak_mib: float
    unit: str

    @property
    def rate(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _config(root: Path):
    from fides import config

    return config.from_mapping(root, {"inbox": {"stable_seconds": 0},
                                      "billing": {"tjp": {"146": 1000}, "lot_size": 500}})


def _processor(root: Path, url: str):
    from fides.engine.process import Processor
    from fides.store import referentials

    conn = psycopg.connect(url, autocommit=True)
    refs = referentials.read(conn)
    context = {"refs": refs, "codes": referentials.CodeSets(refs, referentials.tables(conn))}
    conn.commit()
    return Processor(_config(root), conn, context, [])


def _child(target, queue, *args) -> None:
    result = target(*args)
    queue.put((result, _peak_mib()))


def _in_child(target, *args):
    """Run `target(*args)` in a child; returns (its result, its peak RSS in MiB). A fresh
    interpreter ("spawn"): a forked child would count the parent's pages in its peak."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(target, queue, *args))
    proc.start()
    while True:  # a child that dies without answering must not leave the bench waiting
        try:
            result = queue.get(timeout=1)
            break
        except Empty:
            if not proc.is_alive():
                raise RuntimeError(f"bench stage failed with exit code {proc.exitcode}") from None
    proc.join()
    if proc.exitcode != 0:
        raise RuntimeError(f"bench stage failed with exit code {proc.exitcode}")
    return result


def _pass_on(root: Path, url: str, source: Path | None = None, name: str = "", data: bytes = b"") -> float:
    """One engine pass over one file dropped in in/; its time."""
    processor = _processor(root, url)
    target = processor.tree.inbox / (source.name if source else name)
    if source:
        shutil.copyfile(source, target)
    else:
        target.write_bytes(data)
    start = time.perf_counter()
    report = processor.run_pass()
    elapsed = time.perf_counter() - start
    status = report.processed[0][2] if report.processed else "ATTENTE"
    if status not in ("OK", "PARTIEL"):
        raise RuntimeError(f"{target.name}: {status}")
    return elapsed


def _validate(root: Path, url: str) -> tuple[float, int]:
    from fides.engine import validation

    processor = _processor(root, url)
    start = time.perf_counter()
    counts = validation.sweep(processor.conn, processor.config, processor.context["refs"], "bench",
                              dt.datetime.now(dt.timezone.utc))
    return time.perf_counter() - start, sum(counts.values())


def _bill(root: Path, url: str) -> tuple[float, int]:
    from fides.billing.run import bill

    processor = _processor(root, url)
    conn = processor.conn
    start = time.perf_counter()
    with conn.transaction():
        result = bill(conn, processor.config, processor.context["refs"], processor.tree, "bench",
                      dt.datetime.now(dt.timezone.utc))
        processor.queue_outputs(result.outputs)
    processor.write_outputs(None)
    return time.perf_counter() - start, sum(1 for r in result.report if r.generated)


_BILLED = """
SELECT t.numero, t.complement, i.total_amo FROM invoice i JOIN titre t ON t.id = i.titre_id ORDER BY t.numero
"""


def _returns(root: Path, url: str) -> tuple[float, int, float]:
    """A NOEMIE 578 paying every billed invoice, through the engine: (seconds, lines, MB)."""
    with psycopg.connect(url) as conn:
        invoices = conn.execute(_BILLED).fetchall()
    data = synthetic.noemie_578(invoices, dt.date.today())
    seconds = _pass_on(root, url, name="RSP578_BENCH.TXT", data=data)
    return seconds, data.count(b"@"), len(data) / 1e6


def _floor(url: str, source: Path, flow: str, table: str = "") -> float:
    """Bare COPY of the file's lines, split into the columns fides stores for a line, into a
    table of that shape without index."""
    blocks, rows = [], []
    with source.open(encoding="latin-1", newline="") as f:
        for number, line in enumerate(f, 1):
            text = line.rstrip("\r\n")
            rows.append(f"{number}\t{flow}\t{_SUBTYPE[flow]}\t{_LAYOUT[flow]}\t{number}\t{text}\t1\t{number}\tt\n")
            if len(rows) == 20_000:
                blocks.append("".join(rows).encode())
                rows = []
    blocks.append("".join(rows).encode())
    table = table or f"bench_floor_{flow.lower()}"
    with psycopg.connect(url) as conn:
        conn.execute(f"CREATE TABLE {table} (dossier_id bigint, kind text, subtype text, layout text, seq integer, "
                     "line text, file_id bigint, line_no integer, current boolean)")
        start = time.perf_counter()
        with conn.cursor().copy(f"COPY {table} FROM STDIN") as copy:
            for block in blocks:
                copy.write(block)
        conn.commit()
        return time.perf_counter() - start


def _latency(root: Path, url: str, drops: int) -> list[float]:
    """Seconds from each one-line file's close to its `.arl`, under `fides run`'s own loop."""
    from fides import app
    from fides.engine import service

    root.mkdir(parents=True, exist_ok=True)
    (root / "fides.toml").write_text(f'[establishment]\nfiness = "{synthetic.FINESS}"\n'
                                     f'[database]\nurl = "{url}"\n', encoding="utf-8")
    stop = threading.Event()
    with app.open_installation(root) as inst:
        thread = threading.Thread(target=service.serve, args=(inst, stop), kwargs={"schedule": False}, daemon=True)
        thread.start()
        try:
            return _drop_one_by_one(inst.tree, drops)
        finally:
            stop.set()
            thread.join(10)


def _drop_one_by_one(tree, drops: int) -> list[float]:
    from fides.arl import arl_name

    waits = []
    time.sleep(0.5)  # the watcher is up
    for i in range(drops):
        name = f"VIDHOSP_{synthetic.FINESS}_20250401{i // 3600:02d}{i // 60 % 60:02d}{i % 60:02d}_0001.txt"
        arl = tree.arl / arl_name(name)
        with open(tree.inbox / name, "w", encoding="latin-1", newline="") as f:
            f.write(synthetic.vidhosp_line(i + 1) + "\r\n")
        start = time.perf_counter()
        while not arl.exists():
            if time.perf_counter() - start > 30:
                raise RuntimeError(f"{name}: no .arl after 30 s")
            time.sleep(0.002)
        waits.append(time.perf_counter() - start)
    return waits


def _database(server_url: str) -> str:
    from fides.store import schema

    return schema.create_database(server_url, f"fides_bench_{uuid.uuid4().hex[:8]}")


def measure(size: int, server_url: str, work: Path, seed: int, stages: tuple[str, ...] = STAGES) -> list[Measure]:
    root = work / f"root-{size}"
    flows = work / f"flows-{size}"
    for d in (root, flows):
        d.mkdir(parents=True)
    sizes = synthetic.write_flows(flows, size, seed)
    url = _database(server_url)
    processor = _processor(root, url)
    processor.tree.create()
    (processor.tree.inbox / "IUM_990000010_20250101000000_0001.txt").write_text(
        "".join(line + "\r\n" for line in synthetic.ium_lines()), encoding="latin-1")
    processor.run_pass()
    processor.conn.close()
    results = []
    counts = {"VIDHOSP": sizes.vidhosp, "RSS": sizes.rss, "FICHCOMP": sizes.fichcomp}
    for flow in FLOWS:  # the later stages need the dossiers: ingestion always runs
        source = flows / f"{flow}_{synthetic.FINESS}_20250401000000_0001.txt"
        seconds, peak = _in_child(_pass_on, root, url, source)
        results.append(Measure(flow, size, counts[flow], seconds, source.stat().st_size / 1e6, peak, "lignes"))
    # the same stays sent again (corrected): every dossier exists, its VIDHOSP line is replaced
    # (copied, not read: a child's peak RSS starts at its parent's, fork happens before exec)
    again = flows / f"VIDHOSP_{synthetic.FINESS}_20250402000000_0002.txt"
    shutil.copyfile(flows / f"VIDHOSP_{synthetic.FINESS}_20250401000000_0001.txt", again)
    with again.open("ab") as f:
        f.write((synthetic.vidhosp_line(0) + "\r\n").encode("latin-1"))
    seconds, peak = _in_child(_pass_on, root, url, again)
    results.append(Measure("VIDHOSP (renvoi)", size, counts["VIDHOSP"] + 1, seconds, again.stat().st_size / 1e6,
                           peak, "lignes"))
    if "validation" in stages or "facturation" in stages or "retours" in stages:
        (seconds, validated), peak = _in_child(_validate, root, url)
        results.append(Measure("validation", size, validated, seconds, 0, peak, "dossiers"))
    if "facturation" in stages or "retours" in stages:
        (seconds, billed), peak = _in_child(_bill, root, url)
        results.append(Measure("facturation B2", size, billed, seconds, 0, peak, "dossiers"))
    if "retours" in stages:
        (seconds, lines, mb), peak = _in_child(_returns, root, url)
        results.append(Measure("retours NOEMIE 578", size, lines, seconds, mb, peak, "lignes"))
    for flow in FLOWS:
        source = flows / f"{flow}_{synthetic.FINESS}_20250401000000_0001.txt"
        results.append(Measure(FLOOR + flow, size, counts[flow], _floor(url, source, flow),
                               source.stat().st_size / 1e6, 0, "lignes"))
    return results


def run(sizes: list[int], seed: int, server_url: str | None, keep: Path | None = None,
        stages: tuple[str, ...] = STAGES, drops: int = 100, done=lambda what: None) -> list[Measure]:
    """The latency (on a small server), then every size; `done(what)` is called after each (progress bars)."""
    from fides.store.db import embedded_url, stop_embedded

    work = keep or Path(tempfile.mkdtemp(prefix="fides-bench-"))
    url = server_url or embedded_url(work / "pgdata")
    out = []
    if "latence" in stages and drops:
        waits, peak = _in_child(_latency, work / "root-latence", _database(url), drops)
        out.append(Measure("latence 1 ligne (médiane)", drops, 1, statistics.median(waits), 0, peak, "s"))
        out.append(Measure("latence 1 ligne (max)", drops, 1, max(waits), 0, 0, "s"))
        done("latence")
    for size in sizes:
        out += measure(size, url, work, seed, stages)
        done(f"{size} dossiers")
    if keep is None:
        if not server_url:
            stop_embedded(work / "pgdata")
        shutil.rmtree(work, ignore_errors=True)
    return out


def render(measures: list[Measure]) -> str:
    lines = [f"{'étape':26} {'taille':>9} {'éléments':>9} {'secondes':>9} {'débit/s':>10} {'Mo/s':>7} {'pic Mio':>8}"]
    for m in measures:
        mbs = f"{m.megabytes / m.seconds:7.1f}" if m.megabytes and m.seconds else " " * 7
        peak = f"{m.peak_mib:8.0f}" if m.peak_mib else " " * 8
        rate = f"{m.rate:>10,.0f}" if m.unit != "s" else " " * 10
        lines.append(f"{m.stage:26} {m.size:>9} {m.items:>9} {m.seconds:9.3f} {rate} {mbs} {peak}")
    by_size: dict[int, dict[str, Measure]] = {}
    for m in measures:
        by_size.setdefault(m.size, {})[m.stage] = m
    for size, stages in by_size.items():
        for flow in FLOWS:
            floor = stages.get(FLOOR + flow)
            if floor and flow in stages and floor.seconds:
                lines.append(f"taille {size}: {flow} fides / plancher COPY = {stages[flow].seconds / floor.seconds:.1f}×")
    return "\n".join(lines)

"""`fides bench`: measure each stage on synthetic flows and the embedded PostgreSQL.

Every stage runs in its own child process (its peak memory is its own), on a fresh database
per size. The floor is a bare COPY of the same VIDHOSP rows, already split into the columns fides
stores, into a table of the same shape, measured in the same run: fides/floor says how far the
whole pipeline (read, recognise, parse, check every field, merge, `.arl`) is from the database's
own speed.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import resource
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

from fides.bench import synthetic

STAGES = ("VIDHOSP", "RSS", "FICHCOMP")


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
    """Run `target(*args)` in a forked child; returns (its result, its peak RSS in MiB)."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(target, queue, *args))
    proc.start()
    result = queue.get()
    proc.join()
    if proc.exitcode != 0:
        raise RuntimeError(f"bench stage failed with exit code {proc.exitcode}")
    return result


def _ingest(root: Path, url: str, source: Path) -> float:
    processor = _processor(root, url)
    target = processor.tree.inbox / source.name
    shutil.copyfile(source, target)
    start = time.perf_counter()
    report = processor.run_pass()
    elapsed = time.perf_counter() - start
    status = report.processed[0][2] if report.processed else "ATTENTE"
    if status not in ("OK", "PARTIEL"):
        raise RuntimeError(f"{source.name}: {status}")
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


def _floor(url: str, source: Path) -> float:
    """Bare COPY of the VIDHOSP rows, split as fides stores them, into a table of that shape."""
    from fides.flows.dossier_lines import _iso

    rows = []
    for number, line in enumerate(source.read_text(encoding="latin-1").splitlines(), 1):
        rows.append(f"{number}\t{synthetic.FINESS}\t{line[28:48].strip()}\tcomplet\tvidhosp_V015\t{number}\t"
                    f"{_iso(line[274:282])}\t{_iso(line[282:290])}\t{line}\n")
    data = "".join(rows)
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE bench_floor (line_no integer, finess text, nda text, subtype text, "
                     "layout text, seq integer, entry_date date, exit_date date, line text)")
        start = time.perf_counter()
        with conn.cursor().copy("COPY bench_floor FROM STDIN") as copy:
            for i in range(0, len(data), 1 << 20):
                copy.write(data[i:i + (1 << 20)])
        conn.commit()
        return time.perf_counter() - start


def _database(server_url: str) -> str:
    from fides.store import schema

    return schema.create_database(server_url, f"fides_bench_{uuid.uuid4().hex[:8]}")


def measure(size: int, server_url: str, work: Path, seed: int) -> list[Measure]:
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
    for stage in STAGES:
        source = flows / f"{stage}_{synthetic.FINESS}_20250401000000_0001.txt"
        seconds, peak = _in_child(_ingest, root, url, source)
        results.append(Measure(stage, size, counts[stage], seconds, source.stat().st_size / 1e6, peak, "lignes"))
    (seconds, validated), peak = _in_child(_validate, root, url)
    results.append(Measure("validation", size, validated, seconds, 0, peak, "dossiers"))
    (seconds, billed), peak = _in_child(_bill, root, url)
    results.append(Measure("facturation B2", size, billed, seconds, 0, peak, "dossiers"))
    floor_source = flows / f"VIDHOSP_{synthetic.FINESS}_20250401000000_0001.txt"
    floor_seconds = _floor(url, floor_source)
    results.append(Measure("plancher COPY VIDHOSP", size, sizes.vidhosp, floor_seconds,
                           floor_source.stat().st_size / 1e6, 0, "lignes"))
    return results


def run(sizes: list[int], seed: int, server_url: str | None, keep: Path | None = None) -> list[Measure]:
    from fides.store.db import embedded_url, stop_embedded

    work = keep or Path(tempfile.mkdtemp(prefix="fides-bench-"))
    url = server_url or embedded_url(work / "pgdata")
    out = []
    for size in sizes:
        out += measure(size, url, work, seed)
    if keep is None:
        if not server_url:
            stop_embedded(work / "pgdata")
        shutil.rmtree(work, ignore_errors=True)
    return out


def render(measures: list[Measure]) -> str:
    lines = [f"{'étape':24} {'taille':>9} {'éléments':>9} {'secondes':>9} {'débit/s':>10} {'Mo/s':>7} {'pic Mio':>8}"]
    for m in measures:
        mbs = f"{m.megabytes / m.seconds:7.1f}" if m.megabytes and m.seconds else " " * 7
        peak = f"{m.peak_mib:8.0f}" if m.peak_mib else " " * 8
        lines.append(f"{m.stage:24} {m.size:>9} {m.items:>9} {m.seconds:9.2f} {m.rate:>10,.0f} {mbs} {peak}")
    by_size: dict[int, dict[str, Measure]] = {}
    for m in measures:
        by_size.setdefault(m.size, {})[m.stage] = m
    for size, stages in by_size.items():
        floor = stages.get("plancher COPY VIDHOSP")
        if floor and "VIDHOSP" in stages:
            lines.append(f"taille {size}: VIDHOSP fides / plancher COPY = {stages['VIDHOSP'].seconds / floor.seconds:.1f}×")
    return "\n".join(lines)

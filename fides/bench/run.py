"""`fides bench`: measure each stage on synthetic flows and the embedded PostgreSQL.

Every stage runs in its own child process (its peak memory is its own), on a fresh database
per size. The floor of each ingested flow is a bare COPY of the same lines, already split into
the columns fides stores for a line and in the binary format fides writes them in (text costs
the server more to parse), into a table of that shape without index, measured in the
same run: fides/floor says how far the whole pipeline (read, recognise, parse, check every field,
create or lock dossiers, store, `.arl`) is from the database's own speed. A second floor COPYs the
same rows into tables shaped like fides' own, with their indexes: the dossiers a flow creates
(VIDHOSP here) and its lines. No checking at all: what PostgreSQL alone needs on this machine to
store what fides stores. Each stage also reports the CPU seconds of fides (its helpers included)
and of the whole PostgreSQL server (Linux /proc): on two cores, where the time goes, and whether
the stage is bound by its own CPU (`Measure.cores`).

A floor is the fastest of FLOOR_TRIES COPYs, each after a CHECKPOINT and into tables dropped
straight after: measured once, the same floor took 1.6 to 3.4 s for a million VIDHOSP lines from
one run to the next (autovacuum on the previous floor's tables, a checkpoint the stages before had
started), which made any ratio to it noise. fides' stages run as a service would run them, one
after the other, each with whatever checkpoint its predecessors started: a CHECKPOINT before
each makes a stage log a full image of every page it touches first (RSS after VIDHOSP, 100 000
dossiers: 8 033 page images, 145 MB of WAL instead of 96), no more the truth than the other way.

Latency is measured apart: a `fides run` service (file watcher, default settings) receives
one-line VIDHOSP files one at a time; the time from the file's close to its `.arl` is recorded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import multiprocessing
import os
import resource
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from queue import Empty

import psycopg
from psycopg.conninfo import conninfo_to_dict

from fides.bench import STAGES, synthetic
from fides.store import binary

FLOWS = ("VIDHOSP", "RSS", "FICHCOMP")
_SUBTYPE = {"VIDHOSP": "complet", "RSS": "", "FICHCOMP": "06"}
_LAYOUT = {"VIDHOSP": "vidhosp_V015", "RSS": "rss_grp_122", "FICHCOMP": "fichcomp_med"}
FLOOR = "plancher COPY "
SHAPED_FLOOR = "plancher tables fides "
FLOOR_TRIES = 3  # a floor is the fastest of its tries: the machine's speed, not its noise


@dataclass
class Measure:
    stage: str
    size: int
    items: int
    seconds: float
    megabytes: float
    peak_mib: float
    unit: str
    cpu: tuple[float, float] = (0.0, 0.0)  # CPU seconds of fides and of its PostgreSQL backend
    spread: tuple[float, float] | None = None  # fastest and slowest seconds when repeated (--repeat)

    @property
    def rate(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0

    @property
    def cores(self) -> float:
        """CPU seconds (fides and PostgreSQL) per second: near the machine's cores, the stage is
        bound by its own CPU, and only spending less of it makes it faster."""
        return sum(self.cpu) / self.seconds if self.seconds else 0.0


def _peak_mib() -> float:
    """Peak resident memory of this process plus those of its helpers (fides.helpers: they run
    alongside it, each says its own), or of the largest of the processes it waited for if that
    is more. This process's own is VmHWM: its ru_maxrss would keep the peak of the bench's
    process it was forked from before exec (measured: 314 MiB reported for a 15 MiB child of a
    300 MiB parent), which grew with the sizes already run."""
    from fides import helpers

    own_kib = helpers.peak_kib() + helpers.peak_kib_total
    return max(own_kib, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


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


def _stat(pid: int | str) -> list[str]:
    """Fields of /proc/<pid>/stat after the command name (field 3, state, is index 0)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _cpu_seconds(backend_pid: int) -> tuple[float, float]:
    """CPU seconds used so far by this process, the processes it waited for and its helpers
    (fides.helpers: they say their own), and by the whole PostgreSQL server of `backend_pid`: its
    postmaster, its live processes (backends, WAL writer, checkpointer…) and those that ended (the
    postmaster's children time). 0 for PostgreSQL when /proc does not say (another system, a
    remote server)."""
    from fides import helpers

    mine, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    fides = mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime + helpers.cpu_seconds
    try:
        tick = os.sysconf("SC_CLK_TCK")
        postmaster = _stat(backend_pid)[1]
        head = _stat(postmaster)
        server = sum(int(head[k]) for k in (11, 12, 13, 14))  # utime, stime, cutime, cstime
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = _stat(entry.name)
                except OSError:  # ended meanwhile
                    continue
                if fields[1] == postmaster:
                    server += int(fields[11]) + int(fields[12])
        return fides, server / tick
    except (OSError, IndexError, ValueError):
        return fides, 0.0


class _Clock:
    """Wall seconds and CPU seconds (fides, PostgreSQL) of the block it wraps."""

    def __init__(self, conn) -> None:
        self.backend = conn.info.backend_pid

    def __enter__(self) -> "_Clock":
        self._cpu = _cpu_seconds(self.backend)
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._start
        self.cpu = tuple(b - a for a, b in zip(self._cpu, _cpu_seconds(self.backend)))


def _pass_on(root: Path, url: str, source: Path | None = None, name: str = "",
             data: bytes = b"") -> tuple[float, tuple[float, float]]:
    """One engine pass over one file dropped in in/: its time, and the CPU seconds of fides and
    of its PostgreSQL backend meanwhile."""
    from fides import helpers

    helpers.start()  # as `fides run` does when it starts: the pass is the service's, warm
    processor = _processor(root, url)
    target = processor.tree.inbox / (source.name if source else name)
    if source:
        shutil.copyfile(source, target)
    else:
        target.write_bytes(data)
    with _Clock(processor.conn) as clock:
        report = processor.run_pass()
    status = report.processed[0][2] if report.processed else "ATTENTE"
    if status not in ("OK", "PARTIEL"):
        raise RuntimeError(f"{target.name}: {status}")
    return clock.seconds, clock.cpu


def _validate(root: Path, url: str) -> tuple[float, int, tuple[float, float]]:
    from fides import helpers
    from fides.engine import validation

    helpers.start()  # as `fides run` does when it starts
    processor = _processor(root, url)
    with _Clock(processor.conn) as clock:
        counts = validation.sweep(processor.conn, processor.config, processor.context["refs"], "bench",
                                  dt.datetime.now(dt.timezone.utc))
    return clock.seconds, sum(counts.values()), clock.cpu


def _bill(root: Path, url: str) -> tuple[float, int, tuple[float, float]]:
    from fides import helpers
    from fides.billing.run import bill

    helpers.start()  # as `fides run` does when it starts
    processor = _processor(root, url)
    conn = processor.conn
    with _Clock(conn) as clock:
        with conn.transaction():
            result = bill(conn, processor.config, processor.context["refs"], processor.tree, "bench",
                          dt.datetime.now(dt.timezone.utc), processor.tree.reports / "FACTURATION_BENCH.arl")
        processor.write_outputs(None)
    return clock.seconds, result.generated, clock.cpu


# Every billed invoice with its lot's N°, lot by lot: the 578 answers each lot with its own 080.
_BILLED = """
SELECT l.numero, t.numero, t.complement, i.total_amo FROM invoice i
JOIN titre t ON t.id = i.titre_id JOIN lot l ON l.id = i.lot_id
ORDER BY l.id, t.numero
"""


_UNPAID = "SELECT count(*) FROM invoice i JOIN dossier d ON d.id = i.dossier_id WHERE d.state <> 4"


def _write_returns(url: str, path: Path) -> int:
    """The NOEMIE 578 paying every billed invoice, on disk before the stage's child starts (its
    peak is the pass's own, not the generator's); returns its entities."""
    with psycopg.connect(url) as conn, conn.cursor(name="billed") as billed:  # streamed, not a million rows held
        billed.execute(_BILLED)
        return synthetic.write_noemie_578(path, billed, dt.date.today())


def _blocks(rows, size: int = 20_000) -> list[bytes]:
    """Binary COPY rows grouped in blocks, the format's header first and its trailer last, ready
    before the clock starts."""
    blocks, block = [binary.HEADER], []
    for row in rows:
        block.append(row)
        if len(block) == size:
            blocks.append(b"".join(block))
            block = []
    blocks += [b"".join(block), binary.TRAILER]
    return blocks


def _line_rows(source: Path, flow: str, encoding: str):
    kind, subtype, layout = (binary.text(v.encode(encoding)) for v in (flow, _SUBTYPE[flow], _LAYOUT[flow]))
    with source.open(encoding="latin-1", newline="") as f:
        for number, line in enumerate(f, 1):
            stored = binary.text(line.rstrip("\r\n").encode(encoding))
            yield b"".join((b"\0\x09", binary.int8(number), kind, subtype, layout, binary.int4(number), stored,
                            binary.int8(1), binary.int4(number), b"\0\0\0\1\1"))


def _dossier_rows(source: Path, flow: str, encoding: str):
    """One row per N° administratif of the file (the dossiers its ingestion creates)."""
    from fides.layouts import load

    at = {f.name: slice(f.start - 1, f.end) for f in load(_LAYOUT[flow]).fields if f.zone is None}
    finess = binary.text(synthetic.FINESS.encode(encoding))
    seen = set()
    with source.open(encoding="latin-1", newline="") as f:
        for line in f:
            nda = line[at["num_admin_sejour"]].strip()
            if nda not in seen:
                seen.add(nda)
                entry, exit_ = (line[at[k]] for k in ("date_entree", "date_sortie"))  # JJMMAAAA
                yield b"".join((b"\0\x04", finess, binary.text(nda.encode(encoding)),
                                binary.date(f"{entry[4:]}-{entry[2:4]}-{entry[:2]}"),
                                binary.date(f"{exit_[4:]}-{exit_[2:4]}-{exit_[:2]}")))


def _floor(url: str, source: Path, flow: str, shaped: bool = False, tries: int = FLOOR_TRIES,
           kept: str = "") -> float:
    """Bare COPY of the file's lines, split into the columns fides stores for a line, into a
    table of that shape without index; `shaped`: into copies of fides' own tables (columns,
    defaults, indexes, storage), with the dossiers the flow creates (VIDHOSP) first. In the
    binary COPY format, as fides writes them. The fastest of `tries`, each into fresh tables
    dropped straight after (autovacuum, once it woke up for them, slowed the next measures), but
    the last try's when `kept` names them (`kept`, and `{kept}_dossier` when `shaped`)."""
    with psycopg.connect(url, autocommit=True) as conn:
        encoding = conn.info.encoding
        lines = _blocks(_line_rows(source, flow, encoding))
        dossiers = _blocks(_dossier_rows(source, flow, encoding)) if shaped and flow == "VIDHOSP" else []
        times = []
        for attempt in range(tries):
            table = kept if kept and attempt == tries - 1 else f"bench_floor{'_shaped' if shaped else ''}_{flow.lower()}"
            times.append(_copy_floor(conn, table, shaped, lines, dossiers))
            if table != kept:
                conn.execute(f"DROP TABLE {table}" + (f", {table}_dossier" if shaped else ""))
        return min(times)


def _copy_floor(conn, table: str, shaped: bool, lines: list[bytes], dossiers: list[bytes]) -> float:
    """One try of `_floor`, into `table` (and `{table}_dossier` when `shaped`), created now."""
    if shaped:
        for source_table, copy_table in (("dossier", f"{table}_dossier"), ("dossier_line", table)):
            options = conn.execute("SELECT array_to_string(reloptions, ', ') FROM pg_class "
                                   "WHERE oid = %s::regclass", (source_table,)).fetchone()[0]
            conn.execute(f"CREATE TABLE {copy_table} (LIKE {source_table} INCLUDING ALL)"
                         + (f" WITH ({options})" if options else ""))
    else:
        conn.execute(f"CREATE TABLE {table} (dossier_id bigint, kind text, subtype text, layout text, "
                     "seq integer, line text, file_id bigint, line_no integer, current boolean)")
    _checkpoint(conn)
    start = time.perf_counter()
    with conn.transaction():
        if dossiers:
            with conn.cursor().copy(f"COPY {table}_dossier (finess, nda, entry_date, exit_date) FROM STDIN "
                                    "(FORMAT BINARY)") as copy:
                for block in dossiers:
                    copy.write(block)
        with conn.cursor().copy(f"COPY {table} (dossier_id, kind, subtype, layout, seq, line, file_id, line_no, "
                                "current) FROM STDIN (FORMAT BINARY)") as copy:
            for block in lines:
                copy.write(block)
    return time.perf_counter() - start


def _checkpoint(conn) -> None:
    """Before each try of a floor: it starts with no dirty page of the previous one to write.
    Skipped where the role may not (CHECKPOINT needs pg_checkpoint, or a superuser, on a user's
    server)."""
    try:
        conn.execute("CHECKPOINT")
    except psycopg.errors.InsufficientPrivilege:
        pass


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


@contextlib.contextmanager
def _database(server_url: str, keep: bool) -> Iterator[str]:
    """A fresh database on `server_url`, dropped afterwards, whether the stages succeeded or not,
    unless `keep`: on a production server, a bench of a million dossiers left gigabytes behind."""
    from fides.store import schema

    url = schema.create_database(server_url, f"fides_bench_{uuid.uuid4().hex[:8]}")
    try:
        yield url
    finally:
        if not keep:
            with psycopg.connect(server_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{conninfo_to_dict(url)["dbname"]}" WITH (FORCE)')


def median_of(runs: list[list[Measure]]) -> list[Measure]:
    """Each measure of several runs of the same stages: the run of median time (the lower of the
    two middle ones for an even count: a time really measured, with its own CPU and memory), with
    the fastest and the slowest time as its spread."""
    out = []
    for same in zip(*runs, strict=True):
        if len({(m.stage, m.size) for m in same}) != 1:
            raise ValueError(f"runs differ: {[m.stage for m in same]}")
        ordered = sorted(same, key=lambda m: m.seconds)
        out.append(dataclasses.replace(ordered[(len(ordered) - 1) // 2],
                                       spread=(ordered[0].seconds, ordered[-1].seconds)))
    return out


def measure(size: int, server_url: str, work: Path, seed: int, stages: tuple[str, ...] = STAGES,
            keep: bool = False) -> list[Measure]:
    """Every stage at `size` on a fresh database of `server_url`, dropped afterwards unless `keep`."""
    root = work / f"root-{size}"
    flows = work / f"flows-{size}"
    for d in (root, flows):
        d.mkdir(parents=True)
    sizes = synthetic.write_flows(flows, size, seed)
    with _database(server_url, keep) as url:
        return _stages(size, url, root, flows, sizes, stages)


def _stages(size: int, url: str, root: Path, flows: Path, sizes: synthetic.Sizes,
            stages: tuple[str, ...]) -> list[Measure]:
    """The stages of `measure` on the database `url`."""
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
        (seconds, cpu), peak = _in_child(_pass_on, root, url, source)
        results.append(Measure(flow, size, counts[flow], seconds, source.stat().st_size / 1e6, peak, "lignes", cpu))
    # the same stays sent again (corrected): every dossier exists, its VIDHOSP line is replaced
    # (copied, not read: a child's peak RSS starts at its parent's, fork happens before exec)
    again = flows / f"VIDHOSP_{synthetic.FINESS}_20250402000000_0002.txt"
    shutil.copyfile(flows / f"VIDHOSP_{synthetic.FINESS}_20250401000000_0001.txt", again)
    with again.open("ab") as f:
        f.write((synthetic.vidhosp_line(0) + "\r\n").encode("latin-1"))
    (seconds, cpu), peak = _in_child(_pass_on, root, url, again)
    results.append(Measure("VIDHOSP (renvoi)", size, counts["VIDHOSP"] + 1, seconds, again.stat().st_size / 1e6,
                           peak, "lignes", cpu))
    if "validation" in stages or "facturation" in stages or "retours" in stages:
        (seconds, validated, cpu), peak = _in_child(_validate, root, url)
        results.append(Measure("validation", size, validated, seconds, 0, peak, "dossiers", cpu))
    if "facturation" in stages or "retours" in stages:
        (seconds, billed, cpu), peak = _in_child(_bill, root, url)
        results.append(Measure("facturation B2", size, billed, seconds, 0, peak, "dossiers", cpu))
    if "retours" in stages:
        source = flows / "RSP578_BENCH.TXT"
        lines = _write_returns(url, source)
        (seconds, cpu), peak = _in_child(_pass_on, root, url, source)
        with psycopg.connect(url) as conn:
            unpaid = conn.execute(_UNPAID).fetchone()[0]
        if unpaid:
            raise RuntimeError(f"{source.name}: {unpaid} invoice(s) not paid")
        results.append(Measure("retours NOEMIE 578", size, lines, seconds, source.stat().st_size / 1e6, peak,
                               "lignes", cpu))
    for flow in FLOWS:
        source = flows / f"{flow}_{synthetic.FINESS}_20250401000000_0001.txt"
        for label, shaped in ((FLOOR, False), (SHAPED_FLOOR, True)):
            results.append(Measure(label + flow, size, counts[flow], _floor(url, source, flow, shaped),
                                   source.stat().st_size / 1e6, 0, "lignes"))
    return results


def run(sizes: list[int], seed: int, server_url: str | None, keep: Path | None = None,
        stages: tuple[str, ...] = STAGES, drops: int = 100, done=lambda what: None, repeat: int = 1) -> list[Measure]:
    """The latency (on a small server), then every size, `repeat` times (the median run of each
    measure is kept, with its spread); `done(what)` is called after each (progress bars)."""
    from fides.store.db import embedded_url, stop_embedded

    work = keep or Path(tempfile.mkdtemp(prefix="fides-bench-"))
    try:  # a run that fails (server unreachable, a stage refused) leaves no folder nor server behind
        url = server_url or embedded_url(work / "pgdata")
        out = []
        if "latence" in stages and drops:
            with _database(url, keep is not None) as latency_url:
                waits, peak = _in_child(_latency, work / "root-latence", latency_url, drops)
            out.append(Measure("latence 1 ligne (médiane)", drops, 1, statistics.median(waits), 0, peak, "s"))
            out.append(Measure("latence 1 ligne (max)", drops, 1, max(waits), 0, 0, "s"))
            done("latence")
        for size in sizes:
            if repeat == 1:
                out += measure(size, url, work, seed, stages, keep=keep is not None)
            else:  # each repetition in its own folder and database, dropped unless kept
                out += median_of([measure(size, url, work / f"essai-{i + 1}", seed, stages, keep=keep is not None)
                                  for i in range(repeat)])
            done(f"{size} dossiers")
        return out
    finally:
        if keep is None:
            if not server_url:
                stop_embedded(work / "pgdata")
            shutil.rmtree(work, ignore_errors=True)


def render(measures: list[Measure], cores: int | None = None) -> str:
    """The table, then per size each flow's ratios to its floors, and the ratio the stage's CPU
    alone imposes on `cores` (the machine's by default): its CPU seconds spread evenly over
    them, no waiting at all."""
    cores = cores or len(os.sched_getaffinity(0))
    spreads = any(m.spread for m in measures)
    lines = [f"{'étape':30} {'taille':>9} {'éléments':>9} {'secondes':>9}"
             + (f" {'min–max s':>15}" if spreads else "")
             + f" {'débit/s':>10} {'Mo/s':>7} {'pic Mio':>8} {'CPU fides':>9} {'CPU PG':>7} {'cœurs':>6}"]
    for m in measures:
        mbs = f"{m.megabytes / m.seconds:7.1f}" if m.megabytes and m.seconds else " " * 7
        peak = f"{m.peak_mib:8.0f}" if m.peak_mib else " " * 8
        rate = f"{m.rate:>10,.0f}" if m.unit != "s" else " " * 10
        cpu = f" {m.cpu[0]:9.2f} {m.cpu[1]:7.2f} {m.cores:6.2f}" if any(m.cpu) else ""
        spread = ""
        if spreads:  # a column only when sizes were repeated; blank for the latency
            spread = f" {f'{m.spread[0]:.3f}–{m.spread[1]:.3f}' if m.spread else '':>15}"
        lines.append(f"{m.stage:30} {m.size:>9} {m.items:>9} {m.seconds:9.3f}{spread} {rate} {mbs} {peak}{cpu}")
    by_size: dict[int, dict[str, Measure]] = {}
    for m in measures:
        by_size.setdefault(m.size, {})[m.stage] = m
    for size, stages in by_size.items():
        for flow in FLOWS:
            floor, shaped = stages.get(FLOOR + flow), stages.get(SHAPED_FLOOR + flow)
            if floor and flow in stages and floor.seconds:
                said = f"taille {size}: {flow} fides / plancher COPY = {stages[flow].seconds / floor.seconds:.1f}×"
                if shaped and shaped.seconds:
                    said += f", / plancher tables fides = {stages[flow].seconds / shaped.seconds:.1f}×"
                if any(stages[flow].cpu):
                    bound = sum(stages[flow].cpu) / cores / floor.seconds
                    said += f"; son CPU seul sur {cores} cœur(s) : ≥ {bound:.1f}× le plancher COPY"
                lines.append(said)
    return "\n".join(lines)

"""A billing run: VALIDE dossiers become invoices with a titre, grouped in lots, one B2 file per
lot, in one transaction (the caller's).

Who may be billed: VALIDE dossiers, billable in B2, never flagged by CANCELPAIDREQUEST. A
referential error found now (UM without FINESS géographique, no tariff at the date…) sends the
dossier back to EN_COURS with its anomaly, as DEFIS did.

The run streams: dossiers are locked, read, valued, numbered and rendered a chunk at a time, and
each invoice waits in the open lot of its (FINESS géographique, organisme, exercice) as its B2
records. A lot that reaches `billing.lot_size` is closed at once, the others when the run ends
(in group order): closing numbers the lot, writes its row and its invoices, and queues its B2
file and its part of FACT_SYNT.TXT as pending outputs in the caller's transaction (written to disk
after commit, like every output: fides.engine.process). The report's lines go to a temporary
table as they come, and are queued, in order, when the run ends. So memory holds one chunk and the
open lots, whatever the number of dossiers (a year's re-integration bills a million at once).
Lots, titres, invoices, state changes and files commit together or not at all.

Billing runs take turns (a transaction-level advisory lock): a run locks the counters it needs
(titres per exercice, lots per FINESS géographique) in the order its data brings them, so two
runs at once could lock them in opposite orders and deadlock. In practice they waited for each
other anyway: a titre waits for the commit of the run holding its exercice's counter.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import psycopg

from fides import dossiers
from fides.billing import b2, numbering
from fides.billing.valuing import Helpers, InProcess, Valued, Valuer
from fides.config import Config
from fides.engine.tree import Tree
from fides.errors import CODES
from fides.store import dossier_data, sql

log = logging.getLogger(__name__)

CHUNK = 2000  # dossiers per chunk
PARALLEL_FROM = 5_000  # billable dossiers from which helper processes are worth their start (~0.3 s)

_ONE_RUN_AT_A_TIME = "SELECT pg_advisory_xact_lock(hashtext('fides-billing'))"
_BILLABLE_COUNT = """
SELECT count(*) FROM (SELECT 1 FROM dossier WHERE state = 1 AND NOT never_b2 AND billable_b2 IS TRUE
                      LIMIT %(limit)s) AS b
"""
# Keyset walk on ix_dossier_valide (id WHERE state = 1): a chunk never re-reads the previous ones.
_VALIDE_CHUNK = """
SELECT id FROM dossier WHERE state = 1 AND NOT never_b2 AND billable_b2 IS TRUE AND id > %(after)s
ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
"""
_REQUESTED = "SELECT id, nda, state, never_b2, billable_b2 FROM dossier WHERE finess = %s AND nda = ANY(%s)"
_LOCK_REQUESTED = "SELECT id FROM dossier WHERE id = ANY(%s::bigint[]) AND state = 1 ORDER BY id FOR UPDATE SKIP LOCKED"
# Every titre of a chunk's dossiers: the active ones are kept, and only a dossier that held a
# titre can hold an invoice to retire (fides doctor checks that each invoice has its titre).
# Titres and invoices are probed dossier by dossier (a LATERAL on their dossier_id index): with
# `dossier_id = ANY(ids)`, a first large run, whose titre and invoice tables grow by thousands of
# rows without statistics, read them whole for each chunk (quadratic: 98 000 titres read to find
# the 2 000 of the 50th chunk of 100 000 dossiers).
_TITRES = """
SELECT t.dossier_id, t.id, t.numero, t.complement, t.cancelled_at IS NULL
FROM unnest(%s::bigint[]) AS k(dossier_id)
CROSS JOIN LATERAL (SELECT * FROM titre WHERE titre.dossier_id = k.dossier_id OFFSET 0) AS t
"""
_INSERT_TITRES = """
INSERT INTO titre (exercice, budget, numero, complement, dossier_id, created_at)
SELECT %(exercice)s, %(budget)s, n, %(complement)s, d, %(at)s
FROM unnest(%(numeros)s::bigint[], %(dossiers)s::bigint[]) AS t(n, d)
RETURNING id, dossier_id
"""
_INSERT_LOT = """
INSERT INTO lot (finess_geo, numero, organisme, exercice, created_at, b2_file, invoices, total, total_amo)
VALUES (%s, %s, %s, %s, %s, '', %s, %s, %s) RETURNING id
"""
_NAME_LOT = "UPDATE lot SET b2_file = %s WHERE id = %s"  # the name holds the lot's id
_RETIRE_INVOICES = """
UPDATE invoice SET current = false
WHERE ctid = ANY(ARRAY(
    SELECT i.ctid FROM unnest(%s::bigint[]) AS k(dossier_id)
    CROSS JOIN LATERAL (SELECT ctid FROM invoice WHERE invoice.dossier_id = k.dossier_id AND current OFFSET 0) AS i))
"""
_COPY_INVOICES = "COPY invoice (dossier_id, titre_id, lot_id, total, total_amo, record_count, created_at) FROM STDIN"
_COPY_ANOMALIES = "COPY anomaly (dossier_id, code, severity, message, origin, at) FROM STDIN"
# The report's lines, until the run ends: `requested` is the N°'s rank in the request (0 for a run
# of every VALIDE dossier, whose report is in N° order), `seq` the order they came in.
_REPORT_TABLE = """
DROP TABLE IF EXISTS pg_temp.billing_report;
CREATE TEMP TABLE billing_report (requested integer NOT NULL, nda text NOT NULL, seq integer NOT NULL,
                                  line text NOT NULL) ON COMMIT DROP
"""
_COPY_REPORT = "COPY billing_report (requested, nda, seq, line) FROM STDIN"
_REPORT_IN_ORDER = "SELECT line FROM billing_report ORDER BY requested, nda, seq"


@dataclass(frozen=True, slots=True)
class ReportLine:
    nda: str
    generated: bool
    titre: str = ""
    complement: str = ""
    lot: str = ""
    b2_file: str = ""
    code: str = ""
    message: str = ""

    def render(self) -> str:
        status = "GENERE" if self.generated else "NON_GENERE"
        message = self.message.replace(";", ",")
        return f"DOS;{self.nda};{status};{self.titre};{self.complement};{self.lot};{self.b2_file};{self.code};{message}"


    @classmethod
    def parse(cls, text: str) -> "ReportLine":
        """The line `render` wrote (tests, and whoever reads a report back)."""
        _, nda, status, titre, complement, lot, b2_file, code, message = text.split(";", 8)
        return cls(nda, status == "GENERE", titre, complement, lot, b2_file, code, message)


@dataclass
class BillingResult:
    """What a run did; its report, B2 files and FACT_SYNT.TXT are queued as pending outputs."""

    generated: int = 0
    not_generated: int = 0
    lots: int = 0


class _Report:
    """The run's report, a few thousand lines in memory at most: the others wait in a temporary
    table, and the whole is queued, in order, as parts of one pending output."""

    BUFFER = 10_000  # lines kept before they are copied to the table
    PART = 20_000  # lines per part of the output

    def __init__(self, conn, result: BillingResult, requested: list[str] | None) -> None:
        self.conn, self.result = conn, result
        self.rank = {nda: i for i, nda in enumerate(requested or ())}
        self.lines: list[tuple[int, str, int, str]] = []
        self.seq = 0
        conn.execute(_REPORT_TABLE)

    def add(self, line: ReportLine) -> None:
        if line.generated:
            self.result.generated += 1
        else:
            self.result.not_generated += 1
        self.seq += 1
        self.lines.append((self.rank.get(line.nda, len(self.rank)), line.nda, self.seq, line.render()))
        if len(self.lines) >= self.BUFFER:
            self._flush()

    def _flush(self) -> None:
        with self.conn.cursor().copy(_COPY_REPORT) as copy:
            for row in self.lines:
                copy.write_row(row)
        self.lines = []

    def queue(self, path: str, file_id: int | None) -> None:
        """Queue the report as parts of the output `path`, in order (an empty file if no line)."""
        if not self.seq:
            self.conn.execute(sql.ADD_OUTPUT, (path, b"", file_id))
            return
        self._flush()
        with self.conn.cursor(name="billing_report") as cursor:
            cursor.execute(_REPORT_IN_ORDER)
            while rows := cursor.fetchmany(self.PART):
                part = "".join(line + "\n" for line, in rows).encode("utf-8")
                self.conn.execute(sql.ADD_OUTPUT, (path, part, file_id))


class _Held(NamedTuple):
    """The titres a chunk's dossiers already hold: {dossier_id: (titre_id, numero, complement)} of
    the active ones, and the dossiers that ever held one (cancelled included)."""

    active: dict[int, tuple[int, int, str]]
    titled: frozenset[int]


class _Waiting(NamedTuple):
    """An invoice numbered and rendered, waiting for its lot to close."""

    titre: int
    body: str  # its B2 records, CRLF-terminated
    records: int
    dossier_id: int
    titre_id: int
    nda: str
    complement: str
    total: Decimal
    total_amo: Decimal
    synthesis: tuple[str, str]  # its FACT_SYNT line around the lot's fields


def _refuse(report: _Report, nda: str, code: str, detail: str = "") -> None:
    label = CODES[code].label
    report.add(ReportLine(nda, False, code=code, message=f"{label} {detail}".strip()))


def _select(conn, config: Config, requested: list[str], report: _Report) -> list[int]:
    """The requested dossiers that may be billed, locked; the others are reported."""
    rows = conn.execute(_REQUESTED, (config.finess, requested)).fetchall()
    found = {nda for _, nda, *_ in rows}
    for nda in requested:
        if nda not in found:
            _refuse(report, nda, "DOS003")
    candidates = {}
    for dossier_id, nda, state, never_b2, billable in rows:
        if never_b2:
            _refuse(report, nda, "DOS002")
        elif state != dossiers.VALIDE:
            _refuse(report, nda, "LOT001", f"(état {dossiers.STATE_NAMES[state]})")
        elif billable is not True:
            _refuse(report, nda, "LOT005")
        else:
            candidates[dossier_id] = nda
    locked = [r[0] for r in conn.execute(_LOCK_REQUESTED, (sql.int_array(candidates),))]
    for dossier_id in set(candidates) - set(locked):
        _refuse(report, candidates[dossier_id], "LOT002")
    return locked


def _valide_chunks(conn) -> Iterator[list[int]]:
    """Every billable VALIDE dossier, locked a chunk at a time, in id order."""
    after = 0
    while True:
        ids = [r[0] for r in conn.execute(_VALIDE_CHUNK, {"after": after, "limit": CHUNK})]
        if not ids:
            return
        yield ids
        after = ids[-1]


class _Run:
    """One billing run in the caller's transaction: chunks in, lots out."""

    def __init__(self, conn, config: Config, tree: Tree, actor: str, now: dt.datetime,
                 file_id: int | None, report: _Report) -> None:
        self.conn, self.config, self.tree, self.now, self.file_id = conn, config, tree, now, file_id
        self.report, self.result = report, report.result
        self.budget = config["establishment.budget_code"]
        self.lot_size = config["billing.lot_size"]
        self.local = now.astimezone().replace(tzinfo=None)
        self.cause = dossiers.Cause(actor, file_id, None, "facturation B2")
        self.open: dict[tuple[str, str, int], list[_Waiting]] = {}  # lots filling, by (geo, organisme, exercice)
        self.synthesis = tree.relative(tree.reports / "FACT_SYNT.TXT")

    def held(self, ids: list[int]) -> _Held:
        rows = self.conn.execute(_TITRES, (sql.int_array(ids),), prepare=False).fetchall()
        return _Held({d: (t, n, c) for d, t, n, c, active in rows if active}, frozenset(r[0] for r in rows))

    def apply(self, valued: list[Valued], held: _Held) -> None:
        """A chunk valued: referential errors sent back, the others numbered, invoiced, FACTURE."""
        errors = {v.dossier_id: (v.nda, *v.problem) for v in valued if v.problem}
        if errors:
            self._send_back(errors)
        numbered = self._number([v for v in valued if not v.problem], held.active)
        if numbered:
            ids = [v.dossier_id for v, _, _ in numbered]
            billed_before = [i for i in ids if i in held.titled]  # a first billing has nothing to retire
            if billed_before:
                self.conn.execute(_RETIRE_INVOICES, (sql.int_array(billed_before),), prepare=False)
            self._invoice(numbered)
            dossiers.change(self.conn, ids, "facturation", self.cause, self.now, locked_in=dossiers.VALIDE)

    def finish(self) -> None:
        for key in sorted(self.open):
            self._close(key, self.open.pop(key))

    # --- a chunk ------------------------------------------------------------------------------

    def _send_back(self, errors: dict[int, tuple[str, str, str]]) -> None:
        ids = sorted(errors)
        dossiers.change(self.conn, ids, "erreur_referentiel", self.cause, self.now,
                        values={"last_code": [errors[i][1] for i in ids]}, locked_in=dossiers.VALIDE)
        with self.conn.cursor().copy(_COPY_ANOMALIES) as copy:
            for dossier_id in ids:
                nda, code, text = errors[dossier_id]
                copy.write_row((dossier_id, code, CODES[code].severity, text, "billing", self.now))
                self.report.add(ReportLine(nda, False, code=code, message=text))

    def _number(self, ready: list[Valued], held: dict[int, tuple[int, int, str]]) -> list[tuple[Valued, int, int]]:
        """Keep the titre a dossier already holds (ARL négatif, MANAGEREJECT C); number the others,
        consecutively per exercice, in dossier order. Returns (valued, titre_id, numero) of those
        with a titre: when the range of an exercice is exhausted, its dossiers stay VALIDE,
        reported LOT004 (billed once the range in fides.toml is widened), and the others are billed."""
        config, conn = self.config, self.conn
        numbered = [(v, *held[v.dossier_id][:2]) for v in ready if v.dossier_id in held]
        by_exercice: dict[int, list[Valued]] = {}
        for v in ready:
            if v.dossier_id not in held:
                by_exercice.setdefault(v.exercice, []).append(v)
        for exercice, group in sorted(by_exercice.items()):
            try:
                numbers = numbering.allocate_titres(conn, exercice, self.budget, len(group),
                                                    config["numbering.titre_first"], config["numbering.titre_last"])
            except numbering.RangeExhausted as exc:  # raised before the counter moves
                for v in group:
                    _refuse(self.report, v.nda, "LOT004", f"({exc})")
                continue
            ids = dict((d, t) for t, d in conn.execute(_INSERT_TITRES, {
                "exercice": exercice, "budget": self.budget, "complement": numbering.complement(exercice, self.budget),
                "at": self.now, "numeros": sql.int_array(numbers), "dossiers": sql.int_array(v.dossier_id for v in group)}))
            numbered += [(v, ids[v.dossier_id], numero) for v, numero in zip(group, numbers)]
        return numbered

    def _invoice(self, numbered: list[tuple[Valued, int, int]]) -> None:
        """Number each invoice into its group's open lot; close the lots that fill up."""
        for v, titre_id, titre in sorted(numbered, key=lambda n: n[2]):
            key = (v.finess_geo, v.organisme, v.exercice)
            waiting = self.open.setdefault(key, [])
            waiting.append(_Waiting(titre, b2.numbered(v.invoice, titre), v.invoice.count(b2.NUMBER),
                                    v.dossier_id, titre_id, v.nda, v.complement, v.total, v.total_amo,
                                    (b2.synthesis_head(v.nda, titre, v.complement, v.finess_geo), v.synthesis_tail)))
            if len(waiting) >= self.lot_size:
                self._close(key, self.open.pop(key))

    # --- lots ---------------------------------------------------------------------------------

    def _close(self, key: tuple[str, str, int], invoices: list[_Waiting]) -> None:
        """Number the lot, write its row and its invoices', queue its B2 file and its part of
        FACT_SYNT.TXT, report its invoices: all commit with the run."""
        geo, organisme, exercice = key
        conn = self.conn
        invoices.sort(key=lambda w: w.titre)
        total = sum((w.total for w in invoices), Decimal(0))
        total_amo = sum((w.total_amo for w in invoices), Decimal(0))
        numero = numbering.allocate_lot(conn, geo)
        lot_id = conn.execute(_INSERT_LOT, (geo, numero, organisme, exercice, self.now, len(invoices), total,
                                            total_amo)).fetchone()[0]
        name = f"B2_{geo}_{self.local:%Y%m%d%H%M%S}_{lot_id % 10000:04d}.b2"
        conn.execute(_NAME_LOT, (name, lot_id))
        header = b2.LotHeader(self.config.finess, geo, numero, organisme, exercice, self.local, lot_id % 100000)
        content = b2.lot_file(header, [w.body for w in invoices], sum(w.records for w in invoices), total, total_amo)
        # a pending output whose content is staged now, put in place once the run commits
        conn.execute(sql.ADD_STAGED_OUTPUT, (self.tree.relative(self.tree.b2 / name), self.file_id,
                                             self.tree.stage(content)))
        with conn.cursor().copy(_COPY_INVOICES) as copy:  # numbers and a timestamp: nothing to escape
            tail = f"\t{self.now.isoformat()}\n"
            copy.write("".join(f"{w.dossier_id}\t{w.titre_id}\t{lot_id}\t{w.total}\t{w.total_amo}\t{w.records}{tail}"
                               for w in invoices))
        lot = f"{numero:03d}"
        for w in invoices:
            self.report.add(ReportLine(w.nda, True, f"{w.titre:09d}", w.complement, lot, name))
        lot_fields = b2.synthesis_lot_fields(header)
        synthesis = "".join(b2.synthesis_in_lot(w.synthesis, lot_fields, name) + "\r\n" for w in invoices)
        conn.execute(sql.ADD_OUTPUT, (self.synthesis, synthesis.encode("latin-1"), self.file_id))
        self.result.lots += 1


def bill(conn: psycopg.Connection, config: Config, refs, tree: Tree, actor: str, now: dt.datetime,
         report_path: Path, requested: list[str] | None = None, file_id: int | None = None,
         empty_report: bool = True) -> BillingResult:
    """Bill the requested N° administratifs (None = every VALIDE dossier) in the caller's
    transaction. The B2 files, FACT_SYNT.TXT and the report (at `report_path`; when it would be
    empty, only if `empty_report`) are queued as pending outputs of `file_id` in that transaction,
    the B2 files' contents staged under out/.staging (fides.engine.tree.Tree.stage)."""
    result = BillingResult()
    conn.execute(_ONE_RUN_AT_A_TIME)
    # alone to stage B2 files now: those no committed row names are a dead or rolled-back run's
    tree.sweep_staging({name for name, in conn.execute(sql.STAGED_OUTPUTS)})
    report = _Report(conn, result, requested)
    with dossier_data.gc_paused():
        run = _Run(conn, config, tree, actor, now, file_id, report)
        if requested is None:
            chunks = _valide_chunks(conn)
        else:
            ids = _select(conn, config, requested, report)
            chunks = (ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK))
        valuers = _valuers(conn, config, refs, now, requested is None)
        try:
            waiting: deque = deque()  # (held titres, pending result) of the chunks handed out, in order
            for ids in chunks:
                held = run.held(ids)
                waiting.append((held, valuers.submit(ids, {d: h[2] for d, h in held.active.items()})))
                if len(waiting) > valuers.ahead:
                    _apply_next(run, waiting)
            while waiting:
                _apply_next(run, waiting)
        finally:
            valuers.close()
        run.finish()
    if result.lots:
        tree.sync_staging()  # the staged lots' names are durable before the caller commits
    if empty_report or result.generated or result.not_generated:
        report.queue(tree.relative(report_path), file_id)
    log.info("billing: %d invoice(s) in %d lot(s), %d not generated", result.generated, result.lots,
             result.not_generated)
    return result


def _valuers(conn, config: Config, refs, now: dt.datetime, everything: bool):
    """Helper processes for a large run of every VALIDE dossier (`billing.workers` > 1), this
    process valuing the first chunk while they start; else this process."""
    here = InProcess(conn, Valuer.of(conn, config, refs, now))
    workers = config["billing.workers"]
    if everything and workers > 1:
        if conn.execute(_BILLABLE_COUNT, {"limit": PARALLEL_FROM}).fetchone()[0] >= PARALLEL_FROM:
            return Helpers(conn, config, now, workers, here)
    return here


def _apply_next(run: "_Run", waiting: deque) -> None:
    held, pending = waiting.popleft()
    run.apply(pending.result(), held)

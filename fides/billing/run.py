"""A billing run: VALIDE dossiers become invoices with a titre, grouped in lots, one B2 file per
lot, in one transaction (the caller's).

Who may be billed: VALIDE dossiers, billable in B2, never flagged by CANCELPAIDREQUEST. A
referential error found now (UM without FINESS géographique, no tariff at the date…) sends the
dossier back to EN_COURS with its anomaly, as DEFIS did.

The run streams: dossiers are locked, read, valued, numbered and rendered a chunk at a time, and
each invoice waits in the open lot of its (FINESS géographique, organisme, exercice) as its B2
records. A lot that reaches `billing.lot_size` is closed at once, the others when the run ends
(in group order): closing numbers the lot, writes its row and its invoices, and queues its B2
file as a pending output in the caller's transaction (written to disk after commit, like every
output: fides.engine.process). So memory holds one chunk and the open lots, not the B2 files;
only the report and FACT_SYNT.TXT (a short line per dossier, returned to the caller) grow with
the run. Lots, titres, invoices, state changes and files commit together or not at all.

Billing runs take turns (a transaction-level advisory lock): a run locks the counters it needs
(titres per exercice, lots per FINESS géographique) in the order its data brings them, so two
runs at once could lock them in opposite orders and deadlock. In practice they waited for each
other anyway: a titre waits for the commit of the run holding its exercice's counter.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import psycopg

from fides import dossiers
from fides.billing import b2, numbering
from fides.billing.valorisation import REFERENTIAL_ERROR_CODES, Valorisation, valorise
from fides.config import Config
from fides.engine.tree import Tree
from fides.engine.validation import billing_params
from fides.errors import CODES
from fides.store import dossier_data, sql
from fides.validation import DossierData, ValidationContext

log = logging.getLogger(__name__)

CHUNK = 2000  # dossiers per chunk

_ONE_RUN_AT_A_TIME = "SELECT pg_advisory_xact_lock(hashtext('fides-billing'))"
# Keyset walk on ix_dossier_valide (id WHERE state = 1): a chunk never re-reads the previous ones.
_VALIDE_CHUNK = """
SELECT id FROM dossier WHERE state = 1 AND NOT never_b2 AND billable_b2 IS TRUE AND id > %(after)s
ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
"""
_REQUESTED = "SELECT id, nda, state, never_b2, billable_b2 FROM dossier WHERE finess = %s AND nda = ANY(%s)"
_LOCK_REQUESTED = "SELECT id FROM dossier WHERE id = ANY(%s) AND state = 1 ORDER BY id FOR UPDATE SKIP LOCKED"
_ACTIVE_TITRES = """
SELECT dossier_id, id, numero, complement FROM titre
WHERE dossier_id = ANY(%s) AND cancelled_at IS NULL
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
_RETIRE_INVOICES = "UPDATE invoice SET current = false WHERE dossier_id = ANY(%s) AND current"
_COPY_INVOICES = "COPY invoice (dossier_id, titre_id, lot_id, total, total_amo, record_count, created_at) FROM STDIN"
_COPY_ANOMALIES = "COPY anomaly (dossier_id, code, severity, message, origin, at) FROM STDIN"


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


@dataclass
class BillingResult:
    report: list[ReportLine] = field(default_factory=list)
    # FACT_SYNT.TXT; the B2 files are already queued as pending outputs, one per lot, as it closed
    outputs: list[tuple[Path, bytes]] = field(default_factory=list)
    lots: int = 0


@dataclass(slots=True)
class _Ready:
    dossier_id: int
    data: DossierData
    valorisation: Valorisation
    finess_geo: str
    organisme: str
    exercice: int
    titre_id: int = 0
    titre: int = 0
    complement: str = ""


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


def _refuse(result: BillingResult, nda: str, code: str, detail: str = "") -> None:
    label = CODES[code].label
    result.report.append(ReportLine(nda, False, code=code, message=f"{label} {detail}".strip()))


def _select(conn, config: Config, requested: list[str], result: BillingResult) -> list[int]:
    """The requested dossiers that may be billed, locked; the others are reported."""
    rows = conn.execute(_REQUESTED, (config.finess, requested)).fetchall()
    found = {nda for _, nda, *_ in rows}
    for nda in requested:
        if nda not in found:
            _refuse(result, nda, "DOS003")
    candidates = {}
    for dossier_id, nda, state, never_b2, billable in rows:
        if never_b2:
            _refuse(result, nda, "DOS002")
        elif state != dossiers.VALIDE:
            _refuse(result, nda, "LOT001", f"(état {dossiers.STATE_NAMES[state]})")
        elif billable is not True:
            _refuse(result, nda, "LOT005")
        else:
            candidates[dossier_id] = nda
    locked = [r[0] for r in conn.execute(_LOCK_REQUESTED, (list(candidates),))]
    for dossier_id in set(candidates) - set(locked):
        _refuse(result, candidates[dossier_id], "LOT002")
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

    def __init__(self, conn, config: Config, refs, tree: Tree, actor: str, now: dt.datetime,
                 file_id: int | None, result: BillingResult) -> None:
        self.conn, self.config, self.tree, self.now, self.file_id = conn, config, tree, now, file_id
        self.result = result
        self.ums = dossier_data.UnitesMedicales(conn, config.finess)
        self.ctx = ValidationContext(billing_params(config), refs, self.ums.finess_geo, now.date(),
                                     self.ums.type_autorisation)
        self.closed = frozenset(config["numbering.closed_exercices"])
        self.budget = config["establishment.budget_code"]
        self.lot_size = config["billing.lot_size"]
        self.local = now.astimezone().replace(tzinfo=None)
        self.cause = dossiers.Cause(actor, file_id, None, "facturation B2")
        self.open: dict[tuple[str, str, int], list[_Waiting]] = {}  # lots filling, by (geo, organisme, exercice)
        self.synthesis: list[str] = []  # FACT_SYNT.TXT, one text per lot

    def chunk(self, ids: list[int]) -> None:
        ready, errors = self._prepare(dossier_data.load(self.conn, ids))
        if errors:
            self._send_back(errors)
        if ready:
            ready = self._number(ready)
        if ready:
            self.conn.execute(_RETIRE_INVOICES, ([r.dossier_id for r in ready],), prepare=False)
            self._invoice(ready)
            dossiers.change(self.conn, [r.dossier_id for r in ready], "facturation", self.cause, self.now)

    def finish(self) -> None:
        for key in sorted(self.open):
            self._close(key, self.open.pop(key))
        if self.synthesis:
            self.result.outputs.append((self.tree.reports / "FACT_SYNT.TXT",
                                        "".join(self.synthesis).encode("latin-1")))

    # --- a chunk ------------------------------------------------------------------------------

    def _prepare(self, data: dict[int, DossierData]) -> tuple[list[_Ready], dict[int, tuple[str, str, str]]]:
        """Value each dossier; returns those ready and those with a referential error
        (nda, code, text)."""
        ready, errors = [], {}
        ctx, today = self.ctx, self.now.date()
        for dossier_id in sorted(data):
            d = data[dossier_id]
            v = valorise(d, ctx)
            last_rum = d.rums[-1] if d.rums else {}
            geo = v.finess_geo or self.ums.finess_geo(last_rum.get("num_um", ""), last_rum.get("date_entree_um"))
            problem = None
            if geo is None:
                problem = ("LOT003", f"UM {last_rum.get('num_um', '?')}")
            elif v.findings:
                referential = [f for f in v.findings if f.code in REFERENTIAL_ERROR_CODES]
                blocking = referential[0] if referential else next((f for f in v.findings if f.blocking), None)
                if blocking is not None:
                    problem = (blocking.code, blocking.text())
            if problem is not None:
                errors[dossier_id] = (d.nda, *problem)
                continue
            vh = d.vidhosp
            organisme = f"{vh['code_grand_regime']}{vh['caisse_gestionnaire']}{vh['centre_gestionnaire']:<4}"
            exercice = numbering.exercice_of(vh["date_sortie"], today, self.closed)
            ready.append(_Ready(dossier_id, d, v, geo, organisme, exercice))
        return ready, errors

    def _send_back(self, errors: dict[int, tuple[str, str, str]]) -> None:
        ids = sorted(errors)
        dossiers.change(self.conn, ids, "erreur_referentiel", self.cause, self.now,
                        values={"last_code": [errors[i][1] for i in ids]})
        with self.conn.cursor().copy(_COPY_ANOMALIES) as copy:
            for dossier_id in ids:
                nda, code, text = errors[dossier_id]
                copy.write_row((dossier_id, code, CODES[code].severity, text, "billing", self.now))
                self.result.report.append(ReportLine(nda, False, code=code, message=text))

    def _number(self, ready: list[_Ready]) -> list[_Ready]:
        """Keep the titre a dossier already holds (ARL négatif, MANAGEREJECT C); number the others,
        consecutively per exercice, in dossier order. Returns those with a titre: when the range of
        an exercice is exhausted, its dossiers stay VALIDE, reported LOT004 (billed once the range
        in fides.toml is widened), and the others are billed."""
        config, conn = self.config, self.conn
        held = {r[0]: r[1:] for r in conn.execute(_ACTIVE_TITRES, ([r.dossier_id for r in ready],), prepare=False)}
        by_exercice: dict[int, list[_Ready]] = {}
        for r in ready:
            if r.dossier_id in held:
                r.titre_id, r.titre, r.complement = held[r.dossier_id]
            else:
                by_exercice.setdefault(r.exercice, []).append(r)
        for exercice, group in sorted(by_exercice.items()):
            try:
                numbers = numbering.allocate_titres(conn, exercice, self.budget, len(group),
                                                    config["numbering.titre_first"], config["numbering.titre_last"])
            except numbering.RangeExhausted as exc:  # raised before the counter moves
                for r in group:
                    _refuse(self.result, r.data.nda, "LOT004", f"({exc})")
                continue
            complement = numbering.complement(exercice, self.budget)
            for r, numero in zip(group, numbers):
                r.titre, r.complement = numero, complement
            ids = dict((d, t) for t, d in conn.execute(_INSERT_TITRES, {
                "exercice": exercice, "budget": self.budget, "complement": complement, "at": self.now,
                "numeros": list(numbers), "dossiers": [r.dossier_id for r in group]}))
            for r in group:
                r.titre_id = ids[r.dossier_id]
        return [r for r in ready if r.titre_id]

    def _invoice(self, ready: list[_Ready]) -> None:
        """Render each invoice into its group's open lot; close the lots that fill up."""
        for r in sorted(ready, key=lambda r: r.titre):
            key = (r.finess_geo, r.organisme, r.exercice)
            v = r.valorisation
            inv = b2.Invoice(r.titre, r.complement, r.finess_geo, r.data.vidhosp, v)
            records = b2.invoice_records(inv)
            waiting = self.open.setdefault(key, [])
            waiting.append(_Waiting(r.titre, "".join(line + b2.EOL for line in records), len(records),
                                    r.dossier_id, r.titre_id, r.data.nda, r.complement, v.total, v.total_amo,
                                    b2.synthesis_parts(r.data.nda, inv)))
            if len(waiting) >= self.lot_size:
                self._close(key, self.open.pop(key))

    # --- lots ---------------------------------------------------------------------------------

    def _close(self, key: tuple[str, str, int], invoices: list[_Waiting]) -> None:
        """Number the lot, write its row and its invoices' and queue its B2 file: all commit
        with the run. Its report and FACT_SYNT lines are written now."""
        geo, organisme, exercice = key
        conn, result = self.conn, self.result
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
        # a pending output, as Processor.queue_outputs records one: written once the run commits
        conn.execute(sql.ADD_OUTPUT, (self.tree.relative(self.tree.b2 / name), content, self.file_id))
        with conn.cursor().copy(_COPY_INVOICES) as copy:
            for w in invoices:
                copy.write_row((w.dossier_id, w.titre_id, lot_id, w.total, w.total_amo, w.records, self.now))
        lot = f"{numero:03d}"
        result.report.extend(ReportLine(w.nda, True, f"{w.titre:09d}", w.complement, lot, name) for w in invoices)
        self.synthesis.append("".join(b2.synthesis_in_lot(w.synthesis, header, name) + "\r\n" for w in invoices))
        result.lots += 1


def bill(conn: psycopg.Connection, config: Config, refs, tree: Tree, actor: str, now: dt.datetime,
         requested: list[str] | None = None, file_id: int | None = None) -> BillingResult:
    """Bill the requested N° administratifs (None = every VALIDE dossier) in the caller's
    transaction. The B2 files are queued as pending outputs of `file_id` in that transaction;
    `outputs` holds FACT_SYNT.TXT for the caller to queue."""
    result = BillingResult()
    conn.execute(_ONE_RUN_AT_A_TIME)
    with dossier_data.gc_paused():
        run = _Run(conn, config, refs, tree, actor, now, file_id, result)
        if requested is None:
            chunks = _valide_chunks(conn)
        else:
            ids = _select(conn, config, requested, result)
            chunks = (ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK))
        for ids in chunks:
            run.chunk(ids)
        run.finish()
    order = {nda: i for i, nda in enumerate(requested or [])}
    result.report.sort(key=lambda r: (order.get(r.nda, len(order)), r.nda))
    generated = sum(1 for r in result.report if r.generated)
    log.info("billing: %d invoice(s) in %d lot(s), %d not generated", generated, result.lots,
             len(result.report) - generated)
    return result


def render_report(result: BillingResult) -> bytes:
    return "".join(line.render() + "\n" for line in result.report).encode("utf-8")

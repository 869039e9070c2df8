"""A billing run: VALIDE dossiers become invoices with a titre, grouped in lots, one B2 file per
lot, in one transaction (the caller's); the B2 files and reports are returned as outputs that the
caller writes after commit.

Who may be billed: VALIDE dossiers, billable in B2, never flagged by CANCELPAIDREQUEST. A
referential error found now (UM without FINESS géographique, no tariff at the date…) sends the
dossier back to EN_COURS with its anomaly, as DEFIS did.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import psycopg

from fides import dossiers
from fides.billing import b2, numbering
from fides.billing.valorisation import REFERENTIAL_ERROR_CODES, Valorisation, valorise
from fides.config import Config
from fides.engine.tree import Tree
from fides.engine.validation import billing_params
from fides.errors import CODES
from fides.store import dossier_data
from fides.validation import ValidationContext

log = logging.getLogger(__name__)

_ALL_VALIDE = """
SELECT id, nda FROM dossier WHERE state = 1 AND NOT never_b2 AND billable_b2 IS TRUE
ORDER BY id FOR UPDATE SKIP LOCKED
"""
_REQUESTED = "SELECT id, nda, state, never_b2, billable_b2 FROM dossier WHERE finess = %s AND nda = ANY(%s)"
_LOCK_REQUESTED = "SELECT id FROM dossier WHERE id = ANY(%s) AND state = 1 FOR UPDATE SKIP LOCKED"
_ACTIVE_TITRES = """
SELECT dossier_id, id, numero, complement, exercice FROM titre
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
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id
"""
_RETIRE_INVOICES = "UPDATE invoice SET current = false WHERE dossier_id = ANY(%s) AND current"
_COPY_INVOICES = "COPY invoice (dossier_id, titre_id, lot_id, total, total_amo, record_count, created_at) FROM STDIN"
_ANOMALY = """
INSERT INTO anomaly (dossier_id, code, severity, message, origin, at) VALUES (%s, %s, %s, %s, 'billing', %s)
"""
_LAST_CODE = "UPDATE dossier SET last_code = %s WHERE id = %s"


@dataclass(frozen=True)
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
    outputs: list[tuple[Path, bytes]] = field(default_factory=list)
    synthesis: list[str] = field(default_factory=list)
    lots: int = 0


@dataclass
class _Ready:
    dossier_id: int
    nda: str
    data: object
    valorisation: Valorisation
    finess_geo: str
    organisme: str
    exercice: int
    titre_id: int = 0
    titre: int = 0
    complement: str = ""


def _refuse(result: BillingResult, nda: str, code: str, detail: str = "") -> None:
    label = CODES[code].label
    result.report.append(ReportLine(nda, False, code=code, message=f"{label} {detail}".strip()))


def _select(conn, config: Config, requested: list[str] | None, result: BillingResult) -> dict[int, str]:
    if requested is None:
        return dict(conn.execute(_ALL_VALIDE).fetchall())
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
    locked = {r[0] for r in conn.execute(_LOCK_REQUESTED, (list(candidates),))}
    for dossier_id, nda in list(candidates.items()):
        if dossier_id not in locked:
            _refuse(result, nda, "LOT002")
            del candidates[dossier_id]
    return candidates


def _prepare(conn, config: Config, refs, candidates: dict[int, str], now: dt.datetime) -> tuple[list[_Ready], dict[int, tuple[str, str]]]:
    """Value each dossier; returns those ready and those with a referential error (code, text)."""
    ums = dossier_data.UnitesMedicales(conn, config.finess)
    ctx = ValidationContext(billing_params(config), refs, ums.finess_geo, now.date(), ums.type_autorisation)
    closed = frozenset(config["numbering.closed_exercices"])
    ready, errors = [], {}
    for dossier_id, data in sorted(dossier_data.load(conn, list(candidates)).items()):
        v = valorise(data, ctx)
        referential = [f for f in v.findings if f.code in REFERENTIAL_ERROR_CODES]
        last_rum = data.rums[-1] if data.rums else {}
        geo = v.finess_geo or ums.finess_geo(last_rum.get("num_um", ""), last_rum.get("date_entree_um"))
        if geo is None:
            errors[dossier_id] = ("LOT003", f"UM {last_rum.get('num_um', '?')}")
        elif referential:
            errors[dossier_id] = (referential[0].code, referential[0].text())
        elif any(f.blocking for f in v.findings):
            blocking = next(f for f in v.findings if f.blocking)
            errors[dossier_id] = (blocking.code, blocking.text())
        else:
            vh = data.vidhosp
            organisme = f"{vh['code_grand_regime']}{vh['caisse_gestionnaire']}{vh['centre_gestionnaire']:<4}"
            exercice = numbering.exercice_of(vh["date_sortie"], now.date(), closed)
            ready.append(_Ready(dossier_id, data.nda, data, v, geo, organisme, exercice))
    return ready, errors


def _number(conn, config: Config, ready: list[_Ready], now: dt.datetime) -> None:
    """Keep the titre a dossier already holds (ARL négatif, MANAGEREJECT C); number the others."""
    budget = config["establishment.budget_code"]
    held = {r[0]: r[1:] for r in conn.execute(_ACTIVE_TITRES, ([r.dossier_id for r in ready],))}
    by_exercice: dict[int, list[_Ready]] = defaultdict(list)
    for r in ready:
        if r.dossier_id in held:
            r.titre_id, r.titre, r.complement, _ = held[r.dossier_id]
        else:
            by_exercice[r.exercice].append(r)
    for exercice, group in sorted(by_exercice.items()):
        numbers = numbering.allocate_titres(conn, exercice, budget, len(group), config["numbering.titre_first"],
                                            config["numbering.titre_last"])
        complement = numbering.complement(exercice, budget)
        for r, numero in zip(group, numbers):
            r.titre, r.complement = numero, complement
        ids = dict((d, t) for t, d in conn.execute(_INSERT_TITRES, {
            "exercice": exercice, "budget": budget, "complement": complement, "at": now,
            "numeros": list(numbers), "dossiers": [r.dossier_id for r in group]}))
        for r in group:
            r.titre_id = ids[r.dossier_id]


def _lots(conn, config: Config, tree: Tree, ready: list[_Ready], now: dt.datetime, result: BillingResult) -> None:
    groups: dict[tuple[str, str, int], list[_Ready]] = defaultdict(list)
    for r in ready:
        groups[(r.finess_geo, r.organisme, r.exercice)].append(r)
    size = config["billing.lot_size"]
    local = now.astimezone().replace(tzinfo=None)
    invoice_rows = []
    for (geo, organisme, exercice), members in sorted(groups.items()):
        members.sort(key=lambda r: r.titre)
        for start in range(0, len(members), size):
            chunk = members[start:start + size]
            numero = numbering.allocate_lot(conn, geo)
            total = sum((r.valorisation.total for r in chunk), Decimal(0))
            total_amo = sum((r.valorisation.total_amo for r in chunk), Decimal(0))
            lot_id = conn.execute(_INSERT_LOT, (geo, numero, organisme, exercice, now, "", len(chunk), total,
                                                total_amo)).fetchone()[0]
            name = f"B2_{geo}_{local:%Y%m%d%H%M%S}_{lot_id % 10000:04d}.b2"
            header = b2.LotHeader(config.finess, geo, numero, organisme, exercice, local, lot_id % 100000)
            invoices = [b2.Invoice(r.titre, r.complement, geo, r.data.vidhosp, r.valorisation) for r in chunk]
            content, records = b2.render_lot(header, invoices)
            conn.execute("UPDATE lot SET b2_file = %s WHERE id = %s", (name, lot_id))
            for r, count in zip(chunk, records):
                invoice_rows.append((r.dossier_id, r.titre_id, lot_id, r.valorisation.total,
                                     r.valorisation.total_amo, count, now))
                result.report.append(ReportLine(r.nda, True, f"{r.titre:09d}", r.complement, f"{numero:03d}", name))
                result.synthesis.append(b2.synthesis_line(r.nda, header, name, b2.Invoice(
                    r.titre, r.complement, geo, r.data.vidhosp, r.valorisation)))
            result.outputs.append((tree.b2 / name, content))
            result.lots += 1
    with conn.cursor().copy(_COPY_INVOICES) as copy:
        for row in invoice_rows:
            copy.write_row(row)


def bill(conn: psycopg.Connection, config: Config, refs, tree: Tree, actor: str, now: dt.datetime,
         requested: list[str] | None = None, file_id: int | None = None) -> BillingResult:
    """Bill the requested N° administratifs (None = every VALIDE dossier) in the caller's transaction."""
    result = BillingResult()
    candidates = _select(conn, config, requested, result)
    if candidates:
        _bill(conn, config, refs, tree, actor, now, candidates, file_id, result)
    order = {nda: i for i, nda in enumerate(requested or [])}
    result.report.sort(key=lambda r: (order.get(r.nda, len(order)), r.nda))
    if result.synthesis:
        result.outputs.append((tree.reports / "FACT_SYNT.TXT", ("\r\n".join(result.synthesis) + "\r\n").encode("latin-1")))
    log.info("billing: %d invoice(s) in %d lot(s), %d not generated", len(result.synthesis), result.lots,
             sum(1 for r in result.report if not r.generated))
    return result


def _bill(conn, config: Config, refs, tree: Tree, actor: str, now: dt.datetime, candidates: dict[int, str],
          file_id: int | None, result: BillingResult) -> None:
    ready, errors = _prepare(conn, config, refs, candidates, now)
    cause = dossiers.Cause(actor, file_id, None, "facturation B2")
    if errors:
        dossiers.change(conn, sorted(errors), "erreur_referentiel", cause, now)
        for dossier_id, (code, text) in errors.items():
            severity = CODES[code].severity
            conn.execute(_ANOMALY, (dossier_id, code, severity, text, now))
            conn.execute(_LAST_CODE, (code, dossier_id))
            result.report.append(ReportLine(candidates[dossier_id], False, code=code, message=text))
    if ready:
        _number(conn, config, ready, now)
        conn.execute(_RETIRE_INVOICES, ([r.dossier_id for r in ready],))
        _lots(conn, config, tree, ready, now, result)
        dossiers.change(conn, [r.dossier_id for r in ready], "facturation", cause, now)


def render_report(result: BillingResult) -> bytes:
    return "".join(line.render() + "\n" for line in result.report).encode("utf-8")

"""Acknowledging a B2 lot: NOEMIE 930 (raw) and NOEMIEARLNEGATIF (hand-built) share this.

Positive ARL: recorded on the lot, nothing else (FAQ §5.8: "aucun traitement"). Negative ARL: the
lot is void; every dossier whose current invoice is in it goes back to VALIDE and keeps its titre,
so the next billing sends the same titre again in a new lot (FAQ §5.11, SVCDC L3762).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg

from fides import dossiers
from fides.errors import Finding
from fides.returns import queries as q
from fides.returns.rules import NEGATIF, POSITIF, LotRow, decide_ack, lot_label, pick_lot
from fides.store import sql


@dataclass(frozen=True)
class Ack:
    """One acknowledgement to apply, whatever flow it came from."""

    line_no: int
    numero: int
    day: dt.date | None
    finess_geo: str | None
    positive: bool
    code: str = ""
    organisme: str | None = None  # NOEMIEARLNEGATIF names it; checked against the lot


def find(conn: psycopg.Connection, ack: Ack) -> LotRow | None:
    rows = conn.execute(q.LOTS_NUMBERED, {"numero": ack.numero, "geo": ack.finess_geo}).fetchall()
    return pick_lot([LotRow(*r) for r in rows], ack.day)


def apply(conn: psycopg.Connection, source: str, ack: Ack, cause: dossiers.Cause, at: dt.datetime) -> list[Finding]:
    """Apply one acknowledgement; returns its findings (empty when applied without remark)."""
    lot = find(conn, ack)
    label = lot_label(ack.numero, ack.day, ack.finess_geo)
    verdict = decide_ack(source, ack.positive, lot, ack.line_no, label, ack.organisme)
    if not verdict.apply:
        return [verdict.finding]
    status = POSITIF if ack.positive else NEGATIF
    conn.execute(q.RECORD_ARL, {"status": status, "at": at, "code": ack.code or None, "id": lot.id})
    if ack.positive:
        return []
    invoices = conn.execute(q.LOT_INVOICES, (lot.id,)).fetchall()
    by_dossier = {dossier_id: (invoice_id, nda) for invoice_id, dossier_id, nda in invoices}
    result = dossiers.change(conn, list(by_dossier), "arl_negatif", cause, at)
    conn.execute(q.RETIRE_INVOICES, (sql.int_array(by_dossier[d][0] for d in result.changed),))
    refused_code = "RET006" if source == "noemie" else "CTL004"
    return [
        Finding(refused_code, f"{label} : dossier {by_dossier[d][1]} à l'état {dossiers.STATE_NAMES[state]}, "
                              "FACTURE attendu (non remis VALIDE)", ack.line_no)
        for d, state in sorted(result.refused.items())
    ]

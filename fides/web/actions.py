"""The only writes of the dashboard: MANAGEREJECT A or C from a button on a REJETE dossier.

They follow the MANAGEREJECT flow step by step (`fides.returns.control._action_line`), with the
same pieces: the same decision (`fides.returns.rules.decide_action` with `ACTIONS`), the same
statements (`fides.returns.queries`: SUBJECT, CANCEL_TITRES, RETIRE_DOSSIER_INVOICES) and the
state machine's `fides.dossiers.change`, so the trail says the same thing whether the clerk drops
a MANAGEREJECT file or clicks. `_action_line` itself reads a flow line of a FileJob (file id, line
number, the file's actor), hence this thin twin for a request without a file; the audit actor is
`web:<user name>`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg

from fides import dossiers
from fides.returns import queries as rq
from fides.returns.rules import ACTIONS, Subject, decide_action
from fides.web import queries as q
from fides.web.privacy import scrub

TRIGGERS = {"A": "managereject_annulation", "C": "managereject_confirmation"}


@dataclass(frozen=True)
class Outcome:
    applied: bool
    code: str | None  # CTL/DOS code when refused (same codes as the MANAGEREJECT flow)
    message: str
    state: str | None = None  # state after the action


def manage_reject(conn: psycopg.Connection, finess: str, nda: str, action: str, user: str, motif: str,
                  at: dt.datetime) -> Outcome:
    """Apply MANAGEREJECT `action` ('A' or 'C') to the dossier `nda`, in the caller's transaction."""
    if action not in TRIGGERS:
        return Outcome(False, "FMT006", f"action {action!r} inconnue (A ou C)")
    row = conn.execute(q.LOCK_DOSSIER, {"finess": finess, "nda": nda}).fetchone()
    if row is None:
        return Outcome(False, "DOS003", f"dossier {nda} inconnu")
    subject = Subject(*conn.execute(rq.SUBJECT, (row[0],)).fetchone())
    rule = ACTIONS[("MANAGEREJECT", action)]
    verdict = decide_action(rule, subject, 0)
    if not verdict.apply:
        return Outcome(False, verdict.finding.code, verdict.finding.text(),
                       dossiers.STATE_NAMES[subject.state])
    motif = scrub(" ".join((motif or "").split()))[:80]
    detail = " ".join(p for p in ("MANAGEREJECT", action, motif, "(tableau de bord)") if p)
    cause = dossiers.Cause(actor=f"web:{user}", detail=detail)
    result = dossiers.change(conn, [subject.dossier_id], rule.trigger, cause, at)
    if subject.dossier_id in result.refused:
        state = dossiers.STATE_NAMES[result.refused[subject.dossier_id]]
        return Outcome(False, "CTL004", f"dossier {nda} à l'état {state}", state)
    if rule.trigger == "managereject_annulation":
        conn.execute(rq.CANCEL_TITRES, {"at": at, "ids": [subject.dossier_id]})
    conn.execute(rq.RETIRE_DOSSIER_INVOICES, ([subject.dossier_id],))
    to_state = dossiers.STATE_NAMES[result.changed[subject.dossier_id][1]]
    return Outcome(True, None, f"dossier {nda} : {rule.label} ; nouvel état {to_state}", to_state)

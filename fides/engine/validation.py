"""The validation sweep: dossiers touched since they last entered EN_COURS are validated by the
pure rules; those that pass go to VALIDE (locked), the others keep their anomalies."""

from __future__ import annotations

import datetime as dt
import logging

import psycopg

from fides import dossiers
from fides.billing.params import BillingParams
from fides.config import Config
from fides.store import dossier_data
from fides.errors import Finding
from fides.validation import ValidationContext, Verdict, validate

log = logging.getLogger(__name__)

BATCH = 2000

_PENDING = """
SELECT id FROM dossier
WHERE to_validate AND state = 0 AND last_flow_at <= %(before)s {only}
ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
"""
_EXPLICIT = "SELECT id FROM dossier WHERE state = 0 AND nda = ANY(%s) ORDER BY id FOR UPDATE SKIP LOCKED"
_NEVER_B2 = "SELECT id FROM dossier WHERE id = ANY(%s) AND never_b2"
_RETIRE_ANOMALIES = "UPDATE anomaly SET active = false WHERE dossier_id = ANY(%s) AND active AND origin = 'validation'"
_COPY_ANOMALIES = "COPY anomaly (dossier_id, code, severity, message, origin, at) FROM STDIN"
_VERDICTS = """
UPDATE dossier d SET to_validate = false, billable_b2 = v.billable, extract_reason = v.reason,
       last_code = v.code
FROM (SELECT unnest(%(ids)s::bigint[]) AS id, unnest(%(billable)s::boolean[]) AS billable,
             unnest(%(reasons)s::text[]) AS reason, unnest(%(codes)s::text[]) AS code) v
WHERE d.id = v.id
"""


def billing_params(config: Config) -> BillingParams:
    return BillingParams(
        finess=config.finess,
        date_bascule=config["establishment.date_bascule"],
        budget_code=config["establishment.budget_code"],
        tjp=config["billing.tjp"],
        tjc=config["billing.tjc"],
        coefficient_mco=config["billing.coefficient_mco"],
        coefficient_geographique=config["billing.coefficient_geographique"],
        tolerance=config["billing.tolerance"],
        closed_exercices=frozenset(config["numbering.closed_exercices"]),
    )


def sweep(conn: psycopg.Connection, config: Config, refs, actor: str, now: dt.datetime,
          ndas: list[str] | None = None) -> dict[str, int]:
    """Validate pending dossiers (or the named ones) in batches; returns counts."""
    counts = {"valides": 0, "en_anomalie": 0, "hors_b2": 0}
    with conn.transaction():
        ums = dossier_data.UnitesMedicales(conn, config.finess)
    ctx = ValidationContext(billing_params(config), refs, ums.finess_geo, now.date(), ums.type_autorisation)
    quiet = dt.timedelta(minutes=config["validation.quiet_minutes"])
    while True:
        with conn.transaction():
            if ndas is not None:
                ids = [r[0] for r in conn.execute(_EXPLICIT, (ndas,))]
            else:
                ids = [r[0] for r in conn.execute(_PENDING.format(only=""),
                                                  {"before": now - quiet, "limit": BATCH})]
            if not ids:
                break
            _validate_batch(conn, ids, ctx, actor, now, counts)
        if ndas is not None:
            break
    return counts


def _validate_batch(conn, ids, ctx, actor, now, counts) -> None:
    data = dossier_data.load(conn, ids)
    never_b2 = {r[0] for r in conn.execute(_NEVER_B2, (ids,))}
    valid, billable, reasons, codes = [], [], [], []
    conn.execute(_RETIRE_ANOMALIES, (ids,))
    with conn.cursor().copy(_COPY_ANOMALIES) as copy:
        for dossier_id in ids:
            verdict = validate(data[dossier_id], ctx)
            if dossier_id in never_b2:  # paid then cancelled: PMSI rectification only
                verdict = Verdict(verdict.findings + (Finding("DOS002"),), False, "DOS002")
            for f in verdict.findings:
                copy.write_row((dossier_id, f.code, f.severity, f.text(), "validation", now))
            billable.append(verdict.billable_b2 and not verdict.blocking)
            reasons.append(verdict.extract_only_reason)
            codes.append(next((f.code for f in verdict.findings if f.blocking), None)
                         or (verdict.findings[0].code if verdict.findings else None))
            if verdict.blocking and dossier_id not in never_b2:
                counts["en_anomalie"] += 1
            elif not verdict.billable_b2:
                counts["hors_b2"] += 1
            else:
                valid.append(dossier_id)
    conn.execute(_VERDICTS, {"ids": ids, "billable": billable, "reasons": reasons, "codes": codes})
    if valid:
        dossiers.change(conn, valid, "validation", dossiers.Cause(actor, detail="validation"), now)
        counts["valides"] += len(valid)


def after_pass(processor) -> None:
    """Hook run after every inbox pass."""
    counts = sweep(processor.conn, processor.config, processor.context["refs"], processor.actor,
                   dt.datetime.now(dt.timezone.utc))
    if any(counts.values()):
        log.info("validation: %(valides)d validated, %(en_anomalie)d with anomalies, "
                 "%(hors_b2)d not billable in B2", counts)

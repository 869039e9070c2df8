"""The validation sweep: dossiers touched since they last entered EN_COURS are validated by the
pure rules; those that pass go to VALIDE (locked), the others keep their anomalies.

The sweep walks the pending dossiers in id order, a batch per transaction: each batch is locked,
read with one query, validated in memory, and its results written with a fixed number of
statements (anomalies COPYed, one UPDATE for the verdicts, one state change), whatever its size.

A large backlog (a year re-integrated) is shared by `validation.workers` processes: the others are
helpers (fides.helpers) with their own connection, walking the same pending dossiers; a batch is
locked SKIP LOCKED, so each dossier is validated by exactly one of them. A process that fails
loses only its open batch (rolled back, still pending: the next sweep takes it).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from concurrent.futures import Future, ProcessPoolExecutor

import psycopg

from fides import dossiers, helpers
from fides.billing.params import BillingParams
from fides.config import Config
from fides.errors import Finding
from fides.store import dossier_data, sql
from fides.store.db import helper_dsn
from fides.validation import FIELDS_VALIDATED, ValidationContext, Verdict, validate

log = logging.getLogger(__name__)

BATCH = 2000
BATCHES_EACH = 4  # a backlog shared by several processes: at least this many batches each (_batch)
PARALLEL_FROM = 5_000  # pending dossiers from which helper processes are worth their start (~0.3 s)
ANALYZE_FROM = 30_000  # pending dossiers from which fresh statistics pay for themselves (_analyze)

# Keyset walk: `id > after` on the partial index ix_dossier_pending (id WHERE to_validate), so a
# batch never re-reads the rows the previous ones handled.
_PENDING = """
SELECT id, never_b2 FROM dossier
WHERE to_validate AND state = 0 AND last_flow_at <= %(before)s AND id > %(after)s
ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
"""
_PENDING_COUNT = """
SELECT count(*) FROM (SELECT 1 FROM dossier WHERE to_validate AND state = 0 AND last_flow_at <= %(before)s
                      LIMIT %(limit)s) AS p
"""
_EXPLICIT = "SELECT id, never_b2 FROM dossier WHERE state = 0 AND nda = ANY(%s) ORDER BY id FOR UPDATE SKIP LOCKED"
# Batch statements on `= ANY(%s)` or an unnest are run unprepared (see fides.dossiers.change); an
# UPDATE joining an unnest repeats its ids (see fides.store.sql.BY_IDS).
_RETIRE_ANOMALIES = "UPDATE anomaly SET active = false WHERE dossier_id = ANY(%s::bigint[]) AND active AND origin = 'validation'"
_COPY_ANOMALIES = "COPY anomaly (dossier_id, code, severity, message, origin, at) FROM STDIN"
_VERDICTS = """
UPDATE dossier d SET to_validate = false, billable_b2 = v.billable, extract_reason = v.reason,
       last_code = v.code
FROM unnest(%(ids)s::bigint[], %(billable)s::boolean[], %(reasons)s::text[], %(codes)s::text[])
     AS v(id, billable, reason, code)
WHERE d.id = v.id AND d.id = ANY(%(ids)s::bigint[])
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
    pool, running = None, []
    pending = _pending(conn, config, now) if ndas is None else 0
    if pending >= ANALYZE_FROM:
        _analyze(conn)
    batch = BATCH
    if pending >= PARALLEL_FROM and config["validation.workers"] > 1:
        batch = _batch(pending, config["validation.workers"])
        pool, running = _start_helpers(conn, config, actor, now, batch)
    counts = _sweep(conn, config, refs, actor, now, ndas, batch)
    for counted in _join(pool, running):
        counts.update(counted)
    return dict(counts)


def _pending(conn, config: Config, now: dt.datetime) -> int:
    """The dossiers pending, counted up to the largest threshold (a few ms for a large backlog)."""
    limit = {"before": now - _quiet(config), "limit": max(PARALLEL_FROM, ANALYZE_FROM)}
    return conn.execute(_PENDING_COUNT, limit).fetchone()[0]


def _batch(pending: int, processes: int) -> int:
    """Dossiers per batch for a backlog shared by `processes`: BATCH, or less when that would
    give fewer than BATCHES_EACH batches each. The sweep ends with its last batch: 10 000 dossiers
    in 5 batches of 2 000 left one process validating the fifth alone, the other one idle
    (0.352 s); in 8 of 1 250, 0.328 s (medians of 10 alternating runs, the same CPU). `pending` is
    counted up to ANALYZE_FROM: a larger backlog keeps BATCH."""
    return min(BATCH, max(1, -(-pending // (processes * BATCHES_EACH))))


def _analyze(conn) -> None:
    """Statistics of `dossier` before a large sweep, on a connection of its own. Right after a
    large file (autovacuum analyzes a minute later at best) the planner believed a few dozen
    dossiers were pending and read every pending dossier, then sorted them, for each batch of
    2 000 (100 000 dossiers: 0.46 s of the walk's 52 queries, growing with the square of the
    backlog); with statistics it reads the batch in id order from the index (0.09 s). ANALYZE
    takes 0.05-0.06 s: below ANALYZE_FROM pending dossiers the walk costs less than that (10 000:
    ~6 ms). A table busy with another ANALYZE or vacuum is skipped; a failure only costs that
    time (the sweep goes on)."""
    try:
        with psycopg.connect(helper_dsn(conn), autocommit=True, application_name="fides-validation") as own:
            own.execute(sql.ANALYZE_DOSSIERS)
    except psycopg.Error as exc:
        log.warning("validation: statistics of the dossiers before the sweep failed (%s)", type(exc).__name__)


def _start_helpers(conn, config: Config, actor: str, now: dt.datetime,
                   batch: int) -> tuple[ProcessPoolExecutor, list[Future]]:
    """Helper processes for a large backlog, each running a whole sweep, given the connection's
    parameters through a pipe (its password never on a command line), as billing's helpers."""
    workers = config["validation.workers"] - 1
    pool = ProcessPoolExecutor(workers, mp_context=helpers.CONTEXT)
    return pool, [pool.submit(_helper, helper_dsn(conn), config, actor, now, batch) for _ in range(workers)]


def _helper(dsn: str, config: Config, actor: str, now: dt.datetime,
            batch: int) -> tuple[Counter, tuple[int, float]]:
    """A helper process: the same sweep on its own connection; its counts go back to the parent,
    with what it used (fides.helpers.usage)."""
    from fides.store import referentials

    with psycopg.connect(dsn, autocommit=True, application_name="fides-validation") as conn:
        counts = _sweep(conn, config, referentials.read(conn), actor, now, None, batch)
    return counts, helpers.usage()


def _join(pool: ProcessPoolExecutor | None, running: list[Future]) -> list[Counter]:
    """The helpers' counts, once their processes have ended: a sweep leaves no process behind."""
    counted = []
    for helper in running:
        try:
            counts, used = helper.result()
            helpers.account(*used)
            counted.append(counts)
        except Exception as exc:  # its open batch was rolled back: those dossiers stay pending
            log.error("validation helper process failed: %s", exc)
    if pool is not None:
        pool.shutdown(wait=True)
    return counted


def _quiet(config: Config) -> dt.timedelta:
    return dt.timedelta(minutes=config["validation.quiet_minutes"])


def _sweep(conn, config: Config, refs, actor: str, now: dt.datetime, ndas: list[str] | None,
           batch: int) -> Counter:
    counts = Counter({"valides": 0, "en_anomalie": 0, "hors_b2": 0})
    with conn.transaction():
        ums = dossier_data.UnitesMedicales(conn, config.finess)
    ctx = ValidationContext(billing_params(config), refs, ums.finess_geo, now.date(), ums.type_autorisation)
    cause = dossiers.Cause(actor, detail="validation")
    quiet = _quiet(config)
    after = 0
    with dossier_data.gc_paused():
        while True:
            with conn.transaction():
                if ndas is not None:
                    locked = conn.execute(_EXPLICIT, (ndas,)).fetchall()
                else:
                    locked = conn.execute(_PENDING, {"before": now - quiet, "after": after, "limit": batch}).fetchall()
                if not locked:
                    break
                _validate_batch(conn, locked, ctx, cause, now, counts)
            if ndas is not None:
                break
            after = locked[-1][0]
    return counts


def _code(verdict: Verdict) -> str | None:
    """The code shown for a dossier: its first blocking finding, else its first finding."""
    return next((f.code for f in verdict.findings if f.blocking), None) or (
        verdict.findings[0].code if verdict.findings else None)


def _validate_batch(conn, locked: list[tuple[int, bool]], ctx, cause: dossiers.Cause, now, counts) -> None:
    ids = [dossier_id for dossier_id, _ in locked]
    data = dossier_data.load(conn, ids, FIELDS_VALIDATED)
    valid, valid_codes = [], []
    others, billable, reasons, codes = [], [], [], []  # verdicts of the dossiers staying EN_COURS
    conn.execute(_RETIRE_ANOMALIES, (sql.int_array(ids),), prepare=False)
    with conn.cursor().copy(_COPY_ANOMALIES) as copy:
        for dossier_id, never_b2 in locked:
            verdict = validate(data[dossier_id], ctx)
            if never_b2:  # paid then cancelled: PMSI rectification only
                verdict = Verdict(verdict.findings + (Finding("DOS002"),), False, "DOS002")
            for f in verdict.findings:
                copy.write_row((dossier_id, f.code, f.severity, f.text(), "validation", now))
            if verdict.blocking and not never_b2:
                counts["en_anomalie"] += 1
            elif not verdict.billable_b2:
                counts["hors_b2"] += 1
            else:
                valid.append(dossier_id)
                valid_codes.append(_code(verdict))
                continue
            others.append(dossier_id)
            billable.append(False)
            reasons.append(verdict.extract_only_reason)
            codes.append(_code(verdict))
    if valid:
        # billable, no exclusion: the verdict is written by the state change's UPDATE (locked
        # EN_COURS by _PENDING or _EXPLICIT, none can be refused)
        dossiers.change(conn, valid, "validation", cause, now, values={
            "billable_b2": [True] * len(valid), "extract_reason": [None] * len(valid), "last_code": valid_codes},
            locked_in=dossiers.EN_COURS)
        counts["valides"] += len(valid)
    if others:
        conn.execute(_VERDICTS, {"ids": sql.int_array(others), "billable": billable, "reasons": reasons, "codes": codes},
                     prepare=False)


def after_pass(processor) -> None:
    """Hook run after every inbox pass."""
    counts = sweep(processor.conn, processor.config, processor.context["refs"], processor.actor,
                   dt.datetime.now(dt.timezone.utc))
    if any(counts.values()):
        log.info("validation: %(valides)d validated, %(en_anomalie)d with anomalies, "
                 "%(hors_b2)d not billable in B2", counts)

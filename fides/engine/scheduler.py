"""The scheduled jobs of `fides run` (DESIGN.md §8): B2 generation at set times, the monthly
EXTRACTEPMSI of the month before, a validation sweep, retention.

Once per period, whatever the number of processes: a run claims its period in PostgreSQL
(`INSERT INTO job_run … ON CONFLICT DO NOTHING`) in the same transaction as its effects. Two
processes claiming the same period serialise on the key; the second sees the first's row once it
commits and does nothing; if the first dies or fails, its claim vanishes with its transaction and
the period may be run again. A failed run leaves an `ECHEC` row (for `fides status`) that the next
attempt may take over; a successful one is never repeated.

After downtime: when the service starts, and whenever a job fires, the periods due since the
job's last successful run are caught up, once each: billing, validation and retention only the
latest missed one (running them again for each missed slot would do nothing more), the monthly
extract every missed month. A job that never ran starts with its latest period.

Periods are in local time: a billing slot `2025-03-25T07:00`, an extract month `2025-02`, a
validation slot `2025-03-25T10:45`, a retention day `2025-03-25T03:30`. Every function takes
`now` explicitly; APScheduler only decides when to look (apscheduler 3, one worker thread with
its own database connection, so the inbox loop never waits for a billing run).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import traceback
from dataclasses import dataclass
from typing import Callable

import psycopg

from fides.config import Config
from fides.engine.tree import Tree

log = logging.getLogger(__name__)

SLOT = "%Y-%m-%dT%H:%M"
FAILED = "ECHEC"

CLAIM = """
INSERT INTO job_run (job, period, claimed_by, started_at) VALUES (%(job)s, %(period)s, %(by)s, %(at)s)
ON CONFLICT (job, period) DO UPDATE
   SET claimed_by = EXCLUDED.claimed_by, started_at = EXCLUDED.started_at, finished_at = NULL, outcome = NULL
   WHERE job_run.outcome LIKE 'ECHEC%%'
RETURNING job
"""
FINISH = "UPDATE job_run SET finished_at = %(at)s, outcome = %(outcome)s WHERE job = %(job)s AND period = %(period)s"
RECORD_FAILURE = """
INSERT INTO job_run (job, period, claimed_by, started_at, finished_at, outcome)
VALUES (%(job)s, %(period)s, %(by)s, %(started)s, %(at)s, %(outcome)s)
ON CONFLICT (job, period) DO UPDATE
   SET claimed_by = EXCLUDED.claimed_by, started_at = EXCLUDED.started_at,
       finished_at = EXCLUDED.finished_at, outcome = EXCLUDED.outcome
   WHERE job_run.outcome LIKE 'ECHEC%%'
"""
LAST_DONE = "SELECT max(period) FROM job_run WHERE job = %s AND outcome NOT LIKE 'ECHEC%%'"
LAST_RUNS = """
SELECT DISTINCT ON (job) job, period, claimed_by, started_at, finished_at, outcome
FROM job_run ORDER BY job, period DESC
"""


def local(now: dt.datetime) -> dt.datetime:
    """`now` (aware) as a naive local time: periods follow the establishment's clock."""
    return now.astimezone().replace(tzinfo=None)


def parse_time(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


# --- calendars (pure) --------------------------------------------------------------------------

@dataclass(frozen=True)
class Daily:
    """Slots at fixed local times every day; catch-up: the latest missed slot only."""

    times: tuple[dt.time, ...]

    def latest(self, at: dt.datetime) -> dt.datetime:
        day = at.date()
        slots = [dt.datetime.combine(d, t) for d in (day - dt.timedelta(days=1), day) for t in self.times]
        return max(s for s in slots if s <= at)

    def due(self, last: str | None, at: dt.datetime) -> list[str]:
        period = self.latest(at).strftime(SLOT)
        return [period] if last is None or period > last else []

    def next_after(self, at: dt.datetime) -> dt.datetime:
        day = at.date()
        return min(s for d in (day, day + dt.timedelta(days=1)) for t in self.times
                   if (s := dt.datetime.combine(d, t)) > at)

    def describe(self) -> str:
        return "chaque jour à " + ", ".join(f"{t:%H:%M}" for t in sorted(self.times))

    def triggers(self) -> list:
        from apscheduler.triggers.cron import CronTrigger

        return [CronTrigger(hour=t.hour, minute=t.minute) for t in sorted(set(self.times))]


def _month(period: str) -> tuple[int, int] | None:
    try:
        year, month = (int(p) for p in period.split("-"))
    except (ValueError, AttributeError):
        return None
    return (year, month) if 1 <= month <= 12 else None


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


@dataclass(frozen=True)
class Monthly:
    """The month before, on the 1st at a local time; period = the month concerned (`AAAA-MM`);
    catch-up: every missed month, once."""

    at: dt.time

    def due_at(self, year: int, month: int) -> dt.datetime:
        y, m = _next_month(year, month)
        return dt.datetime.combine(dt.date(y, m, 1), self.at)

    def latest(self, at: dt.datetime) -> tuple[int, int]:
        candidate = _previous_month(at.year, at.month)
        return candidate if self.due_at(*candidate) <= at else _previous_month(*candidate)

    def due(self, last: str | None, at: dt.datetime) -> list[str]:
        latest = self.latest(at)
        start = _month(last) if last else None
        month = _next_month(*start) if start else latest
        periods = []
        while month <= latest:
            periods.append(f"{month[0]:04d}-{month[1]:02d}")
            month = _next_month(*month)
        return periods

    def next_after(self, at: dt.datetime) -> dt.datetime:
        return self.due_at(at.year, at.month) if self.due_at(*_previous_month(at.year, at.month)) <= at \
            else self.due_at(*_previous_month(at.year, at.month))

    def describe(self) -> str:
        return f"le 1er de chaque mois à {self.at:%H:%M} (mois précédent)"

    def triggers(self) -> list:
        from apscheduler.triggers.cron import CronTrigger

        return [CronTrigger(day=1, hour=self.at.hour, minute=self.at.minute)]


@dataclass(frozen=True)
class Every:
    """Every N minutes from local midnight; catch-up: the latest slot only."""

    minutes: int

    def latest(self, at: dt.datetime) -> dt.datetime:
        midnight = dt.datetime.combine(at.date(), dt.time())
        elapsed = int((at - midnight).total_seconds() // 60)
        return midnight + dt.timedelta(minutes=elapsed - elapsed % self.minutes)

    def due(self, last: str | None, at: dt.datetime) -> list[str]:
        period = self.latest(at).strftime(SLOT)
        return [period] if last is None or period > last else []

    def next_after(self, at: dt.datetime) -> dt.datetime:
        following = self.latest(at) + dt.timedelta(minutes=self.minutes)
        tomorrow = dt.datetime.combine(at.date() + dt.timedelta(days=1), dt.time())
        return min(following, tomorrow)

    def describe(self) -> str:
        return f"toutes les {self.minutes} min"

    def triggers(self) -> list:
        from apscheduler.triggers.interval import IntervalTrigger

        return [IntervalTrigger(minutes=self.minutes)]


# --- jobs ----------------------------------------------------------------------------------

# An action runs inside the claiming transaction and returns the outcome to record and, if any,
# what to do once that transaction has committed (write the outputs it queued).
Action = Callable[["Scheduler", psycopg.Connection, str, dt.datetime], "tuple[str, Callable[[], None] | None]"]


@dataclass(frozen=True)
class Job:
    name: str
    label: str
    calendar: Daily | Monthly | Every
    action: Action


def _billing(s: "Scheduler", conn: psycopg.Connection, period: str, now: dt.datetime):
    from fides.billing.run import bill
    from fides.engine.process import Processor

    processor = Processor(s.config, conn, s.context)
    report = processor.tree.reports / f"FACTURATION_{s.config.finess}_{now.astimezone():%Y%m%d%H%M%S}.arl"
    result = bill(conn, s.config, s.context["refs"], processor.tree, s.actor, now, report, empty_report=False)
    outcome = f"OK {result.generated} facture(s) dans {result.lots} lot(s), {result.not_generated} non générée(s)"
    return outcome, lambda: processor.write_outputs(None)


def _extract(s: "Scheduler", conn: psycopg.Connection, period: str, now: dt.datetime):
    import fides.flows  # noqa: F401  (the flow modules, registered in order)
    from fides.returns import extract_epmsi

    year, month = _month(period)
    extract = extract_epmsi.export(conn, s.config.finess, s.tree, year, month, now)
    return f"OK {extract.dossiers} dossier(s) : {extract.path.name}", None


def _validation(s: "Scheduler", conn: psycopg.Connection, period: str, now: dt.datetime):
    from fides.engine import validation

    counts = validation.sweep(conn, s.config, s.context["refs"], s.actor, now)
    return (f"OK {counts['valides']} validé(s), {counts['en_anomalie']} en anomalie, "
            f"{counts['hors_b2']} hors B2"), None


def _retention(s: "Scheduler", conn: psycopg.Connection, period: str, now: dt.datetime):
    from fides.engine import retention

    sealed = s.seal_leftovers()
    report = retention.run(conn, s.config, s.tree, s.actor, now)
    if sealed:
        report.notes.append(f"archives_chiffrees={sealed}")
    return f"OK {report.summary()}", None


def jobs_from(config: Config) -> list[Job]:
    """The jobs the configuration switches on, in the order they are caught up at start."""
    jobs = []
    if config["schedule.extract_epmsi"]:
        jobs.append(Job("extract_epmsi", "EXTRACTEPMSI mensuel",
                        Monthly(parse_time(config["schedule.extract_epmsi"])), _extract))
    if config["schedule.validation_minutes"]:
        jobs.append(Job("validation", "balayage de validation", Every(config["schedule.validation_minutes"]),
                        _validation))
    if config["schedule.billing"]:
        jobs.append(Job("billing", "génération B2", Daily(tuple(parse_time(t) for t in config["schedule.billing"])),
                        _billing))
    if config["schedule.retention"]:
        jobs.append(Job("retention", "rétention et purge", Daily((parse_time(config["schedule.retention"]),)),
                        _retention))
    return jobs


def last_runs(conn: psycopg.Connection) -> dict[str, tuple]:
    """job -> (period, claimed_by, started_at, finished_at, outcome) of its latest period."""
    with conn.transaction():
        return {row[0]: row[1:] for row in conn.execute(LAST_RUNS)}


# --- the scheduler -------------------------------------------------------------------------

class Scheduler:
    """Runs the configured jobs once per period. `connect` gives the scheduler its own
    connection (autocommit, as `fides.store.db.connect` makes them)."""

    def __init__(self, config: Config, context: dict, connect: Callable[[], psycopg.Connection],
                 actor: str | None = None, jobs: list[Job] | None = None) -> None:
        from fides.engine.process import actor as process_actor

        self.config = config
        self.context = context
        self._connect = connect
        self.actor = actor or process_actor()
        self.jobs = {j.name: j for j in (jobs_from(config) if jobs is None else jobs)}
        self.tree = Tree(config.root, config["security.file_mode"], config["security.dir_mode"])
        self.conn: psycopg.Connection | None = None
        self._aps = None

    def connection(self) -> psycopg.Connection:
        if self.conn is None or self.conn.closed:
            self.conn = self._connect()
        if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.conn.rollback()  # our own blocks are explicit: anything left open is stale
        return self.conn

    def _drop_connection(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # already broken
                pass
        self.conn = None

    # --- what is due, and running it -----------------------------------------------------

    def due(self, name: str, now: dt.datetime) -> list[str]:
        conn = self.connection()
        with conn.transaction():
            last = conn.execute(LAST_DONE, (name,)).fetchone()[0]
        return self.jobs[name].calendar.due(last, local(now))

    def run_due(self, name: str, now: dt.datetime) -> list[tuple[str, str]]:
        """Run the job's due periods (oldest first); returns (period, outcome) of those this
        process ran (a period claimed by another process is skipped)."""
        done = []
        for period in self.due(name, now):
            outcome = self.run_period(name, period, now)
            if outcome is not None:
                done.append((period, outcome))
        return done

    def run_period(self, name: str, period: str, now: dt.datetime) -> str | None:
        """Claim and run one period in one transaction; None when another process has it."""
        job = self.jobs[name]
        conn = self.connection()
        started = time.monotonic()
        try:
            with conn.transaction():
                claimed = conn.execute(CLAIM, {"job": name, "period": period, "by": self.actor, "at": now}).fetchone()
                if claimed is None:
                    return None
                outcome, after_commit = job.action(self, conn, period, now)
                conn.execute(FINISH, {"job": name, "period": period, "outcome": outcome,
                                      "at": now + dt.timedelta(seconds=time.monotonic() - started)})
        except Exception as exc:  # recorded, and the period may be taken over by a later attempt
            return self._failed(name, period, now, started, exc)
        log.info("%s %s: %s", name, period, outcome)
        if after_commit is not None:
            try:
                after_commit()
            except Exception as exc:  # noqa: BLE001  committed: the next pass's recovery writes them
                log.error("%s %s: sorties non écrites (%s) ; elles le seront au prochain passage",
                          name, period, type(exc).__name__)
        return outcome

    def _failed(self, name: str, period: str, now: dt.datetime, started: float, exc: Exception) -> str:
        # The exception's class and where it happened (file, line, function), never its message
        # nor source lines: they may quote data.
        where = " < ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}"
                           for f in reversed(traceback.extract_tb(exc.__traceback__)[-4:]))
        log.error("%s %s: échec (%s) à %s", name, period, type(exc).__name__, where)
        outcome = f"{FAILED} {type(exc).__name__}"
        if isinstance(exc, psycopg.OperationalError):
            self._drop_connection()
            return outcome
        try:
            conn = self.connection()
            with conn.transaction():
                conn.execute(RECORD_FAILURE, {"job": name, "period": period, "by": self.actor, "started": now,
                                              "at": now + dt.timedelta(seconds=time.monotonic() - started),
                                              "outcome": outcome})
        except psycopg.Error:
            self._drop_connection()
        return outcome

    def catch_up(self, now: dt.datetime) -> dict[str, list[tuple[str, str]]]:
        """At start: every job's missed periods (see the module docstring)."""
        done = {}
        for name in self.jobs:
            done[name] = self._safely(name, now)
        return done

    def _safely(self, name: str, now: dt.datetime) -> list[tuple[str, str]]:
        try:
            return self.run_due(name, now)
        except psycopg.Error as exc:
            log.error("%s: base indisponible (%s) ; nouvel essai au prochain déclenchement", name, type(exc).__name__)
            self._drop_connection()
        except Exception as exc:  # noqa: BLE001  the service goes on; the period stays due
            log.error("%s: %s ; nouvel essai au prochain déclenchement", name, type(exc).__name__)
        return []

    def seal_leftovers(self) -> int:
        """Encrypt plaintext left in archive/ (a crash mid-archive, or encryption switched on)."""
        from fides.engine.archive import seal_leftovers

        policy = self.tree.policy
        if policy.archiver is None:
            return 0
        return seal_leftovers(self.tree.root / "archive", policy.archiver, self.tree.file_mode, policy.gid)

    # --- APScheduler -----------------------------------------------------------------------

    def fire(self, name: str) -> None:
        self._safely(name, dt.datetime.now(dt.timezone.utc))

    def _start_up(self) -> None:
        try:
            sealed = self.seal_leftovers()
            if sealed:
                log.info("archives: %d fichier(s) en clair chiffré(s)", sealed)
        except Exception as exc:  # noqa: BLE001 (reported, the service goes on; retried by retention)
            log.error("archives: chiffrement des fichiers en clair impossible (%s)", type(exc).__name__)
        self.catch_up(dt.datetime.now(dt.timezone.utc))

    def start(self) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        aps = BackgroundScheduler(executors={"default": ThreadPoolExecutor(1)},
                                  job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        for job in self.jobs.values():
            for i, trigger in enumerate(job.calendar.triggers()):
                aps.add_job(self.fire, trigger, args=[job.name], id=f"{job.name}-{i}", name=job.label)
        aps.add_job(self._start_up, "date", id="start-up", name="rattrapage au démarrage")
        aps.start()
        self._aps = aps
        for job in self.jobs.values():
            log.info("tâche planifiée : %s, %s", job.label, job.calendar.describe())

    def stop(self) -> None:
        if self._aps is not None:
            self._aps.shutdown(wait=True)  # a running job finishes its transaction
            self._aps = None
        self._drop_connection()


def status_lines(config: Config, conn: psycopg.Connection, now: dt.datetime) -> list[str]:
    """`fides status`: each scheduled job, its next time and its latest run (from job_run)."""
    jobs = {j.name: j for j in jobs_from(config)}
    runs = last_runs(conn)
    at = local(now)
    lines = ["tâches planifiées :"]
    for name in [*jobs, *sorted(set(runs) - set(jobs))]:
        job = jobs.get(name)
        if job is not None:
            lines.append(f"  {job.label:24} {job.calendar.describe()} ; prochaine le "
                         f"{job.calendar.next_after(at):%Y-%m-%d à %H:%M}")
        else:
            lines.append(f"  {name:24} désactivée")
        if name in runs:
            period, by, started, finished, outcome = runs[name]
            end = f" → {finished.astimezone():%H:%M:%S}" if finished else ""
            lines.append(f"      dernière : période {period}, {started.astimezone():%Y-%m-%d %H:%M:%S}{end} "
                         f"par {by} : {outcome or 'en cours'}")
        else:
            lines.append("      jamais exécutée")
    if len(lines) == 1:
        lines.append("  aucune")
    return lines

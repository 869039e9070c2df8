"""Retention: what fides keeps, and for how long, purged while it runs (DEFIS had to rebuild its
database to purge it). Ages come from `[retention]`; 0 keeps forever.

Files (deleted, never followed through links):
- `archive/AAAA/MM/`: a whole month goes once its last day is older than `archive_days`;
- `rejected/`, `out/arl/`, `out/reports/`: files older (mtime) than their age;
- temporary files left by a crash, in every output directory, after a day.
`out/b2/` is never purged: a lot must stay available until its ARL positif, and it is the invoice.

Database (conservative: nothing a current dossier line, a titre, a lot, an invoice, a return or
any other row references is deleted):
- a file older than `database_days` none of whose lines is still current loses its detailed
  errors (`file_error`) and its stored acknowledgement text;
- such a file's `flux_file` row itself is deleted only when the file was never applied (refused,
  duplicate, request) and nothing references it (any foreign key to `flux_file`, found in the
  catalogue so that new tables are covered, and every dossier line, current or not). The row of
  an applied file is kept whatever its age: its name and content hash are what makes a late
  re-drop of the same file a duplicate instead of a regression (exactly-once, DESIGN.md §2);
- `job_run` rows older than `database_days`, except each job's latest.

Audit trail: the oldest rows older than `audit_days` are deleted as one prefix of the chain, after
checking that prefix; the last deleted row's id and hash become the anchor (`audit_anchor`) from
which `fides audit verify` checks, attested by a `purge_journal` event appended to the chain.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql as psql

from fides import audit
from fides.config import Config
from fides.engine.tree import ARCHIVE, TEMP_PREFIX, Tree
from fides.store import sql

log = logging.getLogger(__name__)

TEMP_MAX_AGE = dt.timedelta(days=1)


@dataclass
class Report:
    files: dict[str, int] = field(default_factory=dict)  # kind -> files deleted
    rows: dict[str, int] = field(default_factory=dict)  # what -> rows deleted or cleared
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{k}={v}" for k, v in {**self.files, **self.rows}.items() if v]
        return ", ".join(parts + self.notes) or "rien à purger"


def _cutoff(now: dt.datetime, days: int) -> dt.datetime | None:
    return now - dt.timedelta(days=days) if days > 0 else None


# --- files -----------------------------------------------------------------------------------

def _unlink_old(directory: Path, before: float, keep=lambda name: False) -> int:
    """Delete the non-directory entries of `directory` whose mtime is before `before` (epoch)."""
    count = 0
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return 0
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        if stat.S_ISDIR(st.st_mode) or keep(entry.name) or st.st_mtime >= before:
            continue
        try:
            os.unlink(entry.path)
            count += 1
        except FileNotFoundError:
            pass
    return count


def _month_end(year: int, month: int) -> dt.datetime:
    return dt.datetime(year + (month == 12), month % 12 + 1, 1)


def purge_archive(tree: Tree, before_local: dt.datetime) -> int:
    """Delete the months of archive/AAAA/MM that ended before `before_local` (naive local)."""
    count = 0
    base = tree.root / ARCHIVE
    if not base.is_dir():
        return 0
    for year_dir in sorted(base.iterdir()):
        if not (year_dir.is_dir() and not year_dir.is_symlink() and year_dir.name.isdigit() and len(year_dir.name) == 4):
            continue
        for month_dir in sorted(year_dir.iterdir()):
            name = month_dir.name
            if not (month_dir.is_dir() and not month_dir.is_symlink() and name.isdigit() and len(name) == 2
                    and 1 <= int(name) <= 12):
                continue
            if _month_end(int(year_dir.name), int(name)) > before_local:
                continue
            count += _unlink_old(month_dir, float("inf"))
            _rmdir_quietly(month_dir)
        _rmdir_quietly(year_dir)
    return count


def _rmdir_quietly(directory: Path) -> None:
    try:
        directory.rmdir()
    except OSError:  # not empty (something unexpected in it, left for a human) or gone
        pass


def purge_files(tree: Tree, config: Config, now: dt.datetime) -> dict[str, int]:
    counts: dict[str, int] = {}
    local = now.astimezone().replace(tzinfo=None)
    if days := config["retention.archive_days"]:
        counts["archives"] = purge_archive(tree, local - dt.timedelta(days=days))
    for kind, directory, key in (("rejetes", tree.rejected, "retention.rejected_days"),
                                 ("arl", tree.arl, "retention.arl_days"),
                                 ("comptes_rendus", tree.reports, "retention.reports_days")):
        if days := config[key]:
            # temporary names are handled below, with their own (short) age
            counts[kind] = _unlink_old(directory, (now - dt.timedelta(days=days)).timestamp(),
                                       keep=lambda name: name.startswith(TEMP_PREFIX))
    temp_before = (now - TEMP_MAX_AGE).timestamp()
    temp = 0
    dirs = [tree.arl, tree.b2, tree.reports]
    base = tree.root / ARCHIVE
    if base.is_dir():
        dirs += [Path(d) for d, _, _ in os.walk(base)]
    for directory in dirs:
        temp += _unlink_old(directory, temp_before, keep=lambda name: not name.startswith(TEMP_PREFIX))
    counts["temporaires"] = temp
    return counts


# --- database ------------------------------------------------------------------------------

# An applied file already purged (kept, its text cleared, no error left) has nothing more to purge:
# it is left out before its lines are looked at. Otherwise every daily run walked again all the
# replaced lines of every file it had purged before (a file's lines are found by file, then
# filtered on `current`). OFFSET 0 keeps that cheap test first.
_OLD_FILES = """
CREATE TEMP TABLE purge_file ON COMMIT DROP AS
SELECT f.id, f.applied FROM (
  SELECT f.id, f.applied FROM flux_file f
  WHERE f.finished AND f.processed_at < %(before)s
    AND NOT (f.applied AND f.arl_text = '' AND NOT EXISTS (SELECT 1 FROM file_error e WHERE e.file_id = f.id))
  OFFSET 0
) f
WHERE NOT EXISTS (SELECT 1 FROM dossier_line l WHERE l.file_id = f.id AND l.current)
"""
_DROP_OLD_FILES = "DROP TABLE IF EXISTS purge_file"
_FILE_ERRORS = "DELETE FROM file_error e USING purge_file p WHERE e.file_id = p.id"
_ARL_TEXTS = "UPDATE flux_file f SET arl_text = '' FROM purge_file p WHERE f.id = p.id AND f.arl_text <> ''"
# Every foreign key that points at flux_file, whoever added its table.
_REFERENCES = """
SELECT n.nspname, t.relname, a.attname
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
WHERE c.contype = 'f' AND c.confrelid = 'flux_file'::regclass AND cardinality(c.conkey) = 1
ORDER BY 1, 2, 3
"""
_JOB_RUNS = """
DELETE FROM job_run j WHERE j.started_at < %(before)s
  AND j.period < (SELECT max(k.period) FROM job_run k WHERE k.job = j.job)
"""


def _delete_files_statement(conn: psycopg.Connection) -> psql.Composed:
    """DELETE of the never-applied old files that nothing references (foreign keys from the
    catalogue, plus dossier lines, which have none on purpose)."""
    clauses = [psql.SQL("NOT EXISTS (SELECT 1 FROM dossier_line l WHERE l.file_id = f.id)")]
    for schema, table, column in conn.execute(_REFERENCES).fetchall():
        clauses.append(psql.SQL("NOT EXISTS (SELECT 1 FROM {} r WHERE r.{} = f.id)").format(
            psql.Identifier(schema, table), psql.Identifier(column)))
    return psql.SQL("DELETE FROM flux_file f USING purge_file p WHERE f.id = p.id AND NOT p.applied AND {}").format(
        psql.SQL(" AND ").join(clauses))


def purge_database(conn: psycopg.Connection, config: Config, now: dt.datetime) -> dict[str, int]:
    """Purge old files' details in the caller's transaction; returns rows deleted or cleared."""
    counts: dict[str, int] = {}
    before = _cutoff(now, config["retention.database_days"])
    if before is None:
        return counts
    conn.execute(_DROP_OLD_FILES)
    conn.execute(_OLD_FILES, {"before": before})
    counts["erreurs_fichier"] = conn.execute(_FILE_ERRORS).rowcount
    counts["arl_en_base"] = conn.execute(_ARL_TEXTS).rowcount
    counts["fichiers"] = conn.execute(_delete_files_statement(conn)).rowcount
    conn.execute(_DROP_OLD_FILES)
    counts["executions"] = conn.execute(_JOB_RUNS, {"before": before}).rowcount
    return counts


# --- audit trail ---------------------------------------------------------------------------

_FIRST_KEPT = "SELECT id FROM audit_event WHERE at >= %s ORDER BY id LIMIT 1"
_HASH_OF = "SELECT hash FROM audit_event WHERE id = %s"
_ANCHOR = "SELECT purged_to_id, purged_rows FROM audit_anchor WHERE singleton FOR UPDATE"
_DELETE_AUDIT = "DELETE FROM audit_event WHERE id <= %s"
_SET_ANCHOR = """
INSERT INTO audit_anchor (singleton, purged_to_id, purged_to_hash, purged_rows, purged_at)
VALUES (true, %(id)s, %(hash)s, %(rows)s, %(at)s)
ON CONFLICT (singleton) DO UPDATE SET purged_to_id = EXCLUDED.purged_to_id,
    purged_to_hash = EXCLUDED.purged_to_hash, purged_rows = EXCLUDED.purged_rows, purged_at = EXCLUDED.purged_at
"""


class AuditPurgeRefused(Exception):
    """The rows to purge do not verify: purging them would erase the evidence."""


def purge_audit(conn: psycopg.Connection, before: dt.datetime, actor: str, now: dt.datetime) -> int:
    """Delete the prefix of the audit trail older than `before`, in the caller's transaction;
    returns the number of rows deleted. Refuses (AuditPurgeRefused) when that prefix does not
    verify, so that a purge never hides an alteration."""
    head = conn.execute(sql.LOCK_AUDIT_HEAD).fetchone()  # appends wait until we are done
    if head is None:
        return 0
    first_kept = conn.execute(_FIRST_KEPT, (before,)).fetchone()
    upto = first_kept[0] - 1 if first_kept else head[0]
    anchor = conn.execute(_ANCHOR).fetchone()
    start, total = (anchor[0], anchor[1]) if anchor else (0, 0)
    if upto <= start:
        return 0
    problems = audit.verify(conn, upto=upto)
    if problems:
        raise AuditPurgeRefused(f"journal d'audit altéré avant le n° {upto} ({len(problems)} anomalie(s)) : "
                                "purge refusée, lancez `fides audit verify`")
    digest = conn.execute(_HASH_OF, (upto,)).fetchone()[0]
    deleted = conn.execute(_DELETE_AUDIT, (upto,)).rowcount
    conn.execute(_SET_ANCHOR, {"id": upto, "hash": digest, "rows": total + deleted, "at": now})
    audit.append(conn, [audit.Event(audit.PURGE_EVENT, actor,
                                    detail=f"{upto};{digest};{deleted} ligne(s) antérieure(s) au "
                                           f"{before.astimezone():%Y-%m-%d} purgée(s)")], now)
    return deleted


# --- the job ---------------------------------------------------------------------------------

def run(conn: psycopg.Connection, config: Config, tree: Tree, actor: str, now: dt.datetime) -> Report:
    """The daily retention job: files, then database rows and audit trail in the caller's
    transaction (file deletions are idempotent: a rerun after a crash finds less to do)."""
    report = Report()
    started = time.monotonic()
    report.files = purge_files(tree, config, now)
    report.rows = purge_database(conn, config, now)
    if before := _cutoff(now, config["retention.audit_days"]):
        try:
            with conn.transaction():
                report.rows["journal_audit"] = purge_audit(conn, before, actor, now)
        except AuditPurgeRefused as exc:
            log.error("%s", exc)
            report.notes.append("purge du journal d'audit refusée (journal altéré)")
    if any({**report.files, **report.rows}.values()):
        audit.append(conn, [audit.Event("retention", actor, detail=report.summary())], now)
    log.info("retention: %s (%.1f s)", report.summary(), time.monotonic() - started)
    return report

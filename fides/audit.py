"""The tamper-evident audit trail: every state change and every input file, hash-chained.

Row n stores sha256(row n-1's hash + row n's content). Altering, deleting or inserting a row
breaks the chain at that row, and `verify` names it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import psycopg

from fides.store import sql

GENESIS = "0" * 64


@dataclass(frozen=True)
class Event:
    event: str
    actor: str
    dossier_id: int | None = None
    file_id: int | None = None
    line_no: int | None = None
    from_state: int | None = None
    to_state: int | None = None
    detail: str = ""


def _content(row_id: int, at: dt.datetime, e: Event) -> str:
    at_utc = at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")
    fields = (row_id, at_utc, e.actor, e.event, e.dossier_id, e.file_id, e.line_no, e.from_state,
              e.to_state, e.detail)
    return "\x1f".join("" if v is None else str(v) for v in fields)


def chain(prev_hash: str, row_id: int, at: dt.datetime, e: Event) -> str:
    return hashlib.sha256((prev_hash + "\x1e" + _content(row_id, at, e)).encode()).hexdigest()


def append(conn: psycopg.Connection, events: list[Event], at: dt.datetime) -> None:
    """Append events in the caller's transaction (they commit or vanish with its effects)."""
    if not events:
        return
    head = conn.execute(sql.LOCK_AUDIT_HEAD).fetchone()
    if head is None:
        conn.execute(sql.INIT_AUDIT_HEAD, (GENESIS,))
        head = conn.execute(sql.LOCK_AUDIT_HEAD).fetchone()
    last_id, last_hash = head
    with conn.cursor().copy(sql.COPY_AUDIT) as copy:
        for e in events:
            last_id += 1
            digest = chain(last_hash, last_id, at, e)
            copy.write_row((last_id, at, e.actor, e.event, e.dossier_id, e.file_id, e.line_no,
                            e.from_state, e.to_state, e.detail, last_hash, digest))
            last_hash = digest
    conn.execute(sql.MOVE_AUDIT_HEAD, (last_id, last_hash))


# After a retention purge (fides/engine/retention.py) the trail starts at an anchor: the last
# purged row's id and hash, also written in the detail of the `purge_journal` event that the purge
# appends, so that the anchor itself is covered by the chain.
PURGE_EVENT = "purge_journal"
_ANCHOR = "SELECT purged_to_id, purged_to_hash FROM audit_anchor WHERE singleton"
_READ_AUDIT_UPTO = """
SELECT id, at, actor, event, dossier_id, file_id, line_no, from_state, to_state, detail, prev_hash, hash
FROM audit_event WHERE id <= %s ORDER BY id
"""


def verify(conn: psycopg.Connection, upto: int | None = None) -> list[str]:
    """Every break in the chain, as sentences naming the row; empty when intact. The chain starts
    at the purge anchor when there is one. With `upto`, only the rows up to that id are checked
    (what a purge is about to remove), not the end of the trail."""
    problems: list[str] = []
    with conn.transaction():
        anchor = conn.execute(_ANCHOR).fetchone()
    expected_id, expected_prev = (anchor[0] + 1, anchor[1]) if anchor else (1, GENESIS)
    attested = None
    with conn.transaction(), conn.cursor(name="audit_verify") as cur:  # a server-side cursor needs one
        cur.itersize = 10_000
        if upto is None:
            cur.execute(sql.READ_AUDIT)
        else:
            cur.execute(_READ_AUDIT_UPTO, (upto,))
        for (row_id, at, actor, event, dossier_id, file_id, line_no, from_state, to_state, detail,
             prev_hash, digest) in cur:
            e = Event(event, actor, dossier_id, file_id, line_no, from_state, to_state, detail)
            if row_id != expected_id:
                problems.append(f"ligne {row_id}: attendu n° {expected_id} (ligne supprimée ou insérée)")
            if prev_hash != expected_prev:
                problems.append(f"ligne {row_id}: chaînage rompu avec la ligne précédente")
            if chain(prev_hash, row_id, at, e) != digest:
                problems.append(f"ligne {row_id}: contenu modifié ({event})")
            if event == PURGE_EVENT:
                attested = detail.split(";")[:2]
            expected_id, expected_prev = row_id + 1, digest
    if upto is not None:
        return problems
    if anchor and attested != [str(anchor[0]), anchor[1]]:
        problems.append(f"début de journal: purge jusqu'au n° {anchor[0]} non attestée par un événement "
                        f"{PURGE_EVENT} (ancre modifiée ?)")
    head = conn.execute("SELECT last_id, last_hash FROM audit_head").fetchone()
    if head and (head[0] != expected_id - 1 or head[1] != expected_prev):
        problems.append(f"fin de journal: attendu n° {head[0]}, trouvé n° {expected_id - 1} (lignes supprimées)")
    return problems

"""The tamper-evident audit trail: every state change and every input file, hash-chained.

Row n stores sha256(row n-1's hash + row n's content). Altering, deleting or inserting a row
breaks the chain at that row, and `verify` names it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from hashlib import sha256
from typing import NamedTuple

import psycopg

from fides.store import sql

GENESIS = "0" * 64


class Event(NamedTuple):
    """One audited fact (a NamedTuple: cheap to build by the hundred thousand)."""

    event: str
    actor: str
    dossier_id: int | None = None
    file_id: int | None = None
    line_no: int | None = None
    from_state: int | None = None
    to_state: int | None = None
    detail: str = ""


def _utc_text(at: dt.datetime) -> str:
    return at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


def _text(value) -> str:
    return "" if value is None else str(value)


def _content_around(at_text: str, e: Event) -> tuple[str, str]:
    """The hashed content of a row is its fields joined by US (0x1f), None as '':
    f"{row id}{head}{dossier id}{tail}". Events of one batch share their head and tail."""
    return (f"\x1f{at_text}\x1f{_text(e.actor)}\x1f{_text(e.event)}\x1f",
            f"\x1f{_text(e.file_id)}\x1f{_text(e.line_no)}\x1f{_text(e.from_state)}\x1f{_text(e.to_state)}"
            f"\x1f{_text(e.detail)}")


def _content(row_id: int, at: dt.datetime, e: Event) -> str:
    head, tail = _content_around(_utc_text(at), e)
    return f"{row_id}{head}{_text(e.dossier_id)}{tail}"


def chain(prev_hash: str, row_id: int, at: dt.datetime, e: Event) -> str:
    return sha256((prev_hash + "\x1e" + _content(row_id, at, e)).encode()).hexdigest()


# COPY text format: backslash, tab, newline and carriage return escaped; \N is NULL.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_CHUNK = 5000  # rows per COPY write
_NULL = "\\N"


def _copy_value(value) -> str:
    return _NULL if value is None else str(value).translate(_COPY_ESCAPES)


def _copy_around(at_text: str, e: Event) -> tuple[str, str]:
    """A row as COPY text around its id and dossier id, up to its hashes (sql.COPY_AUDIT order)."""
    return (f"\t{at_text}\t{_copy_value(e.actor)}\t{_copy_value(e.event)}\t",
            f"\t{_copy_value(e.file_id)}\t{_copy_value(e.line_no)}\t{_copy_value(e.from_state)}"
            f"\t{_copy_value(e.to_state)}\t{_copy_value(e.detail)}\t")


def append(conn: psycopg.Connection, events: Iterable[Event], at: dt.datetime) -> None:
    """Append events in the caller's transaction (they commit or vanish with its effects).

    The chain is sequential by nature: each row's hash is computed here from the previous one.
    Rows go to COPY as preformatted text; what events of a batch share (everything but the
    dossier id, usually) is formatted once."""
    events = list(events)
    if not events:
        return
    head = conn.execute(sql.LOCK_AUDIT_HEAD).fetchone()
    if head is None:
        conn.execute(sql.INIT_AUDIT_HEAD, (GENESIS,))
        head = conn.execute(sql.LOCK_AUDIT_HEAD).fetchone()
    last_id, last_hash = head
    at_text = _utc_text(at)
    shared: dict[tuple, tuple[str, str, str, str]] = {}  # the event but its dossier id -> texts
    lines: list[str] = []
    with conn.cursor().copy(sql.COPY_AUDIT) as copy:
        for e in events:
            last_id += 1
            dossier_id = e.dossier_id
            key = e[:2] + e[3:]
            texts = shared.get(key)
            if texts is None:
                same = Event(e.event, e.actor, None, *e[3:])
                texts = shared[key] = (*_content_around(at_text, same), *_copy_around(at_text, same))
            content_head, content_tail, copy_head, copy_tail = texts
            d = "" if dossier_id is None else str(dossier_id)
            digest = sha256(f"{last_hash}\x1e{last_id}{content_head}{d}{content_tail}".encode()).hexdigest()
            lines.append(f"{last_id}{copy_head}{d or _NULL}{copy_tail}{last_hash}\t{digest}\n")
            last_hash = digest
            if len(lines) >= _COPY_CHUNK:
                copy.write("".join(lines))
                lines.clear()
        if lines:
            copy.write("".join(lines))
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

"""The dossier state machine (DESIGN.md §5): the only module that writes `dossier.state`.

The transition table is pure data; `change` applies it to rows locked in the caller's transaction
and records every transition in the audit trail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg

from fides import audit
from fides.store import sql

EN_COURS, VALIDE, FACTURE, REJETE, PAYE = 0, 1, 2, 3, 4
STATE_NAMES = {EN_COURS: "EN_COURS", VALIDE: "VALIDE", FACTURE: "FACTURE", REJETE: "REJETE", PAYE: "PAYE"}
LOCKED = frozenset({VALIDE, FACTURE, REJETE, PAYE})

# trigger -> {from state: to state}
TRANSITIONS: dict[str, dict[int, int]] = {
    "validation": {EN_COURS: VALIDE},
    "facturation": {VALIDE: FACTURE},
    "erreur_referentiel": {VALIDE: EN_COURS},
    "arl_negatif": {FACTURE: VALIDE},
    "rejet_noemie": {FACTURE: REJETE},
    "paiement_noemie": {FACTURE: PAYE},
    "managereject_annulation": {REJETE: EN_COURS},
    "managereject_confirmation": {REJETE: VALIDE},
    "cancelpaid": {PAYE: EN_COURS},
}

# Entering EN_COURS waits for corrected data; cancelling a payment forbids B2 for ever.
_EXTRA_SET = {
    "cancelpaid": ", to_validate = false, never_b2 = true",
    "managereject_annulation": ", to_validate = false",
    "erreur_referentiel": ", to_validate = false",
    "validation": ", to_validate = false",
}


def target(trigger: str, state: int) -> int | None:
    """The state `trigger` leads to from `state`, or None when it does not apply."""
    return TRANSITIONS[trigger].get(state)


@dataclass(frozen=True)
class Cause:
    actor: str
    file_id: int | None = None
    line_no: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class Result:
    changed: dict[int, tuple[int, int]]  # dossier id -> (from, to)
    refused: dict[int, int]  # dossier id -> current state (transition not allowed)


# Columns a caller may write together with the state change, one value per dossier (the
# validation verdict), with their SQL type for the unnest.
VALUE_COLUMNS = {"billable_b2": "boolean", "extract_reason": "text", "last_code": "text"}
_SQL_CACHE: dict[tuple[str, tuple[str, ...]], str] = {}


def _set_state_sql(trigger: str, columns: tuple[str, ...]) -> str:
    found = _SQL_CACHE.get((trigger, columns))
    if found is None:
        values = assign = ""
        rows = sql.BY_IDS
        if columns:
            arrays = "".join(f", %(v_{c})s::{VALUE_COLUMNS[c]}[]" for c in columns)
            values = f"FROM unnest(%(ids)s::bigint[]{arrays}) AS v(id, {', '.join(columns)})"
            assign = "".join(f", {c} = v.{c}" for c in columns)
            rows = f"d.id = v.id AND {rows}"  # the ids again (see sql.BY_IDS)
        found = _SQL_CACHE[(trigger, columns)] = sql.SET_STATE.format(
            extra=_EXTRA_SET.get(trigger, ""), assign=assign, values=values, rows=rows)
    return found


def change(conn: psycopg.Connection, ids: list[int], trigger: str, cause: Cause, at: dt.datetime,
           causes: dict[int, Cause] | None = None, values: dict[str, list] | None = None,
           locked_in: int | None = None) -> Result:
    """Apply `trigger` to the dossiers `ids`; those in a state it does not leave are refused.
    `values`: column (of VALUE_COLUMNS) -> one value per id, written on the changed rows by the
    same UPDATE (one row version per dossier, not two). `locked_in`: the caller has locked every
    dossier of `ids` in this transaction (FOR UPDATE) and read it in that state: they are not
    locked and read again (a batch of the validation sweep or of a billing run: 2.5 µs a dossier
    of PostgreSQL's time). The UPDATE still moves only the rows in that state."""
    if locked_in is None:
        # Batch statements are never prepared: a generic plan for `= ANY($ids)` cannot know the
        # batch is small and may scan the whole table (measured 10× slower on 100 000 dossiers).
        rows = conn.execute(sql.LOCK_STATES, (sql.int_array(ids),), prepare=False).fetchall()
    else:
        rows = [(dossier_id, locked_in) for dossier_id in ids]
    moves = TRANSITIONS[trigger]
    changed: dict[int, tuple[int, int]] = {}
    refused: dict[int, int] = {}
    for dossier_id, state in rows:
        if state in moves:
            changed[dossier_id] = (state, moves[state])
        else:
            refused[dossier_id] = state
    columns = tuple(values) if values else ()
    position = {i: n for n, i in enumerate(ids)} if columns else {}
    for from_state, to_state in sorted(set(changed.values())):
        batch = [i for i, (f, _) in changed.items() if f == from_state]
        params = {"to": to_state, "at": at, "ids": sql.int_array(batch), "from": from_state}
        for c in columns:
            column = values[c]
            params[f"v_{c}"] = [column[position[i]] for i in batch]
        moved = conn.execute(_set_state_sql(trigger, columns), params, prepare=False).rowcount
        if moved != len(batch):  # a row not in the state read under the lock: never audit a move not made
            raise RuntimeError(f"{trigger}: {moved} of {len(batch)} dossiers were in state {from_state}")
    causes = causes or {}
    audit.append(conn, [_event(trigger, i, f, t, causes.get(i, cause)) for i, (f, t) in changed.items()], at)
    return Result(changed, refused)


def record_created(conn: psycopg.Connection, ids: list[int], cause: Cause, at: dt.datetime) -> None:
    """New dossiers start in EN_COURS (the column default). Their entry is audited once per batch:
    one `creation` event naming the ids as ranges ("3 dossiers : 7-8,12"). One event per dossier
    made a million-line file write a million audit rows, as much as the lines themselves."""
    if ids:
        audit.append(conn, [audit.Event("creation", cause.actor, None, cause.file_id, cause.line_no, None, EN_COURS,
                                        f"{len(ids)} dossiers : {id_ranges(ids)}")], at)


def id_ranges(ids) -> str:
    """Ids as sorted ranges: [12, 7, 8] -> "7-8,12"."""
    runs: list[list[int]] = []
    for i in sorted(ids):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def created_in(detail: str, dossier_id: int) -> bool:
    """True when a `creation` event's detail names `dossier_id`."""
    for part in detail.partition(" : ")[2].split(","):
        low, _, high = part.partition("-")
        if low.isdigit() and int(low) <= dossier_id <= int(high or low):
            return True
    return False


def _event(trigger: str, dossier_id: int, from_state: int | None, to_state: int, cause: Cause) -> audit.Event:
    return audit.Event(trigger, cause.actor, dossier_id, cause.file_id, cause.line_no, from_state,
                       to_state, cause.detail)

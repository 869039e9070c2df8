"""STATEREQUEST: the state of the listed dossiers (or `*`: all), answered every time it is dropped.

The answer is `out/reports/<request name>.arl`, one line per dossier (DESIGN.md §7):

    ETAT;<N° adm>;<code>;<state>;<titre>;<complément>;<lot>;<AAAAMMJJHHMMSS last change>;<last code>

code/state: 0 EN_COURS … 4 PAYE, or -1 INCONNU for a N° fides has never seen; titre: the titre the
dossier holds (9 digits, empty once cancelled or before billing); lot: the lot (3 digits) of its
current invoice; last change: when it entered its state (local time); last code: its last anomaly
or reject code. `fides state` prints the same lines.
"""

from __future__ import annotations

from typing import Iterable, Iterator

import psycopg

from fides.dossiers import STATE_NAMES
from fides.errors import Finding
from fides.flows import register
from fides.flows.base import FileJob, Flow, Outcome
from fides.layouts import family
from fides.returns import queries as q

ALL = "*"
UNKNOWN_CODE, UNKNOWN_STATE = -1, "INCONNU"


def etat_line(nda: str, row: tuple | None) -> str:
    """One answer line; `row` is (state, titre numero, complément, lot numero, state_at, last code)."""
    if row is None:
        return f"ETAT;{nda};{UNKNOWN_CODE};{UNKNOWN_STATE};;;;;"
    state, numero, complement, lot, state_at, last_code = row
    fields = (
        "ETAT", nda, str(state), STATE_NAMES[state],
        "" if numero is None else f"{numero:09d}", complement or "",
        "" if lot is None else f"{lot:03d}",
        f"{state_at.astimezone():%Y%m%d%H%M%S}" if state_at else "",
        last_code or "",
    )
    return ";".join(f.replace(";", ",") for f in fields)


def lines(conn: psycopg.Connection, finess: str, ndas: Iterable[str] | None) -> Iterator[str]:
    """The answer, in the order asked (duplicates once), or every dossier by N° when `ndas` is None."""
    if ndas is None:
        # a server-side cursor lives in a transaction (a savepoint inside the engine's)
        with conn.transaction(), conn.cursor(name="fides_staterequest") as cur:
            cur.itersize = 5000
            cur.execute(q.STATES.format(where="true"), {"finess": finess})
            for nda, *row in cur:
                yield etat_line(nda, tuple(row))
        return
    asked = list(dict.fromkeys(ndas))
    with conn.transaction():
        found = {nda: tuple(row) for nda, *row in conn.execute(
            q.STATES.format(where="d.nda = ANY(%(ndas)s)"), {"finess": finess, "ndas": asked})}
    for nda in asked:
        yield etat_line(nda, found.get(nda))


def requested(job: FileJob) -> tuple[list[str] | None, int, int]:
    """(N° asked or None for all, lines read, lines refused for their format)."""
    layout = family("control")["STATEREQUEST"]
    ndas: list[str] = []
    read = refused = 0
    wildcard = False
    for line_no, text in job.read_lines():
        text = text.rstrip(" ")
        if not text:
            continue
        read += 1
        findings = layout.check(text, None, line_no)
        job.findings.extend(findings)
        if any(f.blocking for f in findings):
            refused += 1
            continue
        nda = layout.parse(text)["num_admin_sejour"].strip()
        wildcard = wildcard or nda == ALL
        ndas.append(nda)
    return (None if wildcard else ndas), read, refused


def handle(job: FileJob) -> Outcome:
    ndas, read, refused = requested(job)
    if read == 0:
        job.findings.add(Finding("FIC001"))
        return Outcome("KO")
    text = "".join(line + "\n" for line in lines(job.conn, job.config.finess, ndas))
    answer = (job.tree.reports / f"{job.name}.arl", text.encode(job.config["arl.encoding"], "replace"))
    return Outcome("PARTIEL" if refused else "OK", read, read - refused, refused, [answer])


register(Flow("STATEREQUEST", data=False, handle=handle))

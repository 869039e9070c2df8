"""EXTRACTEPMSI: one month of dossiers, billable or not, as GENRSA input files for e-PMSI.

Who: every dossier of the establishment with a current VIDHOSP, a current RSS and an exit date in
the month (FAQ §6.3: "à minima un VIDHOSP et un RSS"), whatever its state or billability.
What: the current lines, byte for byte as integrated (stored as latin-1 text), CRLF-terminated,
one file per kind named like GENRSA's `<FINESS>.<année>.<mois>.<type>.txt` (month on 1 or 2
digits, as GENRSA writes it), all in `out/reports/<FINESS>.<année>.<mois>.<AAAAMMJJHHMMSS>.in.zip`.

Streaming: lines come from a server-side cursor and go straight into the zip, written under a
temporary name, fsynced and renamed; memory stays flat whatever the month's size. The archive is
written by the job itself, not queued as an engine output (which would hold it in memory and in
the database): a request changes nothing in the database, so nothing uncommitted can leak
through it; a crash before the commit only means the request is answered again.

Entry points: the EXTRACTEPMSI flow (content `AAAAMM`, one month per line), `fides extract-epmsi
AAAAMM`, and `monthly()` that the scheduler calls for the previous month.
"""

from __future__ import annotations

import datetime as dt
import logging
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from fides.engine.tree import Tree, atomic_file
from fides.errors import Finding
from fides.flows import register
from fides.flows.base import FileJob, Flow, Outcome
from fides.layouts import family
from fides.returns import queries as q

log = logging.getLogger(__name__)

CRLF = b"\r\n"
CHUNK = 1 << 20
# GENRSA / DRUIDES in.zip names (shared/spec/formats/README §4, hkara2/gpmsi zips-genrsa.txt);
# a FICHCOMP type without a known GENRSA name keeps its code: fichcompNN.
VIDHOSP_FILE, RSS_FILE = "vidhosp", "rss"
FICHCOMP_FILES = {"06": "med", "09": "medatu", "10": "medthrombo", "02": "dmi", "03": "porg", "04": "pie",
                  "07": "diap", "15": "transp", "53": "ivg"}


@dataclass
class Extract:
    path: Path
    dossiers: int
    lines: dict[str, int] = field(default_factory=dict)  # entry name -> lines written


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    start = dt.date(year, month, 1)
    return start, (dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1))


def previous_month(today: dt.date) -> tuple[int, int]:
    first = today.replace(day=1) - dt.timedelta(days=1)
    return first.year, first.month


def archive_name(finess: str, year: int, month: int, at: dt.datetime) -> str:
    return f"{finess}.{year}.{month}.{at.astimezone():%Y%m%d%H%M%S}.in.zip"


def entry_name(finess: str, year: int, month: int, kind: str, subtype: str = "") -> str:
    if kind == "VIDHOSP":
        file_type = VIDHOSP_FILE
    elif kind == "RSS":
        file_type = RSS_FILE
    else:
        file_type = FICHCOMP_FILES.get(subtype, f"fichcomp{subtype.strip()}")
    return f"{finess}.{year}.{month}.{file_type}.txt"


def export(conn: psycopg.Connection, finess: str, tree: Tree, year: int, month: int, now: dt.datetime) -> Extract:
    """Write the month's archive into out/reports and say what it holds."""
    with conn.transaction():  # server-side cursors live in a transaction (a savepoint when nested)
        return _export(conn, finess, tree, year, month, now)


def _export(conn: psycopg.Connection, finess: str, tree: Tree, year: int, month: int, now: dt.datetime) -> Extract:
    start, end = month_bounds(year, month)
    params = {"finess": finess, "start": start, "end": end}
    count = conn.execute(q.EXTRACT_COUNT, params).fetchone()[0]
    tree.mkdir(tree.reports)
    final = tree.reports / archive_name(finess, year, month, now)
    result = Extract(final, count)
    with atomic_file(final, tree.file_mode, tree.policy.gid) as raw, \
            zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for kind in ("VIDHOSP", "RSS", "FICHCOMP"):
            _write_kind(conn, zf, kind, {**params, "kind": kind}, finess, year, month, result)
    log.info("EXTRACTEPMSI %d-%02d: %d dossier(s) in %s", year, month, count, final.name)
    return result


def _write_kind(conn, zf: zipfile.ZipFile, kind: str, params: dict, finess: str, year: int, month: int,
                result: Extract) -> None:
    """Stream one kind's lines into its entries (one per FICHCOMP type); VIDHOSP and RSS entries
    are written even when empty, so that the archive always has its two main files."""
    entry, out, buf, n = None, None, bytearray(), 0

    def close() -> None:
        nonlocal out, buf
        if out is not None:
            out.write(buf)
            out.close()
            result.lines[entry] = n
        out, buf = None, bytearray()

    with conn.cursor(name=f"fides_epmsi_{kind.lower()}") as cur:
        cur.itersize = 10_000
        cur.execute(q.EXTRACT_LINES, params)
        for subtype, line in cur:
            name = entry_name(finess, year, month, kind, subtype)
            if name != entry:
                close()
                entry, n = name, 0
                out = zf.open(name, "w")
            buf += line.encode("latin-1")
            buf += CRLF
            n += 1
            if len(buf) >= CHUNK:
                out.write(buf)
                buf = bytearray()
    close()
    if kind != "FICHCOMP":
        name = entry_name(finess, year, month, kind)
        if name not in result.lines:
            zf.writestr(name, b"")
            result.lines[name] = 0


def monthly(conn: psycopg.Connection, finess: str, tree: Tree, now: dt.datetime) -> Extract:
    """The scheduled run: the month before `now` (local date). Read-only; the caller claims the
    period (job_run) so that several fides processes run it once."""
    year, month = previous_month(now.astimezone().date())
    return export(conn, finess, tree, year, month, now)


def parse_month(text: str) -> tuple[int, int] | None:
    """(year, month) of an `AAAAMM` request, or None when it is not one."""
    layout = family("control")["EXTRACTEPMSI"]
    text = text.strip()
    if len(text) != layout.length or any(f.blocking for f in layout.check(text, None, 0)):
        return None
    r = layout.parse(text)
    if not (isinstance(r["annee"], int) and isinstance(r["mois"], int) and 1 <= r["mois"] <= 12):
        return None  # a real month, not only digits: the archive name and the bounds depend on it
    return r["annee"], r["mois"]


def handle(job: FileJob) -> Outcome:
    read = refused = 0
    for line_no, text in job.read_lines():
        if not text.strip():
            continue
        read += 1
        month = parse_month(text)
        if month is None:
            job.findings.add(Finding("CTL010", f"« {text.strip()[:20]} »", line_no, 1))
            refused += 1
            continue
        extract = export(job.conn, job.config.finess, job.tree, *month, job.now)
        if extract.dossiers == 0:
            job.findings.add(Finding("CTL011", f"{month[0]}-{month[1]:02d} : {extract.path.name}", line_no))
    if read == 0:
        job.findings.add(Finding("FIC001"))
    if refused == read:
        return Outcome("KO", read, 0, refused)
    return Outcome("PARTIEL" if refused else "OK", read, read - refused, refused)


register(Flow("EXTRACTEPMSI", data=False, handle=handle))

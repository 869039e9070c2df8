"""NOEMIE: the health insurance returns, applied to lots and dossiers (DESIGN.md §6).

Recognised by the name prefix NOEMIE_ or, whatever the transport named the file, by its content
(entity 000 with reference 930, 908 or 578). 930 acknowledges lots; 908 puts the invoices it names
to REJETE with their motifs; 578 puts them to PAYE with the amount paid. A return that cannot be
applied (unknown titre, dossier in another state, malformed entity) is refused alone with its ERR
line; the rest of the file applies (PARTIEL). Replays change nothing (see `rules`).

The file is read and applied a chunk of returns (or lots) at a time, so memory does not grow with
its size; a titre repeated in the file is recognised across chunks (docs/returns.md).

Counts in the `.arl` are in entities: read = entities of the file, refused = entities named by a
blocking ERR line, integrated = the others.
"""

from __future__ import annotations

import logging

from fides import dossiers
from fides.errors import Finding
from fides.flows import register
from fides.flows.base import FileJob, Flow, Outcome
from fides.layouts import family
from fides.returns import lots, noemie_parse
from fides.returns import queries as q
from fides.returns.noemie_parse import ARL, HANDLED, InvoiceReturn, LotAck
from fides.returns.rules import KINDS, TRIGGERS, Target, Verdict, decide_return, reject_codes
from fides.store import sql

log = logging.getLogger(__name__)


def sniff(head: bytes) -> bool:
    """True for the beginning of a NOEMIE 930 / 908 / 578 file."""
    try:
        return noemie_parse.reference_of(head.decode("latin-1").lstrip("\r\n"), family("noemie")["000"]) in HANDLED
    except Exception:  # any unreadable head is simply not NOEMIE
        return False


def handle(job: FileJob, chunk_size: int = noemie_parse.CHUNK) -> Outcome:
    """Reads and applies the file `chunk_size` returns (or lots) at a time, all in the file's
    transaction: the chunks commit together or not at all, as when the file was one batch."""
    reader = noemie_parse.Reader(family("noemie"))
    refused: set[int] = set()  # entities named by a blocking finding
    raced: dict[int, int] = {}  # titre id -> entity of a return taken, then refused at the lock
    items = 0
    for chunk in reader.items(job.read_lines(), chunk_size):
        items += len(chunk)
        if reader.reference == ARL:
            findings = _acknowledge(job, chunk)
        else:
            findings = _apply_returns(job, reader.reference, chunk, raced)
        _report(job, reader.take_findings() + findings, refused)
    if reader.reference not in HANDLED:
        job.findings.extend(reader.take_findings())
        if reader.reference is not None:
            job.findings.add(Finding("RET002", f"référence {reader.reference}", reader.header_at, 0))
        return Outcome("KO", reader.entities, 0, reader.entities)
    _report(job, reader.take_findings(), refused)
    kind = "lot(s)" if reader.reference == ARL else "return(s)"
    log.info("NOEMIE %s: %d entities, %d %s, %d refused", reader.reference, reader.entities, items, kind,
             len(refused))
    return Outcome("PARTIEL" if refused else "OK", reader.entities, reader.entities - len(refused), len(refused))


def _report(job: FileJob, findings: list[Finding], refused: set[int]) -> None:
    """The `.arl` reads in file order, whether a finding came from reading or from applying: a
    chunk's findings, sorted, all come before the next chunk's (`Reader.items`)."""
    findings.sort(key=lambda f: f.line_no)
    job.findings.extend(findings)
    refused.update(f.line_no for f in findings if f.blocking)


def _acknowledge(job: FileJob, acks: list[LotAck]) -> list[Finding]:
    findings: list[Finding] = []
    for a in acks:
        ack = lots.Ack(a.at, a.numero, a.date, a.finess_geo, a.positive, a.code)
        detail = f"NOEMIE 930 lot {a.numero:03d} ARL négatif {a.code}".rstrip()
        cause = dossiers.Cause(job.actor, job.file_id, a.at, detail)
        findings += lots.apply(job.conn, "noemie", ack, cause, job.now)
    return findings


def _targets(job: FileJob, reference: int, returns: list[InvoiceReturn]) -> list[Target | None]:
    rows = job.conn.execute(q.RESOLVE_RETURNS, {
        "kind": KINDS[reference], "numeros": sql.int_array(r.numero for r in returns),
        "complements": [r.complement for r in returns], "file_id": job.file_id,
    }).fetchall()
    return [None if row[1] is None else Target(*row[1:]) for row in rows]


def _apply_returns(job: FileJob, reference: int, returns: list[InvoiceReturn], raced: dict[int, int]) -> list[Finding]:
    """One chunk of returns. A titre repeated in an earlier chunk is known from the return that
    chunk recorded (`Target.earlier`), or from `raced` when its dossier changed under us."""
    findings: list[Finding] = []
    chosen: list[tuple[InvoiceReturn, Target, Verdict]] = []
    seen = dict(raced)
    for ret, target in zip(returns, _targets(job, reference, returns)):
        verdict = decide_return(reference, ret, target, seen)
        if verdict.finding is not None:
            findings.append(verdict.finding)
        if verdict.apply:
            seen[target.titre_id] = ret.at
            chosen.append((ret, target, verdict))
    causes = {t.dossier_id: dossiers.Cause(job.actor, job.file_id, r.at, f"NOEMIE {reference} titre {r.titre}")
              for r, t, _ in chosen}
    result = dossiers.change(job.conn, list(causes), TRIGGERS[reference], dossiers.Cause(job.actor, job.file_id),
                             job.now, causes)
    for ret, target, _ in chosen:  # changed by someone else between our read and our lock
        if target.dossier_id in result.refused:
            raced[target.titre_id] = ret.at
            state = dossiers.STATE_NAMES[result.refused[target.dossier_id]]
            why = f"dossier {target.nda}, titre {ret.titre} : dossier à l'état {state}"
            findings.append(Finding("RET006", why, ret.at))
    applied = [(r, t, v) for r, t, v in chosen if t.dossier_id in result.changed]
    _record(job, reference, applied)
    return findings


def _record(job: FileJob, reference: int, applied: list[tuple[InvoiceReturn, Target, Verdict]]) -> None:
    """The returns themselves, the dossiers' last code, and the anomalies to show."""
    last: dict[int, str] = {}
    with job.conn.cursor().copy(q.COPY_RETURNS) as copy:
        for ret, target, verdict in applied:
            codes, labels, last_code = reject_codes(ret) if reference != noemie_parse.PAYMENTS else ("", "", None)
            copy.write_row((target.dossier_id, target.titre_id, target.invoice_id, KINDS[reference], ret.amount,
                            codes, labels, job.file_id, ret.at, job.now))
            if last_code:
                last[target.dossier_id] = last_code
            if verdict.anomaly is not None:
                last[target.dossier_id] = verdict.anomaly.code
    anomalies = [(t.dossier_id, v.anomaly) for _, t, v in applied if v.anomaly is not None]
    if anomalies:
        with job.conn.cursor().copy(q.COPY_ANOMALIES) as copy:
            for dossier_id, a in anomalies:
                copy.write_row((dossier_id, a.code, a.severity, a.text(), "return", job.now))
    if last:
        job.conn.execute(q.SET_LAST_CODES, {"ids": sql.int_array(last), "codes": list(last.values())})


register(Flow("NOEMIE", data=True, handle=handle, sniff=sniff))

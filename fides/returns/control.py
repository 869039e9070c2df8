"""The control flows that change states by hand: NOEMIEARLNEGATIF, MANAGEREJECT, CANCELPAIDREQUEST.

Layouts: `interfaces/control/control_flows.xml` (b2_noemie/defis_control_flows.csv, PROPOSED).
A format error (bad action letter, false date, non-digit titre...) rejects the whole file (KO,
nothing applied), as for every data flow: half of a batch of state changes must not pass because
one line was mistyped. A well-formed line that cannot be applied (unknown dossier, wrong state,
unknown lot) is refused alone with its ERR line (PARTIEL); a request already satisfied is a
warning (replays are harmless).

  * NOEMIEARLNEGATIF: the lot (FINESS géographique, N°, creation date; organisme checked) is
    acknowledged negatively: its dossiers go back to VALIDE, keeping their titre.
  * MANAGEREJECT A: REJETE -> EN_COURS, the titre is cancelled (a new one at the next billing).
  * MANAGEREJECT C: REJETE -> VALIDE, the titre is kept (the same invoice goes in a new lot).
  * CANCELPAIDREQUEST: PAYE -> EN_COURS, never billable in B2 again (trigger `cancelpaid`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from fides import dossiers
from fides.errors import Finding
from fides.flows import register
from fides.flows.base import FileJob, Flow, Outcome
from fides.layouts import family
from fides.returns import lots
from fides.returns import queries as q
from fides.returns.rules import ACTIONS, Subject, decide_action


@dataclass(frozen=True)
class Line:
    line_no: int
    record: dict


def _read(job: FileJob) -> tuple[list[Line], int]:
    """The well-formed lines and the count of lines read (blank lines are not lines)."""
    layout = family("control")[job.flux]
    refs = job.context.get("codes")
    lines, read = [], 0
    for line_no, text in job.read_lines():
        if not text.strip():
            continue
        read += 1
        text = text.rstrip(" ")
        findings = layout.check(text, refs, line_no)
        job.findings.extend(findings)
        if not any(f.blocking for f in findings):
            lines.append(Line(line_no, layout.parse(text)))
    if read == 0:
        job.findings.add(Finding("FIC001"))
    return lines, read


def _outcome(read: int, refused: set[int]) -> Outcome:
    return Outcome("PARTIEL" if refused else "OK", read, read - len(refused), len(refused))


def _handler(apply_line: Callable[[FileJob, Line], list[Finding]]) -> Callable[[FileJob], Outcome]:
    def handle(job: FileJob) -> Outcome:
        lines, read = _read(job)
        if read == 0 or job.findings.blocking:
            return Outcome("KO", read, 0, read)
        refused: set[int] = set()
        for line in lines:
            findings = apply_line(job, line)
            job.findings.extend(findings)
            if any(f.blocking for f in findings):
                refused.add(line.line_no)
        return _outcome(read, refused)

    return handle


# --- NOEMIEARLNEGATIF ----------------------------------------------------------------------------

def _arl_negatif(job: FileJob, line: Line) -> list[Finding]:
    r = line.record
    ack = lots.Ack(line.line_no, r["num_lot"], r["date_creation_lot"], r["finess_geographique"], False,
                   r["code_rejet_arl"] or "", r["organisme_destinataire"])
    detail = f"NOEMIEARLNEGATIF lot {ack.numero:03d} {ack.code}".rstrip()
    cause = dossiers.Cause(job.actor, job.file_id, line.line_no, detail)
    return lots.apply(job.conn, "control", ack, cause, job.now)


# --- MANAGEREJECT, CANCELPAIDREQUEST -----------------------------------------------------------------

def _subject(job: FileJob, line: Line) -> tuple[Subject | None, bool, Finding | None]:
    """(dossier designated by N° administratif and/or titre + complément, the named titre is
    cancelled, or the finding that refuses the line)."""
    r, n = line.record, line.line_no
    nda, numero, complement = r["num_admin_sejour"] or "", r["num_titre"], r["complement_num_titre"] or None
    if not nda and numero is None:
        return None, False, Finding("CTL009", "", n)
    dossier_id, cancelled = None, False
    if nda:
        row = job.conn.execute(q.DOSSIER_BY_NDA, (job.config.finess, nda)).fetchone()
        if row is None:
            return None, False, Finding("CTL001", f"N° administratif {nda}", n)
        dossier_id = row[0]
    if numero is not None:
        titre = f"titre {numero:09d}" + (f" complément {complement}" if complement else "")
        titres = job.conn.execute(q.TITRES_NUMBERED, {"numero": numero, "complement": complement}).fetchall()
        if len(titres) != 1:
            why = "inconnu" if not titres else "ambigu sans complément"
            return None, False, Finding("CTL003", f"{titre} {why}", n)
        _, titre_dossier, cancelled = titres[0]
        if dossier_id is not None and titre_dossier != dossier_id:
            return None, False, Finding("CTL002", f"N° administratif {nda}, {titre}", n)
        dossier_id = titre_dossier
    return Subject(*job.conn.execute(q.SUBJECT, (dossier_id,)).fetchone()), cancelled, None


def _action_line(job: FileJob, line: Line) -> list[Finding]:
    action = ACTIONS[(job.flux, line.record.get("action") or "")]
    subject, titre_cancelled, problem = _subject(job, line)
    if problem is not None:
        return [problem]
    verdict = decide_action(action, subject, line.line_no)
    if not verdict.apply:
        return [verdict.finding]
    if titre_cancelled:  # the dossier was billed again since: the line is about an old titre
        why = f"dossier {subject.nda} : titre {line.record['num_titre']:09d} annulé"
        return [Finding("CTL003", why, line.line_no)]
    detail = f"{job.flux} {line.record.get('action') or ''} {line.record.get('code_motif_rejet') or ''}".split()
    cause = dossiers.Cause(job.actor, job.file_id, line.line_no, " ".join(detail))
    result = dossiers.change(job.conn, [subject.dossier_id], action.trigger, cause, job.now)
    if subject.dossier_id in result.refused:  # changed by another process since we looked
        state = dossiers.STATE_NAMES[result.refused[subject.dossier_id]]
        return [Finding("CTL004", f"dossier {subject.nda} à l'état {state}", line.line_no)]
    if action.trigger == "managereject_annulation":
        job.conn.execute(q.CANCEL_TITRES, {"at": job.now, "ids": [subject.dossier_id]})
    if action.trigger in ("managereject_annulation", "managereject_confirmation"):
        job.conn.execute(q.RETIRE_DOSSIER_INVOICES, ([subject.dossier_id],))
    return []


register(Flow("NOEMIEARLNEGATIF", data=True, handle=_handler(_arl_negatif)))
register(Flow("MANAGEREJECT", data=True, handle=_handler(_action_line)))
register(Flow("CANCELPAIDREQUEST", data=True, handle=_handler(_action_line)))

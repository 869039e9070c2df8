"""What a return or a control line does to a dossier, decided from values. Pure: no database.

The database side looks the facts up (`Target`, `LotRow`, `Subject`), asks here what to do, and
applies it through `fides.dossiers` (the only writer of states). Keeping the decisions here makes
every refusal, warning and anomaly testable without PostgreSQL.

Decisions fixed here (docs/returns.md):
  * a return already applied, or a return about an earlier sending of the same invoice (another
    lot), changes nothing and is a warning, so that replaying NOEMIE files is harmless;
  * a 578 whose amount differs from the amount billed to the AMO still pays the dossier (FAQ §5.8:
    there are no partial payments, so the 578 says the invoice is settled) and leaves an anomaly
    for the billing office to look at.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from fides.dossiers import EN_COURS, FACTURE, PAYE, REJETE, STATE_NAMES, VALIDE
from fides.errors import Finding
from fides.returns.noemie_parse import PAYMENTS, REJECTS, InvoiceReturn

KINDS = {REJECTS: "REJET", PAYMENTS: "PAIEMENT"}
TRIGGERS = {REJECTS: "rejet_noemie", PAYMENTS: "paiement_noemie"}
GOALS = {REJECTS: REJETE, PAYMENTS: PAYE}


# --- NOEMIE 908 / 578 --------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """What the database knows about the titre a return names."""

    titre_id: int
    dossier_id: int
    nda: str
    state: int
    cancelled: bool
    lot: int | None  # N° of the lot of the titre's latest invoice
    billed_amo: Decimal | None  # what that invoice asked the AMO for
    already: bool  # a return of the same kind was recorded for this titre since that invoice
    earlier: int | None = None  # entity of the return of this file already recorded for the titre
    invoice_id: int | None = None  # that latest invoice: the sending the return answers


@dataclass(frozen=True)
class Verdict:
    apply: bool
    finding: Finding | None = None  # for the .arl (refusal E or warning A)
    anomaly: Finding | None = None  # kept on the dossier (table anomaly), shown to users


def decide_return(reference: int, ret: InvoiceReturn, target: Target | None, seen: dict[int, int]) -> Verdict:
    """`seen`: titre id -> entity of a return taken for it earlier in the file and not recorded
    (earlier in the same chunk, or refused at the lock); one recorded by an earlier chunk of the
    file comes as `target.earlier`."""
    at = ret.at
    if target is None:
        return Verdict(False, Finding("RET004", f"titre {ret.titre}", at))
    where = f"dossier {target.nda}, titre {ret.titre}"
    if target.cancelled:
        return Verdict(False, Finding("RET005", where, at))
    earlier = seen.get(target.titre_id, target.earlier)
    if earlier is not None:
        return Verdict(False, Finding("RET007", f"{where} : déjà présent plus haut dans ce fichier (n° {earlier})", at))
    if target.state == GOALS[reference] and target.already:
        return Verdict(False, Finding("RET007", f"{where} : dossier déjà {STATE_NAMES[target.state]}", at))
    if ret.lot is not None and target.lot is not None and ret.lot != target.lot:
        why = f"retour du lot {ret.lot:03d}, facture actuelle dans le lot {target.lot:03d}"
        return Verdict(False, Finding("RET012", f"{where} : {why}", at))
    if target.state != FACTURE:
        why = f"dossier à l'état {STATE_NAMES[target.state]}, FACTURE attendu"
        return Verdict(False, Finding("RET006", f"{where} : {why}", at))
    if reference == REJECTS:
        return Verdict(True, None if ret.motifs else Finding("RET014", where, at))
    if ret.amount is None:
        anomaly = Finding("RET009", f"{where} : montant facturé {_euros(target.billed_amo)}", at)
        return Verdict(True, anomaly, anomaly)
    if target.billed_amo is not None and ret.amount != target.billed_amo:
        anomaly = Finding("RET008", f"{where} : payé {_euros(ret.amount)}, facturé {_euros(target.billed_amo)}", at)
        return Verdict(True, anomaly, anomaly)
    return Verdict(True)


def reject_codes(ret: InvoiceReturn) -> tuple[str, str, str | None]:
    """(codes, labels, the code shown as the dossier's last code) of a 908 return."""
    codes = ",".join(m.code for m in ret.motifs)
    labels = " | ".join(m.label for m in ret.motifs)
    rejects = [m.code for m in ret.motifs if m.kind == "R" and m.code] or [m.code for m in ret.motifs if m.code]
    return codes, labels, rejects[0] if rejects else "RET014"


def _euros(amount: Decimal | None) -> str:
    return "inconnu" if amount is None else f"{amount:.2f} €"


# --- lot acknowledgements: NOEMIE 930 and NOEMIEARLNEGATIF -------------------------------------

POSITIF, NEGATIF = "POSITIF", "NEGATIF"


@dataclass(frozen=True)
class LotRow:
    id: int
    finess_geo: str
    numero: int
    organisme: str
    created_at: dt.datetime
    arl_status: str | None
    arl_at: dt.datetime | None


# The same facts say different codes in a NOEMIE file (RET) and in a hand-built control flow (CTL).
ACK_CODES = {
    "noemie": {"unknown": "RET010", "done": "RET007", "contrary": "RET011", "organisme": None},
    "control": {"unknown": "CTL006", "done": "CTL005", "contrary": "CTL008", "organisme": "CTL007"},
}


def pick_lot(candidates: list[LotRow], day: dt.date | None) -> LotRow | None:
    """Lot numbers cycle 001-999: the lot of that day (local date of creation), else the latest."""
    if day is not None:
        candidates = [c for c in candidates if c.created_at.astimezone().date() == day]
    return max(candidates, key=lambda c: (c.created_at, c.id), default=None)


def decide_ack(source: str, positive: bool, lot: LotRow | None, line_no: int, label: str,
               organisme: str | None = None) -> Verdict:
    codes = ACK_CODES[source]
    if lot is None:
        return Verdict(False, Finding(codes["unknown"], label, line_no))
    wanted = POSITIF if positive else NEGATIF
    if organisme and codes["organisme"] and organisme.strip() != lot.organisme.strip():
        why = f"{organisme.strip()} demandé, lot émis pour {lot.organisme}"
        return Verdict(False, Finding(codes["organisme"], f"{label} : {why}", line_no))
    if lot.arl_status == wanted:
        when = f" le {lot.arl_at.astimezone():%d/%m/%Y %H:%M}" if lot.arl_at else ""
        return Verdict(False, Finding(codes["done"], f"{label} : ARL {wanted} déjà enregistré{when}", line_no))
    if lot.arl_status is not None:
        return Verdict(False, Finding(codes["contrary"], f"{label} : ARL {lot.arl_status} déjà enregistré", line_no))
    return Verdict(True)


def lot_label(numero: int, day: dt.date | None, finess_geo: str | None) -> str:
    label = f"lot {numero:03d}"
    if day is not None:
        label += f" du {day:%d/%m/%Y}"
    return label + (f" (FINESS géographique {finess_geo})" if finess_geo else "")


# --- MANAGEREJECT and CANCELPAIDREQUEST ---------------------------------------------------------

@dataclass(frozen=True)
class Action:
    trigger: str
    source: int  # the state the request acts on
    done: int  # the state once it was applied (a repeat is then a warning)
    label: str


ACTIONS = {
    ("MANAGEREJECT", "A"): Action("managereject_annulation", REJETE, EN_COURS, "annulation de la facture rejetée"),
    ("MANAGEREJECT", "C"): Action("managereject_confirmation", REJETE, VALIDE, "confirmation de la facture rejetée"),
    ("CANCELPAIDREQUEST", ""): Action("cancelpaid", PAYE, EN_COURS, "annulation du paiement"),
}


@dataclass(frozen=True)
class Subject:
    """The dossier a control line designates, as found in the database."""

    dossier_id: int
    nda: str
    state: int
    never_b2: bool
    titre_active: bool  # the dossier still holds a titre (not cancelled)


def decide_action(action: Action, subject: Subject, line_no: int) -> Verdict:
    where = f"dossier {subject.nda}"
    if subject.state == action.source:
        return Verdict(True)
    repeated = subject.state == action.done and (
        (action.trigger == "managereject_annulation" and not subject.titre_active)
        or (action.trigger == "managereject_confirmation" and subject.titre_active)
        or (action.trigger == "cancelpaid" and subject.never_b2))
    if repeated:
        return Verdict(False, Finding("CTL005", f"{where} déjà {STATE_NAMES[subject.state]} ({action.label})", line_no))
    return Verdict(False, Finding("CTL004", f"{where} à l'état {STATE_NAMES[subject.state]}, "
                                            f"{STATE_NAMES[action.source]} attendu ({action.label})", line_no))

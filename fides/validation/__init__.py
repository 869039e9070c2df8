"""Validation of a complete dossier (DESIGN §5, FAQ DEFIS §1-§3): pure, no I/O.

`validate(dossier, context)` runs the rules of `fides.validation.rules.RULES` and returns a
`Verdict`:
  * blocking findings (severity E): fixable data errors, the dossier stays EN_COURS;
  * `billable_b2` False with `extract_only_reason`: the dossier is not billed in B2 by fides
    (AME, dialysis/innovation forfait, esthétique, régime other than 01/02, anonymous...) and
    goes to EXTRACTEPMSI only; each reason is also an A finding;
  * `billable_b2` True: no blocking finding and no exclusion.

The dossier is given as `DossierData`, built by the integration layer from the parsed lines
(field names are the layout CSV `field` names; repeated zones are lists of dicts). Of the repeated
zones, only those in `ZONES_READ` are read by the rules and the valorisation, and of the fields,
only those in `FIELDS_READ` by the rules, the valorisation and the B2 invoice (`FIELDS_VALIDATED` by
the rules, `FIELDS_BILLED` by the valorisation and the invoice): the integration layer may leave
the others out (the RSS diagnoses and acts: 5 % of a sweep spent parsing them;
cutting the 73 VIDHOSP and 46 RSS fields, a third of the time of reading a dossier back).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from fides.errors import CODES, Finding
from fides.validation.facts import Facts, facts_of
from fides.validation.rules import PHASES, RULES, Rule

if TYPE_CHECKING:  # no runtime import: fides.billing imports this package
    from fides.billing.params import BillingParams
    from fides.referentials import Referentials

__all__ = [
    "DossierData",
    "ZONES_READ",
    "FIELDS_READ",
    "FIELDS_VALIDATED",
    "FIELDS_BILLED",
    "ValidationContext",
    "Verdict",
    "Rule",
    "RULES",
    "PHASES",
    "validate",
    "facts_of",
    "Facts",
]


ZONES_READ = frozenset({"DMT"})  # VIDHOSP DMT blocks: valorisation and the DMT rules
# The VIDHOSP, RSS and FICHCOMP fields each reader takes from a dossier's lines: the facts (both),
# the rules (`FIELDS_VALIDATED`), the valorisation and the B2 invoice (fides.billing.valorisation,
# .b2, .valuing: `FIELDS_BILLED`). A sweep parses its own only: the VIDHOSP's 21 fields and 2 of
# its DMT blocks' 5 instead of 43 and 5. tests/unit/test_fields_read.py fails when a reader reads
# a field its set lacks.
_FACTS_FIELDS = frozenset({
    "date_entree", "date_hospitalisation", "date_naissance", "date_sortie", "hospit_prelevement_organe",
    "justif_exo_tm", "nature_assurance", "nir_assure", "taux_remb",  # VIDHOSP
    "date_entree_um", "date_sortie_um", "ghm_cmd", "ghm_suite", "mode_entree_um", "mode_sortie_um",  # RSS
})
# what the rules and the invoice both read besides the facts
_SHARED_FIELDS = frozenset({
    "caisse_gestionnaire", "centre_gestionnaire", "cle_nir_assure", "code_grand_regime", "code_pec_fj",
    "etab_retour", "etab_transfert", "num_at_date_accident",  # VIDHOSP
    "dmt_date_debut", "dmt_date_fin", "num_um", "code",  # DMT blocks, RSS, FICHCOMP
})
FIELDS_VALIDATED = _FACTS_FIELDS | _SHARED_FIELDS | frozenset({
    "conf_soins_urgents", "motif_non_facturation", "sejour_facturable_am", "sexe",  # VIDHOSP (sexe: RSS too)
    "code_retour_groupage", "num_innovation",  # RSS
})
FIELDS_BILLED = _FACTS_FIELDS | _SHARED_FIELDS | frozenset({
    # VIDHOSP
    "cle_nir_individuel", "date_pec", "date_validite_droits", "delivree_par", "facturation_18e",
    "indicateur_parcours_soins", "mt_base_remb", "mt_fj", "mt_tm", "mt_total_amo", "nature_piece_justif",
    "nir_individuel", "nom_medecin_traitant", "num_entree", "num_organisme_complementaire",
    "prenom_medecin_traitant", "rang_beneficiaire", "rang_naissance", "regime_prestation", "top_eclatement",
    "top_medecin_traitant", "type_contrat",
    "dmt_discipline", "dmt_mode_traitement", "dmt_prix_unitaire",  # DMT blocks
    "igs2", "nb_seances",  # RSS
    "code_ucd", "date_administration", "date_debut", "date_fin", "montant", "nb_administre", "nombre",
    "prix_achat_total",  # FICHCOMP
})
FIELDS_READ = FIELDS_VALIDATED | FIELDS_BILLED


@dataclass(frozen=True)
class DossierData:
    finess: str
    nda: str
    vidhosp: dict | None
    vidhosp_version: str | None
    vidhosp_part: str | None  # "complet" | "restreint"
    rums: tuple[dict, ...] = ()  # RSS groupé lines, one per RUM, in RUM order
    fichcomp: Mapping[str, tuple[dict, ...]] = field(default_factory=dict)  # type -> lines


@dataclass(frozen=True)
class ValidationContext:
    params: BillingParams
    refs: Referentials
    um_finess_geo: Callable[[str, date], str | None]
    today: date
    # optional: UM -> type d'autorisation (IUM) at a date, for the RSS-based supplements
    um_type: Callable[[str, date], str | None] | None = None


@dataclass(frozen=True)
class Verdict:
    findings: tuple[Finding, ...]
    billable_b2: bool
    extract_only_reason: str | None

    @property
    def blocking(self) -> bool:
        return any(f.blocking for f in self.findings)


_BY_PHASE: dict[str, tuple[tuple[str, Callable], ...]] = {
    phase: tuple((r.code, r.check) for r in RULES.values() if r.phase == phase) for phase in PHASES
}
_SEVERITY = {code: c.severity for code, c in CODES.items()}


def validate(d: DossierData, ctx: ValidationContext) -> Verdict:
    findings: list[Finding] = []
    for code, check in _BY_PHASE["structure"]:
        message = check(d, ctx, None)
        if message:
            findings.append(Finding(code, message))
    if findings:
        return Verdict(tuple(findings), False, None)

    f = facts_of(d)
    reasons: list[str] = []
    for code, check in _BY_PHASE["exclusion"]:
        message = check(d, ctx, f)
        if message:
            findings.append(Finding(code, message))
            reasons.append(message)
    for code, check in _BY_PHASE["coherence"]:
        message = check(d, ctx, f)
        if message:
            findings.append(Finding(code, message))
    if not reasons:
        for code, check in _BY_PHASE["billing"]:
            message = check(d, ctx, f)
            if message:
                findings.append(Finding(code, message))
    if not findings:
        return _CLEAN
    blocking = any(_SEVERITY[x.code] == "E" for x in findings)
    return Verdict(
        tuple(findings),
        billable_b2=not reasons and not blocking,
        extract_only_reason="; ".join(reasons) if reasons else None,
    )


_CLEAN = Verdict((), True, None)

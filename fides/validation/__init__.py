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
zones, only those in `ZONES_READ` are read by the rules and the valorisation: the integration
layer may leave the others out (the RSS diagnoses and acts: 5 % of a sweep spent parsing them).
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

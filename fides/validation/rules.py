"""The validation rules, one small function each, registered in `RULES` (code -> Rule).

A rule takes (dossier, context, facts) and returns None when it passes, else the message of its
finding (several problems of one rule are joined in one message). Its code's severity in
`fides.errors` says whether the finding blocks (E) or warns (A).

Phases, run in this order by `fides.validation.validate`:
  structure   the dossier is complete (VIDHOSP + at least one RUM); else nothing else runs
  exclusion   the dossier is billable by the health insurance but not in B2 by fides (FAQ §1-2,
              §6.3): its finding (A) gives the reason, `billable_b2` is False and the dossier goes
              to EXTRACTEPMSI only
  coherence   VIDHOSP / RSS agreement and RSS consistency: always checked (e-PMSI needs it)
  billing     what a B2 invoice needs (identity, caisse, DMT, UM...): skipped for excluded dossiers
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from fides.validation.facts import (
    Facts,
    derived_taux,
    finess_ok,
    ghm_of,
    is_placeholder,
    text,
)

__all__ = ["Rule", "RULES", "PHASES"]

PHASES = ("structure", "exclusion", "coherence", "billing")

_MOTIFS = {
    "1": "patient AME",
    "2": "patient sous convention internationale",
    "3": "patient payant",
    "4": "soins urgents",
    "5": "patient hospitalisé dans un autre établissement",
    "6": "activité libérale d'un praticien hospitalier",
    "9": "autre situation",
    "E": "séjour article 51",
}


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    phase: str
    name: str
    doc: str  # the rule in one sentence, with its source
    check: Callable[..., str | None]


def _d(value) -> str:
    return value.strftime("%d/%m/%Y") if value else "absente"


# --- structure ------------------------------------------------------------------------------


def vidhosp_present(d, ctx, f: Facts):
    return None if d.vidhosp else "aucun VIDHOSP reçu pour ce dossier"


def rss_present(d, ctx, f: Facts):
    return None if d.rums else "aucun RUM (RSS groupé) reçu pour ce dossier"


# --- exclusions (billable by the AM, never in B2 by fides) ---------------------------------


def vidhosp_complet(d, ctx, f: Facts):
    if d.vidhosp_part == "restreint":
        return "VIDHOSP restreint (sans partie FIDES ni DMT) : pas de facture B2"
    return None


def sejour_non_facturable(d, ctx, f: Facts):
    v = d.vidhosp
    if (v.get("sejour_facturable_am") or "") != "0":
        return None
    motif = v.get("motif_non_facturation") or ""
    label = _MOTIFS.get(motif)
    return f"séjour non facturable à l'assurance maladie (motif {motif or 'absent'}" + (
        f" : {label})" if label else ")"
    )


def soins_urgents(d, ctx, f: Facts):
    v = d.vidhosp
    if (v.get("sejour_facturable_am") or "") == "1" and (v.get("conf_soins_urgents") or "") == "1":
        return "prise en charge au titre des soins urgents : valorisée par e-PMSI, pas de B2"
    return None


def identite_anonyme(d, ctx, f: Facts):
    if is_placeholder(d.vidhosp.get("nir_assure")):
        return "NIR 'XXXXXXXXXXXXX' (anonyme ou sans information) : non facturable à la CPAM"
    return None


def regime_non_accroche(d, ctx, f: Facts):
    regime = text(d.vidhosp.get("code_grand_regime"))
    if regime and not is_placeholder(regime) and not ctx.refs.regime_accepted(regime):
        return f"régime {regime} non accroché à FIDES (seuls 01 et 02 sont facturés en B2)"
    return None


def _fichcomp_codes(d):
    if not d.fichcomp:
        return
    for lines in d.fichcomp.values():
        for line in lines:
            code = line.get("code") or ""
            if code:
                yield code


def forfait_dialyse(d, ctx, f: Facts):
    if not d.fichcomp:
        return None
    found = sorted({c for c in _fichcomp_codes(d) if ctx.refs.is_dialysis_forfait(c)})
    return f"forfait dialyse {', '.join(found)} : valorisé par e-PMSI" if found else None


def forfait_innovation(d, ctx, f: Facts):
    found = {c for c in _fichcomp_codes(d) if ctx.refs.is_innovation_forfait(c)}
    for r in d.rums:
        if r.get("num_innovation"):
            found.add(f"n° {r.get('num_innovation')}")
    return f"forfait innovation ({', '.join(sorted(found))}) : valorisé par e-PMSI" if found else None


def ghs_esthetique(d, ctx, f: Facts):
    if ctx.refs.ghs_9999_category(f.ghm) == "esthetique":
        return f"GHM {f.ghm} : GHS esthétique (9999), non pris en charge"
    return None


def ghs_9999(d, ctx, f: Facts):
    category = ctx.refs.ghs_9999_category(f.ghm)
    if category and category != "esthetique" and not f.ghm.startswith("90"):
        return f"GHM {f.ghm} groupé en GHS 9999 (sans tarif) : non valorisable en B2"
    return None


def date_bascule(d, ctx, f: Facts):
    bascule = ctx.params.date_bascule
    if f.sortie is not None and bascule is not None and f.sortie < bascule:
        return f"sortie le {_d(f.sortie)}, avant la date de bascule {_d(bascule)}"
    return None


# --- coherence (always) ---------------------------------------------------------------------


def motif_absent(d, ctx, f: Facts):
    v = d.vidhosp
    if (v.get("sejour_facturable_am") or "") == "0" and not (v.get("motif_non_facturation") or ""):
        return "séjour non facturable sans motif de non-facturation"
    return None


def dates_sejour(d, ctx, f: Facts):
    v = d.vidhosp
    entree, sortie = v.get("date_entree"), v.get("date_sortie")
    missing = [n for n, x in (("d'entrée", entree), ("de sortie", sortie)) if not isinstance(x, date)]
    if missing:
        return f"date {' et '.join(missing)} du VIDHOSP absente(s)"
    if sortie < entree:
        return f"date de sortie {_d(sortie)} antérieure à la date d'entrée {_d(entree)}"
    return None


def dates_vidhosp_rss(d, ctx, f: Facts):
    v = d.vidhosp
    problems = []
    rss_in, rss_out = d.rums[0].get("date_entree_um"), d.rums[-1].get("date_sortie_um")
    if v.get("date_entree") and rss_in and v.get("date_entree") != rss_in:
        problems.append(f"entrée VIDHOSP {_d(v.get('date_entree'))} ≠ RSS {_d(rss_in)}")
    if v.get("date_sortie") and rss_out and v.get("date_sortie") != rss_out:
        problems.append(f"sortie VIDHOSP {_d(v.get('date_sortie'))} ≠ RSS {_d(rss_out)}")
    return "; ".join(problems) or None


def sexe_vidhosp_rss(d, ctx, f: Facts):
    sv = text(d.vidhosp.get("sexe"))
    if not sv or is_placeholder(sv):
        return None
    bad = {x for x in (r.get("sexe") for r in d.rums) if x and x != sv}
    return f"sexe VIDHOSP {sv} ≠ RSS {', '.join(sorted(bad))}" if bad else None


def naissance_vidhosp_rss(d, ctx, f: Facts):
    bv = d.vidhosp.get("date_naissance")
    if not bv or isinstance(bv, str):
        return None
    bad = {r.get("date_naissance") for r in d.rums if r.get("date_naissance")} - {bv}
    if bad:
        return f"date de naissance VIDHOSP {_d(bv)} ≠ RSS {', '.join(_d(b) for b in sorted(bad))}"
    return None


def rum_dates(d, ctx, f: Facts):
    problems = []
    previous_out = None
    for i, r in enumerate(d.rums, start=1):
        din, dout = r.get("date_entree_um"), r.get("date_sortie_um")
        if not din or not dout:
            problems.append(f"RUM {i} : dates d'entrée ou de sortie d'UM absentes")
        elif dout < din:
            problems.append(f"RUM {i} : sortie d'UM {_d(dout)} avant l'entrée {_d(din)}")
        elif previous_out is not None and din != previous_out:
            problems.append(f"RUM {i} : entrée {_d(din)} ≠ sortie du RUM précédent {_d(previous_out)}")
        previous_out = dout
    return "; ".join(problems) or None


def groupage(d, ctx, f: Facts):
    problems = []
    for i, r in enumerate(d.rums, start=1):
        ghm = ghm_of(r)
        retour = r.get("code_retour_groupage") or ""
        if not ghm:
            problems.append(f"RUM {i} : GHM absent")
        elif ghm.startswith("90"):
            problems.append(f"RUM {i} : GHM d'erreur {ghm}")
        if retour and retour != "000":
            problems.append(f"RUM {i} : code retour de groupage {retour}")
    return "; ".join(problems) or None


def ghm_unique(d, ctx, f: Facts):
    ghms = {ghm_of(r) for r in d.rums} - {""}
    return f"GHM différents entre les RUM : {', '.join(sorted(ghms))}" if len(ghms) > 1 else None


# --- billing (skipped for excluded dossiers) -------------------------------------------------


def sejour_facturable(d, ctx, f: Facts):
    value = text(d.vidhosp.get("sejour_facturable_am"))
    if value in ("0", "1"):
        return None
    if value == "2":
        return "en attente de la réponse de la caisse sur le taux de prise en charge (valeur 2)"
    if value == "3":
        return "en attente de décision sur les droits du patient (valeur 3)"
    return f"valeur « séjour facturable » invalide : {value!r}"


def motif_si_facturable(d, ctx, f: Facts):
    v = d.vidhosp
    motif = v.get("motif_non_facturation") or ""
    if (v.get("sejour_facturable_am") or "") == "1" and motif:
        return f"motif de non-facturation {motif} renseigné pour un séjour facturable (à laisser à blanc)"
    return None


def nir(d, ctx, f: Facts):
    body = text(d.vidhosp.get("nir_assure"))
    if not body:
        return "N° d'immatriculation de l'assuré absent"
    if f.nir_key is None:
        return f"N° d'immatriculation mal formé : {len(body)} caractères"
    return None


def cle_nir(d, ctx, f: Facts):
    v = d.vidhosp
    key = v.get("cle_nir_assure") or ""
    expected = f.nir_key
    if expected is None:
        return None  # reported by the NIR rule
    if not key.isdigit() or int(key) != expected:
        return f"clé {key or 'absente'} (attendue {expected:02d})"
    return None


def sexe(d, ctx, f: Facts):
    value = text(d.vidhosp.get("sexe"))
    if value in ("1", "2", "3"):
        return None
    return "sexe du bénéficiaire non renseigné (X)" if is_placeholder(value) else f"sexe invalide : {value!r}"


def date_naissance(d, ctx, f: Facts):
    value = d.vidhosp.get("date_naissance")
    if value and not isinstance(value, str):
        if f.entree and value > f.entree:
            return f"date de naissance {_d(value)} postérieure à l'entrée"
        return None
    return "date de naissance du bénéficiaire non renseignée"


def regime(d, ctx, f: Facts):
    value = text(d.vidhosp.get("code_grand_regime"))
    if not value:
        return "code grand régime absent"
    if is_placeholder(value):
        return "code grand régime non renseigné (XX)"
    return None


def caisse(d, ctx, f: Facts):
    v = d.vidhosp
    cai, cen = (v.get("caisse_gestionnaire") or ""), (v.get("centre_gestionnaire") or "")
    if cai and cen and cai[0] != "X" and cen[0] != "X":
        return None
    missing = [n for n, x in (("caisse", cai), ("centre", cen)) if not x or is_placeholder(x)]
    return f"{' et '.join(missing)} gestionnaire absent(s)" if missing else None


def caisse_connue(d, ctx, f: Facts):
    v = d.vidhosp
    reg, cai = (v.get("code_grand_regime") or ""), (v.get("caisse_gestionnaire") or "")
    if not reg or not cai or not ctx.refs.regime_accepted(reg):
        return None
    if f"{reg}|{cai}" not in ctx.refs.codes("caisses_01_02"):
        return f"caisse {reg}/{cai} absente du référentiel des caisses"
    return None


def infos_facturation(d, ctx, f: Facts):
    v = d.vidhosp
    problems = []
    for label, key, allowed in (
        ("justification d'exonération du TM", "justif_exo_tm", "exoneration_tm"),
        ("code de prise en charge du FJ", "code_pec_fj", "forfait_journalier_codes"),
        ("nature d'assurance", "nature_assurance", "nature_assurance"),
    ):
        value = text(v.get(key))
        if not value or is_placeholder(value):
            problems.append(f"{label} non renseigné(e)")
        elif value not in ctx.refs.codes(allowed):
            problems.append(f"{label} inconnu(e) : {value}")
    return "; ".join(problems) or None


def accident_travail(d, ctx, f: Facts):
    v = d.vidhosp
    if f.nature == "41" and not (v.get("num_at_date_accident") or ""):
        return "nature d'assurance AT (41) sans numéro d'accident du travail ni date d'accident"
    return None


def um_connues(d, ctx, f: Facts):
    unknown = []
    lookup = ctx.um_finess_geo
    for r in d.rums:
        um = r.get("num_um") or ""
        for day in (r.get("date_entree_um"), r.get("date_sortie_um")):
            if day is None:
                continue
            if not um or lookup(um, day) is None:
                unknown.append(f"{um or '(vide)'} au {_d(day)}")
                break
    return f"UM sans FINESS géographique : {', '.join(unknown)}" if unknown else None


def dmt_presentes(d, ctx, f: Facts):
    if d.vidhosp.get("DMT") or f.ivg_or_po:
        return None
    if f.taux is not None and f.taux < 100:
        return f"aucune DMT alors que le patient n'est pas exonéré (taux {f.taux} %)"
    return None


def _dmt_blocks(d):
    return d.vidhosp.get("DMT") or ()


def dmt_dates(d, ctx, f: Facts):
    problems = []
    for i, b in enumerate(_dmt_blocks(d), start=1):
        deb, fin = b.get("dmt_date_debut"), b.get("dmt_date_fin")
        if not deb or not fin or isinstance(deb, str) or isinstance(fin, str):
            problems.append(f"DMT {i} : dates absentes")
        elif fin < deb:
            problems.append(f"DMT {i} : fin {_d(fin)} avant début {_d(deb)}")
    return "; ".join(problems) or None


def dmt_dans_sejour(d, ctx, f: Facts):
    if not f.entree or not f.sortie:
        return None
    problems = []
    for i, b in enumerate(_dmt_blocks(d), start=1):
        deb, fin = b.get("dmt_date_debut"), b.get("dmt_date_fin")
        if not deb or not fin or isinstance(deb, str) or isinstance(fin, str):
            continue
        if deb < f.entree or fin > f.sortie:
            problems.append(f"DMT {i} ({_d(deb)}–{_d(fin)}) hors du séjour ({_d(f.entree)}–{_d(f.sortie)})")
    return "; ".join(problems) or None


def dmt_chevauchement(d, ctx, f: Facts):
    if len(_dmt_blocks(d)) < 2:
        return None
    periods = sorted(
        (b.get("dmt_date_debut"), b.get("dmt_date_fin"), i)
        for i, b in enumerate(_dmt_blocks(d), start=1)
        if b.get("dmt_date_debut") and b.get("dmt_date_fin")
        and not isinstance(b.get("dmt_date_debut"), str) and not isinstance(b.get("dmt_date_fin"), str)
    )
    problems = []
    for (d1, f1, i1), (d2, f2, i2) in zip(periods, periods[1:]):
        # sharing the mutation day (fin = sortie de l'UM = entrée dans la suivante) is accepted
        if d2 < f1 or (d2 == f1 and (d1 == f1 or d2 == f2)):
            problems.append(f"DMT {i1} ({_d(d1)}–{_d(f1)}) et DMT {i2} ({_d(d2)}–{_d(f2)})")
    return "; ".join(problems) or None


def taux_coherent(d, ctx, f: Facts):
    expected = derived_taux(f.exo, f.nature)
    if f.taux_vidhosp is not None and expected is not None and f.taux_vidhosp != expected:
        return (f"taux VIDHOSP {f.taux_vidhosp} % ; la règle ATIH (exonération {f.exo}, "
                f"nature {f.nature}) donne {expected} %")
    return None


def etablissements_transfert(d, ctx, f: Facts):
    v = d.vidhosp
    problems = []
    for label, key in (("de transfert", "etab_transfert"), ("de retour", "etab_retour")):
        value = text(v.get(key))
        if value and not finess_ok(value[:9]):
            problems.append(f"établissement {label} : FINESS invalide {value!r}")
    return "; ".join(problems) or None


# --- the table -------------------------------------------------------------------------------

_RULE_LIST: tuple[Rule, ...] = (
    Rule("VAL001", "structure", "vidhosp_present", "Le dossier a un VIDHOSP (DESIGN §5).", vidhosp_present),
    Rule("VAL002", "structure", "rss_present", "Le dossier a au moins un RUM (DESIGN §5).", rss_present),
    Rule("VAL010", "exclusion", "vidhosp_complet",
         "Un VIDHOSP restreint n'est pas facturable en B2 (FAQ §3.2).", vidhosp_complet),
    Rule("VAL011", "exclusion", "sejour_non_facturable",
         "Séjour facturable = 0 (AME, soins urgents, payant…) : e-PMSI seulement (FAQ §2, §5.7).",
         sejour_non_facturable),
    Rule("VAL012", "exclusion", "soins_urgents",
         "Soins urgents confirmés : pas de B2 (FAQ §5.7).", soins_urgents),
    Rule("VAL013", "exclusion", "identite_anonyme",
         "NIR 'X…' : patient anonyme, non facturable à la CPAM (FAQ §3.2).", identite_anonyme),
    Rule("VAL014", "exclusion", "regime_non_accroche",
         "Régime autre que 01/02 : pas de B2 (FAQ §1-2, regimes.accepte_fides).", regime_non_accroche),
    Rule("VAL015", "exclusion", "forfait_dialyse",
         "Forfait dialyse D09-D24 en FICHCOMP : pas de B2 (FAQ §1-2, §6.3).", forfait_dialyse),
    Rule("VAL016", "exclusion", "forfait_innovation",
         "Forfait innovation (I01…) ou n° d'innovation au RSS : pas de B2 (FAQ §1-2).", forfait_innovation),
    Rule("VAL017", "exclusion", "ghs_esthetique",
         "GHM 09Z02A = GHS esthétique : pas de B2 (FAQ §1-2).", ghs_esthetique),
    Rule("VAL018", "exclusion", "ghs_9999",
         "GHM groupé en GHS 9999 (sans tarif) : pas de B2 (ghs_9999_non_valorises).", ghs_9999),
    Rule("VAL019", "exclusion", "date_bascule",
         "Sortie avant la date de bascule : pas facturé par fides (FAQ §1).", date_bascule),
    Rule("VAL020", "coherence", "motif_absent",
         "Séjour non facturable : motif de non-facturation attendu (FAQ §3.2).", motif_absent),
    Rule("VAL021", "coherence", "dates_sejour",
         "Dates d'entrée et de sortie VIDHOSP présentes, sortie ≥ entrée.", dates_sejour),
    Rule("VAL022", "coherence", "dates_vidhosp_rss",
         "Entrée/sortie VIDHOSP = entrée du 1er RUM / sortie du dernier RUM.", dates_vidhosp_rss),
    Rule("VAL023", "coherence", "sexe_vidhosp_rss", "Sexe VIDHOSP = sexe des RUM.", sexe_vidhosp_rss),
    Rule("VAL024", "coherence", "naissance_vidhosp_rss",
         "Date de naissance VIDHOSP = celle des RUM.", naissance_vidhosp_rss),
    Rule("VAL025", "coherence", "rum_dates",
         "Dates de RUM présentes, ordonnées et chaînées.", rum_dates),
    Rule("VAL026", "coherence", "groupage",
         "GHM présent, hors CMD 90, code retour de groupage 000.", groupage),
    Rule("VAL027", "coherence", "ghm_unique", "Tous les RUM portent le même GHM.", ghm_unique),
    Rule("VAL030", "billing", "sejour_facturable",
         "Séjour facturable = 1 (2 et 3 : en attente) (FAQ §2, §3.2).", sejour_facturable),
    Rule("VAL031", "billing", "motif_si_facturable",
         "Séjour facturable : motif de non-facturation à blanc (FAQ §3.2).", motif_si_facturable),
    Rule("VAL032", "billing", "nir", "NIR de l'assuré présent et bien formé (FAQ §3.2).", nir),
    Rule("VAL033", "billing", "cle_nir", "Clé du NIR = 97 − NIR mod 97 (annexe 5 B2).", cle_nir),
    Rule("VAL034", "billing", "sexe", "Sexe du bénéficiaire 1, 2 ou 3, pas X (FAQ §3.2).", sexe),
    Rule("VAL035", "billing", "date_naissance",
         "Date de naissance présente, pas X, pas après l'entrée (FAQ §3.2).", date_naissance),
    Rule("VAL036", "billing", "regime", "Code grand régime présent, pas XX (FAQ §3.2).", regime),
    Rule("VAL037", "billing", "caisse", "Caisse et centre gestionnaires présents (B2 type 2).", caisse),
    Rule("VAL038", "billing", "caisse_connue",
         "Caisse connue du référentiel caisses_01_02 (avertissement).", caisse_connue),
    Rule("VAL039", "billing", "infos_facturation",
         "Exonération TM, code FJ, nature d'assurance renseignés, pas X (FAQ §3.2).", infos_facturation),
    Rule("VAL040", "billing", "accident_travail",
         "Nature 41 (AT) : n° d'AT ou date d'accident renseigné (FAQ §3.2).", accident_travail),
    Rule("VAL041", "billing", "um_connues",
         "Chaque UM a un FINESS géographique aux dates du RUM (FAQ §4, §6.1).", um_connues),
    Rule("VAL042", "billing", "dmt_presentes",
         "DMT présentes si le patient n'est pas exonéré, sauf IVG et PO (FAQ §3.1).", dmt_presentes),
    Rule("VAL043", "billing", "dmt_dates", "DMT : dates présentes, fin ≥ début.", dmt_dates),
    Rule("VAL044", "billing", "dmt_dans_sejour", "DMT comprises dans le séjour.", dmt_dans_sejour),
    Rule("VAL045", "billing", "dmt_chevauchement",
         "Pas de chevauchement entre DMT, hors jour de mutation partagé (FAQ §3.1).", dmt_chevauchement),
    Rule("VAL046", "billing", "taux_coherent",
         "Taux VIDHOSP = taux déduit de l'exonération et de la nature (avertissement).", taux_coherent),
    Rule("VAL047", "billing", "etablissements_transfert",
         "Établissements de transfert/retour : FINESS valide (FAQ §3.2, §5.10).", etablissements_transfert),
)

RULES: dict[str, Rule] = {r.code: r for r in _RULE_LIST}
assert len(RULES) == len(_RULE_LIST)

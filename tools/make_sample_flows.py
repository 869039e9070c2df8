#!/usr/bin/env python3
"""Build `sample_flows/`: realistic input files for every input flow of fides.

    .venv/bin/python tools/make_sample_flows.py          # (re)writes sample_flows/
    .venv/bin/python tools/make_sample_flows.py --check  # fails if sample_flows/ is not up to date

`fides demo` and `tests/e2e/test_sample_flows.py` use these files. Everything is deterministic:
the dossiers are written here as field dicts (field names of shared/spec/formats/*.csv, A -> str,
N -> int, D -> date, M -> Decimal; repeated zones as lists of dicts under DMT, DA, DAD, ZA) and
rendered with fides' own layout codecs, latin-1 with CRLF line ends.

The VIDHOSP amounts (mt_tm, mt_fj, mt_total_amo, mt_base_remb) are not typed by hand: each
dossier is valued with `fides.billing.valorisation.valorise` under the billing parameters of a
fresh installation (the defaults of fides.config.SETTINGS: date de bascule 2025-01-01, budget H0,
tolerance 0.05 €, no TJP/TJC configured: the DMT blocks carry their unit price), the amounts it
expects are written into the VIDHOSP, and the dossier is validated again with
`fides.validation.validate`: a billable dossier must come out with no blocking finding, an
excluded one with its exclusion reason. The script stops with an error otherwise.

Establishment: FINESS e-PMSI 990000010, FINESS géographiques 990000028 and 990000036 (fake, with
a valid Luhn key). NIRs are fake with a correct key (97 - NIR mod 97). UCD and LPP codes are
dummies; CIM-10 and CCAM codes are real public codes, for realism only.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fides.billing.params import BillingParams  # noqa: E402
from fides.billing.valorisation import valorise  # noqa: E402
from fides.layouts import family, load  # noqa: E402
from fides.referentials import load_shipped  # noqa: E402
from fides.store.referentials import CodeSets  # noqa: E402
from fides.validation import DossierData, ValidationContext, validate  # noqa: E402

OUT = ROOT / "sample_flows"
FINESS = "990000010"
GEO_A = "990000028"  # site principal (chirurgie, réanimation, maternité)
GEO_B = "990000036"  # site médecine (médecine, cardiologie, oncologie, hémodialyse)
FINESS_CHIR_CARDIAQUE = "990000069"  # another (fake) establishment: transfer > 48 h
EOL = "\r\n"
ZERO = Decimal("0.00")

REFS = load_shipped()
CODES = CodeSets(REFS, REFS.tables())
# The billing parameters of a fresh installation (fides.config.SETTINGS defaults).
PARAMS = BillingParams(finess=FINESS, date_bascule=date(2025, 1, 1), budget_code="H0",
                       tolerance=Decimal("0.05"))
# The 2024 dossier is also checked under an installation that switched to FIDES before its exit
# (date de bascule 2024-10-01, exercice 2024 closed): it must then be billable on 2025.
PARAMS_2024 = BillingParams(finess=FINESS, date_bascule=date(2024, 10, 1), budget_code="H0",
                            tolerance=Decimal("0.05"), closed_exercices=frozenset({2024}))


# --- identifiers ------------------------------------------------------------------------------

def nir_key(body: str) -> str:
    if not body.isdigit():  # 'XXXXXXXXXXXXX': unknown identity
        return "XX"
    return f"{97 - int(body) % 97:02d}"


def nir(sexe: str, born: date, dept: str, commune: str, ordre: str) -> str:
    """A fake NIR body (13 digits) coherent with sex and birth date."""
    body = f"{sexe}{born:%y}{born:%m}{dept}{commune}{ordre}"
    assert len(body) == 13 and body.isdigit(), body
    return body


def luhn_ok(finess: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(finess)):
        n = int(ch) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


for _f in (FINESS, GEO_A, GEO_B, FINESS_CHIR_CARDIAQUE):
    assert luhn_ok(_f), _f


# --- the UM referential (IUM) -------------------------------------------------------------------

@dataclass(frozen=True)
class UM:
    num: str
    geo: str
    type_aut: str
    effet: date
    lits: int
    mode: str  # C HC, P HP, M mixte
    label: str


UMS = (
    UM("1201", GEO_A, "53", date(2020, 1, 1), 30, "C", "chirurgie digestive"),
    # UM 1202 moved from the main site to the medical site on 1 January 2025: two dates d'effet
    UM("1202", GEO_A, "29", date(2018, 1, 1), 24, "M", "médecine polyvalente (site principal)"),
    UM("1202", GEO_B, "29", date(2025, 1, 1), 28, "M", "médecine polyvalente (site médecine)"),
    UM("1301", GEO_A, "53", date(2022, 9, 1), 12, "P", "chirurgie ambulatoire"),
    UM("1401", GEO_A, "53", date(2021, 6, 1), 28, "C", "orthopédie-traumatologie"),
    UM("1502", GEO_B, "29", date(2019, 1, 1), 20, "C", "cardiologie"),
    UM("1701", GEO_B, "40", date(2023, 1, 1), 16, "M", "oncologie médicale"),
    UM("2101", GEO_B, "21", date(2019, 1, 1), 10, "P", "hémodialyse en centre"),
    UM("3001", GEO_A, "71", date(2020, 1, 1), 22, "C", "obstétrique"),
    UM("3002", GEO_A, "28", date(2020, 1, 1), 12, "C", "nouveau-nés auprès de leur mère"),
    UM("5001", GEO_A, "01A", date(2015, 1, 1), 12, "C", "réanimation polyvalente"),
)


def _um_at(num: str, on: date) -> UM | None:
    found = None
    for um in sorted((u for u in UMS if u.num == num), key=lambda u: u.effet):
        if um.effet <= on:
            found = um
    return found


def um_finess_geo(num: str, on: date) -> str | None:
    um = _um_at(num.strip(), on) if on else None
    return um.geo if um else None


def um_type(num: str, on: date) -> str | None:
    um = _um_at(num.strip(), on) if on else None
    return um.type_aut if um else None


def ium_record(um: UM) -> dict:
    return {"num_um": um.num, "finess_geo": um.geo, "type_autorisation": um.type_aut,
            "date_effet": um.effet, "nb_lits": um.lits, "mode_hospitalisation": um.mode}


# --- dossiers ---------------------------------------------------------------------------------

@dataclass
class Dossier:
    """One stay: its VIDHOSP fields, its RUMs, its FICHCOMP lines, and what fides should do."""

    nda: str
    label: str
    vidhosp: dict
    rums: list[dict]
    fichcomp: dict[str, list[dict]] = field(default_factory=dict)
    vidhosp_layout: str = "vidhosp_V015"
    rss_layout: str = "rss_grp_122"
    billable: bool = True  # billable in B2 under the default configuration
    exclusion: str = ""  # the VAL code of the exclusion when not billable


def dmt(discipline: str, mode: str, debut: date, fin: date, prix: str) -> dict:
    pu = Decimal(prix)
    qty = (fin - debut).days + 1
    return {"dmt_discipline": discipline, "dmt_mode_traitement": mode, "dmt_date_debut": debut,
            "dmt_date_fin": fin, "dmt_quantite": qty, "dmt_prix_unitaire": pu,
            "dmt_base_remb": pu * qty, "dmt_taux": 0, "dmt_montant_remb": ZERO}


def vidhosp(nda: str, *, nir_body: str, born: date, sexe: str, entree: date, sortie: date,
            dmts: list[dict], exo: str = "0", taux: int = 8000, nature: str = "10", pec_fj: str = "A",
            regime: str = "01", caisse: str = "691", centre: str = "0001", ipp: str, **over) -> dict:
    """A VIDHOSP V015 complet with the usual GAP values; amounts are filled in later."""
    v = {
        "nir_assure": nir_body, "cle_nir_assure": nir_key(nir_body),
        "code_grand_regime": regime, "code_gestion": "10", "date_naissance": born, "sexe": sexe,
        "num_admin_sejour": nda, "num_format": "V015", "finess_epmsi": FINESS,
        "nir_individuel": nir_body, "cle_nir_individuel": nir_key(nir_body),
        "justif_exo_tm": exo, "code_pec_fj": pec_fj, "nature_assurance": nature, "type_contrat": "",
        "sejour_facturable_am": "1", "motif_non_facturation": "", "facturation_18e": "0",
        "nb_venues": 1,
        "mt_tm": ZERO, "mt_fj": ZERO, "mt_total_amo": ZERO, "mt_majo_parcours": ZERO, "mt_base_remb": ZERO,
        "taux_remb": taux, "beneficiaire_cmu": "0",
        "num_admin_sejour_mere": "", "nn_aupres_mere": "", "hospit_prelevement_organe": "",
        "date_hospitalisation": entree, "mt_total_amc": ZERO, "code_participation_assure": "",
        "num_entree": nda[1:], "rang_naissance": 1, "rang_beneficiaire": "000",
        "caisse_gestionnaire": caisse, "centre_gestionnaire": centre, "filler_201": "",
        "conf_soins_urgents": "", "num_at_date_accident": "", "num_organisme_complementaire": "",
        "nature_piece_justif": "1", "date_pec": None, "date_validite_droits": date(2025, 1, 1),
        "delivree_par": caisse, "regime_prestation": "000", "top_eclatement": "",
        "date_entree": entree, "date_sortie": sortie,
        "mt_facture_patient": ZERO, "rejet_amo": "0", "date_fact_amo": sortie + timedelta(days=4),
        "date_fact_amc": None, "date_fact_patient": None, "date_paie_amo": None, "date_paie_amc": None,
        "date_paie_patient": None, "statut_ft_amo": "1", "statut_ft_amc": "9", "statut_ft_patient": "0",
        "pays_assurance": "100", "ipp": ipp, "ins": nir_body + nir_key(nir_body), "art51": "",
        "complement_num_titre": "", "top_medecin_traitant": "O", "nom_medecin_traitant": "",
        "prenom_medecin_traitant": "", "indicateur_parcours_soins": "T", "cmuc_gestion_unique": "",
        "etab_transfert": "", "etab_retour": "", "nb_dmt": len(dmts), "DMT": dmts,
    }
    unknown = over.keys() - v.keys()
    assert not unknown, unknown
    v.update(over)
    return v


def rum(nda: str, num_rum: int, *, ghm: str, born: date, sexe: str, um: str, entree: date, sortie: date,
        mode_entree: str = "8", provenance: str = "", mode_sortie: str = "8", destination: str = "",
        dp: str, da: tuple[str, ...] = (), actes: tuple[tuple[date, str, str], ...] = (),
        code_postal: str = "69003", **over) -> dict:
    """A RUM of a RSS groupé 122; actes are (date, CCAM code, activity)."""
    gv = f"{sortie:%y}"
    r = {
        "gv_classification": gv, "ghm_cmd": ghm[:2], "ghm_suite": ghm[2:], "filler_9": "",
        "version_rss": "122", "code_retour_groupage": "000", "finess_epmsi": FINESS, "version_rum": "022",
        "num_rss": nda[2:], "num_admin_sejour": nda, "num_rum": str(num_rum), "date_naissance": born,
        "sexe": sexe, "num_um": um, "type_aut_lit_dedie": "", "date_entree_um": entree,
        "mode_entree_um": mode_entree, "provenance": provenance, "date_sortie_um": sortie,
        "mode_sortie_um": mode_sortie, "destination": destination, "code_postal": code_postal,
        "poids_nn": 0, "age_gestationnel": 0, "ddr": None, "nb_seances": 0,
        "dp": dp, "dr": "", "igs2": 0, "confirmation_codage": "", "type_machine_radiotherapie": "",
        "type_dosimetrie": "", "num_innovation": "", "conversion_hc": "", "prise_en_charge_raac": "",
        "contexte_patient_surveillance": "", "administration_produit_rh": "", "rescrit_tarifaire": "",
        "categorie_nb_interventions": "", "non_programme": "", "passage_urgences": "",
        "filler_186": "", "zone_reservee_190": "",
        "DA": [{"da": code} for code in da], "DAD": [],
        "ZA": [{"za_date_realisation": day, "za_code_ccam": code, "za_extension_pmsi": "", "za_phase": "0",
                "za_activite": act, "za_extension_documentaire": "", "za_modificateurs": "",
                "za_remb_exceptionnel": "", "za_association_non_prevue": "", "za_nb_realisations": 1}
               for day, code, act in actes],
    }
    unknown = over.keys() - r.keys()
    assert not unknown, unknown
    r.update(over)
    return r


def med(nda: str, day: date, ucd: str, nb: str, total: str, indication: str) -> dict:
    return {"finess_epmsi": FINESS, "type_prestation": "06", "num_admin_sejour": nda,
            "date_administration": day, "code_ucd": ucd, "nb_administre": Decimal(nb),
            "prix_achat_total": Decimal(total), "validation_centre_reference": "",
            "code_indication": indication, "filler_83": ""}


def dmi(nda: str, day: date, lpp: str, nombre: int, montant: str) -> dict:
    return {"finess_epmsi": FINESS, "type_prestation": "02", "num_admin_sejour": nda, "filler_32": "",
            "date_debut": day, "filler_50": "", "code": lpp, "nombre": nombre, "montant": Decimal(montant)}


D = date


def dossiers() -> list[Dossier]:
    out: list[Dossier] = []

    # 1. Short surgical stay: appendicectomy by laparoscopy, via the emergency department.
    nda, born = "2025000201", D(1985, 7, 14)
    body = nir("1", born, "69", "123", "045")
    out.append(Dossier(
        nda, "appendicectomie, séjour chirurgical court (3 nuits), non exonéré (80 %), FJ à la charge du patient",
        vidhosp(nda, nir_body=body, born=born, sexe="1", entree=D(2025, 3, 3), sortie=D(2025, 3, 6),
                ipp="00100201", dmts=[dmt("146", "03", D(2025, 3, 3), D(2025, 3, 5), "1254.00")]),
        [rum(nda, 1, ghm="06C091", born=born, sexe="1", um="1201", entree=D(2025, 3, 3), sortie=D(2025, 3, 6),
             mode_entree="8", provenance="5", dp="K358", da=("I10",), passage_urgences="5", non_programme="1",
             actes=((D(2025, 3, 3), "HHFA016", "1"), (D(2025, 3, 3), "HHFA016", "4")))],
    ))

    # 2. Long stay above the borne haute (EXH): heart failure, 28 nights for a borne haute of 17.
    nda, born = "2025000202", D(1941, 2, 9)
    body = nir("2", born, "69", "381", "112")
    out.append(Dossier(
        nda, "insuffisance cardiaque, séjour long (28 nuits > borne haute 17 : 11 jours EXH), non exonéré",
        vidhosp(nda, nir_body=body, born=born, sexe="2", entree=D(2025, 3, 3), sortie=D(2025, 3, 31),
                ipp="00100202", dmts=[dmt("101", "03", D(2025, 3, 3), D(2025, 3, 30), "1102.00")]),
        [rum(nda, 1, ghm="05M092", born=born, sexe="2", um="1202", entree=D(2025, 3, 3), sortie=D(2025, 3, 31),
             mode_entree="8", provenance="5", dp="I500", da=("N183", "E119", "I48"), passage_urgences="5",
             non_programme="1", code_postal="69100", actes=((D(2025, 3, 4), "DZQM006", "1"),))],
    ))

    # 3. Exonerated stay (ALD, taux 100): COPD exacerbation, réanimation then médecine (2 RUMs, 2 DMT).
    nda, born = "2025000203", D(1958, 11, 2)
    body = nir("1", born, "69", "266", "031")
    out.append(Dossier(
        nda, "BPCO surinfectée, exonéré ALD (taux 100), réanimation 3 nuits (suppléments REA) puis médecine",
        vidhosp(nda, nir_body=body, born=born, sexe="1", entree=D(2025, 3, 10), sortie=D(2025, 3, 21),
                exo="4", taux=10000, ipp="00100203",
                dmts=[dmt("104", "03", D(2025, 3, 10), D(2025, 3, 13), "2987.00"),
                      dmt("101", "03", D(2025, 3, 13), D(2025, 3, 20), "1102.00")]),
        [rum(nda, 1, ghm="04M203", born=born, sexe="1", um="5001", entree=D(2025, 3, 10), sortie=D(2025, 3, 13),
             mode_entree="8", provenance="5", mode_sortie="6", destination="1", dp="J441", da=("J9600", "E872"),
             igs2=32, passage_urgences="5", non_programme="1", code_postal="69008",
             actes=((D(2025, 3, 10), "GELD004", "1"), (D(2025, 3, 10), "GLLD015", "1"))),
         rum(nda, 2, ghm="04M203", born=born, sexe="1", um="1202", entree=D(2025, 3, 13), sortie=D(2025, 3, 21),
             mode_entree="6", provenance="R", dp="J441", da=("J9600",), code_postal="69008")],
    ))

    # 4. Accident du travail (nature 41, n° d'AT): fall from a scaffold, femoral neck fracture.
    nda, born = "2025000204", D(1979, 5, 23)
    body = nir("1", born, "42", "218", "077")
    out.append(Dossier(
        nda, "accident du travail (nature 41, n° d'AT), fracture du col du fémur, taux 100, FJ régime",
        vidhosp(nda, nir_body=body, born=born, sexe="1", entree=D(2025, 3, 11), sortie=D(2025, 3, 18),
                nature="41", taux=10000, pec_fj="R", ipp="00100204", num_at_date_accident="250311695",
                dmts=[dmt("153", "03", D(2025, 3, 11), D(2025, 3, 17), "1388.00")]),
        [rum(nda, 1, ghm="08C491", born=born, sexe="1", um="1401", entree=D(2025, 3, 11), sortie=D(2025, 3, 18),
             mode_entree="8", provenance="5", dp="S7200", da=("W1199",), passage_urgences="5", non_programme="1",
             code_postal="69200",
             actes=((D(2025, 3, 12), "NBCA006", "1"), (D(2025, 3, 12), "NBCA006", "4")))],
    ))

    # 5. Delivery (maternité, nature 30) and 6. her newborn, billed with the mother's N° administratif.
    nda_mere, born_mere = "2025000205", D(1992, 3, 9)
    body_mere = nir("2", born_mere, "69", "383", "154")
    out.append(Dossier(
        nda_mere, "accouchement par voie basse (maternité, nature 30), taux 100, FJ à la charge du régime",
        vidhosp(nda_mere, nir_body=body_mere, born=born_mere, sexe="2", entree=D(2025, 3, 17),
                sortie=D(2025, 3, 20), nature="30", taux=10000, pec_fj="R", ipp="00100205",
                dmts=[dmt("165", "03", D(2025, 3, 17), D(2025, 3, 19), "1045.00")]),
        [rum(nda_mere, 1, ghm="14Z14A", born=born_mere, sexe="2", um="3001", entree=D(2025, 3, 17),
             sortie=D(2025, 3, 20), dp="O800", da=("Z370",), code_postal="69007", ddr=D(2024, 6, 10),
             age_gestationnel=40, actes=((D(2025, 3, 18), "JQGD010", "1"),))],
    ))
    nda, born = "2025000206", D(2025, 3, 18)
    out.append(Dossier(
        nda, "nouveau-né auprès de sa mère (N° administratif de la mère 2025000205), exonéré (taux 100)",
        vidhosp(nda, nir_body=body_mere, born=born, sexe="1", entree=D(2025, 3, 18), sortie=D(2025, 3, 20),
                exo="3", nature="30", taux=10000, pec_fj="R", ipp="00100206", num_admin_sejour_mere=nda_mere,
                nn_aupres_mere="1", rang_naissance=1, nir_individuel="", cle_nir_individuel="", ins="",
                dmts=[dmt("110", "03", D(2025, 3, 18), D(2025, 3, 19), "890.00")]),
        [rum(nda, 1, ghm="15M05A", born=born, sexe="1", um="3002", entree=D(2025, 3, 18), sortie=D(2025, 3, 20),
             mode_entree="8", provenance="N", dp="Z380", code_postal="69007", poids_nn=3350, age_gestationnel=40)],
    ))

    # 7. Transfer > 48 h to another establishment, and 14. the return (two stays, two invoices).
    nda_aller, born = "2025000207", D(1950, 10, 30)
    body = nir("1", born, "69", "029", "208")
    out.append(Dossier(
        nda_aller, "infarctus, transfert > 48 h vers un autre établissement (mode de sortie 7, FINESS de transfert)",
        vidhosp(nda_aller, nir_body=body, born=born, sexe="1", entree=D(2025, 3, 17), sortie=D(2025, 3, 20),
                ipp="00100207", etab_transfert=FINESS_CHIR_CARDIAQUE,
                dmts=[dmt("127", "03", D(2025, 3, 17), D(2025, 3, 19), "1215.00")]),
        [rum(nda_aller, 1, ghm="05M041", born=born, sexe="1", um="1502", entree=D(2025, 3, 17),
             sortie=D(2025, 3, 20), mode_entree="8", provenance="5", mode_sortie="7", destination="1",
             dp="I214", da=("I10", "E785"), passage_urgences="5", non_programme="1", code_postal="69005",
             actes=((D(2025, 3, 17), "DEQP003", "1"),))],
    ))

    # 8. MED en sus (FICHCOMP 06): oncology stay with a liste en sus drug, exonerated ALD.
    nda, born = "2025000208", D(1967, 8, 21)
    body = nir("2", born, "38", "185", "063")
    out.append(Dossier(
        nda, "chimiothérapie avec médicament de la liste en sus (FICHCOMP MED 06, 2 administrations), exonéré ALD",
        vidhosp(nda, nir_body=body, born=born, sexe="2", entree=D(2025, 3, 10), sortie=D(2025, 3, 14),
                exo="4", taux=10000, ipp="00100208", caisse="381", delivree_par="381",
                dmts=[dmt("126", "03", D(2025, 3, 10), D(2025, 3, 13), "1320.00")]),
        [rum(nda, 1, ghm="17M062", born=born, sexe="2", um="1701", entree=D(2025, 3, 10), sortie=D(2025, 3, 14),
             dp="Z511", dr="C509", da=("D701",), code_postal="38000")],
        fichcomp={"06": [med(nda, D(2025, 3, 11), "9400890000101", "1.000", "1245.800", "I000457"),
                         med(nda, D(2025, 3, 13), "9400890000101", "1.500", "1868.700", "I000457")]},
    ))

    # 9. DMI (FICHCOMP 02): total hip replacement, MSA (régime 02), not exonerated.
    nda, born = "2025000209", D(1953, 4, 16)
    body = nir("2", born, "01", "053", "019")
    out.append(Dossier(
        nda, "prothèse totale de hanche (FICHCOMP DMI 02 : cupule et tige), assurée MSA (régime 02), non exonérée",
        vidhosp(nda, nir_body=body, born=born, sexe="2", entree=D(2025, 3, 24), sortie=D(2025, 3, 29),
                regime="02", caisse="011", centre="0000", delivree_par="011", ipp="00100209",
                dmts=[dmt("153", "03", D(2025, 3, 24), D(2025, 3, 28), "1388.00")]),
        [rum(nda, 1, ghm="08C481", born=born, sexe="2", um="1401", entree=D(2025, 3, 24), sortie=D(2025, 3, 29),
             dp="M161", da=("I10",), code_postal="01000",
             actes=((D(2025, 3, 25), "NEKA020", "1"), (D(2025, 3, 25), "NEKA020", "4")))],
        fichcomp={"02": [dmi(nda, D(2025, 3, 25), "3100015", 1, "1150.000"),
                         dmi(nda, D(2025, 3, 25), "3100023", 1, "1480.000")]},
    ))

    # 12. Ambulatory stay: cataract surgery, same day, no forfait journalier.
    nda, born = "2025000212", D(1948, 12, 1)
    body = nir("2", born, "69", "123", "310")
    out.append(Dossier(
        nda, "cataracte en chirurgie ambulatoire (entrée et sortie le même jour, pas de FJ), non exonérée",
        vidhosp(nda, nir_body=body, born=born, sexe="2", entree=D(2025, 3, 25), sortie=D(2025, 3, 25),
                ipp="00100212", dmts=[dmt("157", "23", D(2025, 3, 25), D(2025, 3, 25), "1620.00")]),
        [rum(nda, 1, ghm="02C05J", born=born, sexe="2", um="1301", entree=D(2025, 3, 25), sortie=D(2025, 3, 25),
             dp="H251", code_postal="69006", actes=((D(2025, 3, 25), "BFGA004", "1"),
                                                   (D(2025, 3, 25), "BFGA004", "4")))],
    ))

    # 14. Return from the transfer > 48 h (see 7): same patient, établissement de retour.
    born = D(1950, 10, 30)
    body = nir("1", born, "69", "029", "208")
    nda = "2025000214"
    out.append(Dossier(
        nda, "retour du transfert > 48 h (mode d'entrée 7, établissement de retour, date d'hospitalisation initiale)",
        vidhosp(nda, nir_body=body, born=born, sexe="1", entree=D(2025, 3, 27), sortie=D(2025, 4, 2),
                ipp="00100207", etab_retour=FINESS_CHIR_CARDIAQUE, date_hospitalisation=D(2025, 3, 17),
                dmts=[dmt("127", "03", D(2025, 3, 27), D(2025, 4, 1), "1215.00")]),
        [rum(nda, 1, ghm="05M091", born=born, sexe="1", um="1502", entree=D(2025, 3, 27), sortie=D(2025, 4, 2),
             mode_entree="7", provenance="1", dp="I501", da=("Z951", "I10"), code_postal="69005")],
    ))

    # 13. Exit in 2024 (closed exercice): V014, before the date de bascule of a fresh installation.
    nda, born = "2025000213", D(1962, 1, 27)
    body = nir("1", born, "69", "388", "121")
    v = vidhosp(nda, nir_body=body, born=born, sexe="1", entree=D(2024, 12, 16), sortie=D(2024, 12, 20),
                ipp="00100213", date_validite_droits=D(2024, 1, 1),
                dmts=[dmt("101", "03", D(2024, 12, 16), D(2024, 12, 19), "1085.00")])
    v["num_format"] = "V014"
    for block in v["DMT"]:
        del block["dmt_quantite"]  # V014 DMT blocks have no quantity
    out.append(Dossier(
        nda, "pneumonie sortie le 20/12/2024 (VIDHOSP V014) : avant la date de bascule 2025-01-01, exercice 2024",
        v,
        [rum(nda, 1, ghm="04M051", born=born, sexe="1", um="1202", entree=D(2024, 12, 16), sortie=D(2024, 12, 20),
             mode_entree="8", provenance="5", dp="J189", da=("J9600",), code_postal="69009",
             passage_urgences="5", non_programme="1")],
        vidhosp_layout="vidhosp_V014", billable=False, exclusion="VAL019",
    ))

    # 10. AME: séjour non facturable (0, motif 1), unknown identity (X), V016 with no DMT block.
    nda, born = "2025000210", D(1978, 11, 21)
    v = vidhosp(nda, nir_body="XXXXXXXXXXXXX", born=born, sexe="2", entree=D(2025, 3, 5), sortie=D(2025, 3, 9),
                exo="X", taux=0, nature="XX", pec_fj="X", regime="XX", caisse="   ", centre="    ",
                ipp="00100210", dmts=[], sejour_facturable_am="0", motif_non_facturation="1",
                nir_individuel="", cle_nir_individuel="", ins="", delivree_par="", code_gestion="",
                beneficiaire_cmu="", date_validite_droits=None, date_fact_amo=None, statut_ft_amo="9",
                statut_ft_patient="9", indicateur_parcours_soins="", top_medecin_traitant="",
                nature_piece_justif="", pays_assurance="000", regime_prestation="000")
    v["cle_nir_assure"] = "XX"
    v["num_format"] = "V016"
    out.append(Dossier(
        nda, "patiente AME : séjour non facturable (0, motif 1), identité inconnue (X), VIDHOSP V016 sans DMT",
        v,
        [rum(nda, 1, ghm="04M051", born=born, sexe="2", um="1202", entree=D(2025, 3, 5), sortie=D(2025, 3, 9),
             mode_entree="8", provenance="5", dp="J159", code_postal="69003", passage_urgences="5",
             non_programme="1")],
        vidhosp_layout="vidhosp_V016", billable=False, exclusion="VAL011",
    ))

    # 11. Dialysis: a haemodialysis séance (RSS 123) with the forfait D11 sent in FICHCOMP.
    nda, born = "2025000211", D(1945, 2, 2)
    body = nir("1", born, "69", "264", "088")
    v = vidhosp(nda, nir_body=body, born=born, sexe="1", entree=D(2025, 3, 7), sortie=D(2025, 3, 7),
                exo="4", taux=10000, ipp="00100211",
                dmts=[dmt("797", "19", D(2025, 3, 7), D(2025, 3, 7), "310.00")])
    v["num_format"] = "V016"
    r = rum(nda, 1, ghm="28Z04Z", born=born, sexe="1", um="2101", entree=D(2025, 3, 7), sortie=D(2025, 3, 7),
            dp="Z491", da=("N185",), code_postal="69008", nb_seances=1,
            actes=((D(2025, 3, 7), "JVJF008", "1"),))
    r.update({"version_rss": "123", "version_rum": "023", "patient_complexe_radiotherapie": "",
              "nb_tumeurs_radiotherapie": 0, "radiotherapie_adaptative": "", "radiotherapie_hypofractionnee": "",
              "niveau_complexite_dialyse": "1", "score_complexite_dialyse": 5,
              "nb_consult_reevaluation_dialyse": 1, "temps_hebdo_dialyse": 720})
    for za in r["ZA"]:
        za.update({"za_horaire_dialyse": "0", "za_typologie_dialyse": "21"})
    out.append(Dossier(
        nda, "séance d'hémodialyse (RSS 123, VIDHOSP V016) avec le forfait dialyse D11 en FICHCOMP : hors B2",
        v, [r],
        fichcomp={"07": [{"finess_epmsi": FINESS, "type_prestation": "07", "num_admin_sejour": nda,
                          "filler_32": "", "date_debut": D(2025, 3, 7), "date_fin": D(2025, 3, 7), "code": "D11",
                          "nombre": 1, "filler_83": ""}]},
        vidhosp_layout="vidhosp_V016", rss_layout="rss_grp_123", billable=False, exclusion="VAL015",
    ))
    return out


FICHCOMP_LAYOUT = {"06": "fichcomp_med", "02": "fichcomp_dmi", "07": "fichcomp_dip"}


# --- rendering and checks ---------------------------------------------------------------------

def render(layout: str, record: dict) -> str:
    lay = load(layout)
    line = lay.render(record)
    findings = [f for f in lay.check(line, CODES, 0) if f.blocking]
    if findings:
        raise SystemExit(f"{layout}: {record.get('num_admin_sejour', '')}: {[str(f) for f in findings]}")
    return line


def data_of(d: Dossier) -> DossierData:
    """The dossier as fides reads it back from the lines it stored."""
    vline = render(d.vidhosp_layout, d.vidhosp)
    vlay = load(d.vidhosp_layout)
    rums = tuple(load(d.rss_layout).parse(render(d.rss_layout, r)) for r in d.rums)
    fc = {t: tuple(load(FICHCOMP_LAYOUT[t]).parse(render(FICHCOMP_LAYOUT[t], x)) for x in lines)
          for t, lines in d.fichcomp.items()}
    return DossierData(FINESS, d.nda, vlay.parse(vline), vlay.version, vlay.part(vline), rums, fc)


def context(params: BillingParams) -> ValidationContext:
    return ValidationContext(params, REFS, um_finess_geo, date(2025, 4, 3), um_type)


def price(d: Dossier) -> None:
    """Put into the VIDHOSP the amounts fides' valorisation expects, then check the verdict."""
    v = d.vidhosp
    if v.get("sejour_facturable_am") == "1":
        params = PARAMS if d.exclusion != "VAL019" else PARAMS_2024
        data = data_of(d)
        if d.exclusion == "VAL015":  # the GAP values the séance; the forfait D11 is e-PMSI's business
            data = DossierData(data.finess, data.nda, data.vidhosp, data.vidhosp_version, data.vidhosp_part,
                               data.rums, {})
        val = valorise(data, context(params))
        bad = [f for f in val.findings if f.blocking and f.code not in ("FAC010", "FAC011")]
        if bad:
            raise SystemExit(f"{d.nda}: valorisation {[str(f) for f in bad]}")
        for key in ("mt_tm", "mt_fj", "mt_total_amo", "mt_base_remb"):
            v[key] = val.expected_vidhosp[key]
        v["mt_total_amc"] = v["mt_tm"] + v["mt_fj"] if v["code_pec_fj"] == "A" else v["mt_tm"]
    verdict = validate(data_of(d), context(PARAMS))
    if verdict.blocking:
        raise SystemExit(f"{d.nda}: blocking findings {[str(f) for f in verdict.findings]}")
    if verdict.billable_b2 != d.billable:
        raise SystemExit(f"{d.nda}: billable_b2 {verdict.billable_b2}, expected {d.billable}: {verdict}")
    if not d.billable and d.exclusion not in {f.code for f in verdict.findings}:
        raise SystemExit(f"{d.nda}: exclusion {d.exclusion} expected, got {verdict}")
    if d.billable:
        val = valorise(data_of(d), context(PARAMS))
        if val.blocking:
            raise SystemExit(f"{d.nda}: valorisation {[str(f) for f in val.findings]}")
    if d.exclusion == "VAL019":  # billable once the installation switched to FIDES before its exit
        verdict = validate(data_of(d), context(PARAMS_2024))
        if verdict.blocking or not verdict.billable_b2:
            raise SystemExit(f"{d.nda}: not billable with date_bascule 2024-10-01: {verdict}")


# --- files ------------------------------------------------------------------------------------

def name(flux: str, stamp: str, seq: int, suffix: str = "") -> str:
    return f"{flux}_{FINESS}_{stamp}_{seq:04d}{suffix}.txt"


def lines_bytes(lines: list[str]) -> bytes:
    return "".join(line + EOL for line in lines).encode("latin-1")


def build() -> dict[str, bytes]:
    """file name -> content."""
    files: dict[str, bytes] = {}
    all_dossiers = dossiers()
    for d in all_dossiers:
        price(d)
    by_nda = {d.nda: d for d in all_dossiers}

    # IUM: the UM list
    files[name("IUM", "20250401080000", 1)] = lines_bytes([render("ium_2013", ium_record(u)) for u in UMS])

    # VIDHOSP: V015 (most dossiers), V014 (the 2024 stay) in the same second, V016 a bit later
    v015 = [d for d in all_dossiers if d.vidhosp_layout == "vidhosp_V015"]
    files[name("VIDHOSP", "20250402083000", 1)] = lines_bytes([render(d.vidhosp_layout, d.vidhosp) for d in v015])
    v014 = [d for d in all_dossiers if d.vidhosp_layout == "vidhosp_V014"]
    files[name("VIDHOSP", "20250402083000", 2)] = lines_bytes([render(d.vidhosp_layout, d.vidhosp) for d in v014])
    v016 = [d for d in all_dossiers if d.vidhosp_layout == "vidhosp_V016"]
    files[name("VIDHOSP", "20250402083500", 1)] = lines_bytes([render(d.vidhosp_layout, d.vidhosp) for d in v016])

    # RSS: groupé 122 (every stay but the dialysis séance), groupé 123 (the dialysis séance)
    files[name("RSS", "20250403070000", 1)] = lines_bytes(
        [render(d.rss_layout, r) for d in all_dossiers if d.rss_layout == "rss_grp_122" for r in d.rums])
    files[name("RSS", "20250403070000", 2)] = lines_bytes(
        [render(d.rss_layout, r) for d in all_dossiers if d.rss_layout == "rss_grp_123" for r in d.rums])

    # FICHCOMP: MED (06), DMI (02), DIP file (07) carrying the dialysis forfait
    for seq, ftype in ((1, "06"), (2, "02"), (3, "07")):
        lines = [render(FICHCOMP_LAYOUT[ftype], x) for d in all_dossiers for x in d.fichcomp.get(ftype, ())]
        files[name("FICHCOMP", "20250402180000", seq)] = lines_bytes(lines)

    # Billing request: every VALIDE dossier
    files[name("B2REQUEST", "20250404080000", 1)] = lines_bytes(["*"])

    # Insurance returns and the billing office's answers, on the titres the B2REQUEST gives
    plan = billing_plan(all_dossiers, files)
    files.update(returns(by_nda, plan))

    # State request (one unknown N°) and the monthly e-PMSI export of March 2025
    files[name("STATEREQUEST", "20250416100000", 1)] = lines_bytes(
        ["2025000201", "2025000202", "2025000204", "2025000207", "2025000208", "2025000210", "2025000213",
         "2025009999"])
    files[name("EXTRACTEPMSI", "20250502080000", 1)] = lines_bytes(["202503"])

    files.update(error_files(by_nda))
    return files


# --- what the B2REQUEST will give, and the returns that answer it -----------------------------

@dataclass(frozen=True)
class Billed:
    titre: int
    complement: str
    geo: str
    lot: int
    organisme: str
    total_amo: Decimal
    lines: tuple  # the valorisation's invoice lines


def billing_plan(all_dossiers: list[Dossier], files: dict[str, bytes]) -> dict[str, Billed]:
    """Titres and lots of the first billing run of a fresh installation (DESIGN §6, as
    fides/billing/run.py does it): dossiers are created in the order of the VIDHOSP files (by name,
    as `fides demo` drops them) and, within a file, of their N° administratif; titres 1, 2… of the
    exit year follow that order; lots group a FINESS géographique, an organisme and an exercice,
    sorted, numbered 001… per FINESS géographique. The dialysis dossier (last created) is left
    out: it is not billable once its FICHCOMP is in."""
    order: list[Dossier] = []
    by_nda = {d.nda: d for d in all_dossiers}
    for fname in sorted(n for n in files if n.startswith("VIDHOSP_")):
        ndas = sorted({line[28:48].strip() for line in files[fname].decode("latin-1").splitlines()})
        order += [by_nda[n] for n in ndas]
    billable = [d for d in order if d.billable]
    valued = {d.nda: valorise(data_of(d), context(PARAMS)) for d in billable}
    titres = {d.nda: i for i, d in enumerate(billable, start=1)}
    groups: dict[tuple[str, str, int], list[Dossier]] = {}
    for d in billable:
        v = d.vidhosp
        organisme = f"{v['code_grand_regime']}{v['caisse_gestionnaire']}{v['centre_gestionnaire']:<4}"
        groups.setdefault((valued[d.nda].finess_geo, organisme, v["date_sortie"].year), []).append(d)
    plan, lot_of_geo = {}, {}
    for (geo, organisme, exercice), members in sorted(groups.items()):
        lot = lot_of_geo[geo] = lot_of_geo.get(geo, 0) + 1
        for d in members:
            val = valued[d.nda]
            plan[d.nda] = Billed(titres[d.nda], f"{exercice}{PARAMS.budget_code}", geo, lot, organisme,
                                 val.total_amo, tuple(x for x in val.lines if not x.informative))
    return plan


NOEMIE = family("noemie")
CONTROL = family("control")
CPAM_RHONE = "016910000"  # the caisse that sends the returns (grand régime 01, caisse 691)


def entity(number: str, **fields) -> str:
    lay = NOEMIE[number]
    rec = {"num_entite": int(number), **fields}
    line = lay.render(rec).rstrip(" ")
    assert not [f for f in lay.check(line, None, 0) if f.blocking], (number, fields)
    return line


def noemie_file(reference: int, created: date, body: list[str]) -> bytes:
    """A NOEMIE file as transports deliver it: entities ended by '@', one per line."""
    head = entity("000", type_emetteur="OR", num_emetteur=CPAM_RHONE, type_destinataire="ES",
                  num_destinataire=FINESS, date_creation=created, filler_042="", reference=reference)
    ents = [head, *body]
    ents.append(entity("999", nb_entites_fichier=len(ents) + 1))
    return lines_bytes([e + "@" for e in ents])


def _invoice_entities(d: Dossier, b: Billed, facture: int, movement: date | None,
                      motifs: tuple[tuple[str, str], ...] = ()) -> list[str]:
    v = d.vidhosp
    ents = [entity("100", niveau=5, num_facture=facture),
            entity("105", niveau=5, complement_num_titre=b.complement, num_titre=b.titre),
            entity("110", niveau=5, matricule_assure=v["nir_assure"] + v["cle_nir_assure"], filler_021="",
                   nom_assure="PATIENT FICTIF", filler_047="", prenom_assure=d.nda[-3:]),
            entity("120", niveau=5, date_naissance=v["date_naissance"], rang_naissance=v["rang_naissance"],
                   nom_malade="PATIENT FICTIF", prenom_malade=d.nda[-3:]),
            entity("150", niveau=5, nature_assurance=int(v["nature_assurance"]))]
    for x in b.lines:
        ents.append(entity("220", niveau=6, code_acte=x.code_prestation, date_debut=x.date_debut,
                           date_fin=x.date_fin, quantite=x.quantite, base_remboursement=x.base_remboursement,
                           taux=x.taux, filler_037="", montant_rembourse=x.montant_amo))
    if movement is not None:
        ents.append(entity("250", niveau=6, date_mouvement=movement, montant_mouvement=b.total_amo))
    for code, label in motifs:
        ents.append(entity("290", niveau=6, type_retour="R", code_motif=code, libelle_motif=label))
    ents.append(entity("990", niveau=5, nb_entites=len(ents) + 1, filler_012="",
                       montant=b.total_amo if movement is not None else ZERO))
    return ents


def _by_lot(ndas: list[str], plan: dict[str, Billed]) -> dict[tuple[str, int], list[str]]:
    out: dict[tuple[str, int], list[str]] = {}
    for nda in ndas:
        out.setdefault((plan[nda].geo, plan[nda].lot), []).append(nda)
    return out


def _returns_body(ndas: list[str], by_nda: dict[str, Dossier], plan: dict[str, Billed], day: date,
                  paid: bool, motifs: dict[str, tuple[tuple[str, str], ...]]) -> list[str]:
    body: list[str] = []
    for (geo, lot), members in sorted(_by_lot(ndas, plan).items()):
        body += [entity("040", niveau=2, destinataire=geo), entity("070", niveau=3, date_journee_comptable=day),
                 entity("080", niveau=4, num_lot=lot)]
        start = len(body)
        total = ZERO
        for nda in members:
            b = plan[nda]
            body += _invoice_entities(by_nda[nda], b, b.titre, day if paid else None, motifs.get(nda, ()))
            total += b.total_amo if paid else ZERO
        body.append(entity("990", niveau=4, nb_entites=len(body) - start + 3, filler_012="", montant=total))
    return body


def returns(by_nda: dict[str, Dossier], plan: dict[str, Billed]) -> dict[str, bytes]:
    """NOEMIE 930 / 908 / 578 from the CPAM du Rhône, then MANAGEREJECT and CANCELPAIDREQUEST.

    The lot date (entity 080) is left blank: the lots are created on the day `fides demo` runs,
    and without a date fides takes the latest lot of that number (lot numbers cycle 001-999)."""
    files = {}
    rhone = sorted({(b.geo, b.lot) for b in plan.values() if b.organisme.startswith("01691")})
    body = []
    for geo, lot in rhone:
        body += [entity("040", niveau=2, destinataire=geo), entity("080", niveau=4, num_lot=lot,
                                                                   statut_acquittement="P")]
    files[name("NOEMIE", "20250407061500", 1)] = noemie_file(930, D(2025, 4, 7), body)

    rejects = {
        "2025000202": (("A0101", "DROITS NON OUVERTS A LA DATE DES SOINS (CODE ILLUSTRATIF)"),),
        "2025000207": (("A0215", "CODE ORGANISME COMPLEMENTAIRE INCONNU (CODE ILLUSTRATIF)"),),
    }
    files[name("NOEMIE", "20250410061500", 1)] = noemie_file(
        908, D(2025, 4, 10), _returns_body(sorted(rejects), by_nda, plan, D(2025, 4, 10), False, rejects))
    files[name("NOEMIE", "20250411061500", 1)] = noemie_file(
        578, D(2025, 4, 11), _returns_body(["2025000201", "2025000204"], by_nda, plan, D(2025, 4, 11), True, {}))

    # 2025000207: confirmed as is (the caisse fixed its organisme table): back to VALIDE, same titre;
    # 2025000202: cancelled (rights to be checked with the patient): EN_COURS, titre cancelled
    lay = CONTROL["MANAGEREJECT"]
    lines = []
    for nda, action, motif in (("2025000202", "A", "A0101"), ("2025000207", "C", "A0215")):
        b = plan[nda]
        lines.append(lay.render({"num_admin_sejour": nda, "num_titre": b.titre, "complement_num_titre": b.complement,
                                 "action": action, "date_rejet": D(2025, 4, 10), "code_motif_rejet": motif}))
    files[name("MANAGEREJECT", "20250414090000", 1)] = lines_bytes(lines)

    # 2025000201 was paid, then the DIM recoded the stay after a T2A control: PMSI rectification only
    lay = CONTROL["CANCELPAIDREQUEST"]
    b = plan["2025000201"]
    files[name("CANCELPAIDREQUEST", "20250415090000", 1)] = lines_bytes([lay.render({
        "num_admin_sejour": "2025000201", "num_titre": b.titre, "complement_num_titre": b.complement,
        "date_demande": D(2025, 4, 15), "motif": "RECTIFICATION PMSI APRES CONTROLE T2A"}).rstrip(" ")])
    return files


def _again(d: Dossier, nda: str) -> dict:
    """The VIDHOSP of `d` for another N° administratif (the error files use fresh dossiers)."""
    v = dict(d.vidhosp, num_admin_sejour=nda, num_entree=nda[1:])
    v["DMT"] = [dict(b) for b in d.vidhosp["DMT"]]
    return v


def error_files(by_nda: dict[str, Dossier]) -> dict[str, bytes]:
    """Files with one error each, on purpose; every other line of them is correct."""
    files = {}
    base = by_nda["2025000201"]

    # impossible date: 30/02/2025 as date de sortie (line 2, positions 283-290)
    good = [render("vidhosp_V015", _again(base, nda)) for nda in ("2025000301", "2025000302", "2025000303")]
    bad = good[1][:282] + "30022025" + good[1][290:]
    files[name("VIDHOSP", "20250402090000", 1, ".erreur-date")] = lines_bytes([good[0], bad, good[2]])

    # bad NIR key (line 2, positions 14-15): the right key plus one
    good = [render("vidhosp_V015", _again(base, nda)) for nda in ("2025000304", "2025000305")]
    key = good[1][13:15]
    wrong = f"{(int(key) % 97) + 1:02d}"
    bad = good[1][:13] + wrong + good[1][15:]
    files[name("VIDHOSP", "20250402090000", 2, ".erreur-cle-nir")] = lines_bytes([good[0], bad])

    # unknown version: 'V017' at positions 49-52 (line 1)
    good = [render("vidhosp_V015", _again(base, nda)) for nda in ("2025000306", "2025000307")]
    bad = good[0][:48] + "V017" + good[0][52:]
    files[name("VIDHOSP", "20250402090000", 3, ".erreur-version")] = lines_bytes([bad, good[1]])

    # truncated line: an RSS of two 2-RUM stays whose line 3 (first RUM of the second stay) stops
    # 20 characters short, inside its acts zone
    src = by_nda["2025000203"]
    lines = []
    for nda in ("2025000308", "2025000309"):
        for r in src.rums:
            lines.append(render("rss_grp_122", dict(r, num_admin_sejour=nda, num_rss=nda[2:])))
    lines[2] = lines[2][:-20]
    files[name("RSS", "20250403073000", 1, ".erreur-tronque")] = lines_bytes(lines)
    return files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="fail if sample_flows/ differs from what would be written")
    args = ap.parse_args()
    files = build()
    OUT.mkdir(exist_ok=True)
    existing = {p.name for p in OUT.iterdir() if p.is_file() and p.name != "README.md"}
    if args.check:
        stale = sorted(n for n, data in files.items() if not (OUT / n).exists() or (OUT / n).read_bytes() != data)
        extra = sorted(existing - files.keys())
        if stale or extra:
            print(f"sample_flows/ is out of date: differs {stale}, not generated {extra}", file=sys.stderr)
            return 1
        return 0
    for n in sorted(existing - files.keys()):
        (OUT / n).unlink()
    for n, data in sorted(files.items()):
        (OUT / n).write_bytes(data)
    print(f"{len(files)} files written to {OUT.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())

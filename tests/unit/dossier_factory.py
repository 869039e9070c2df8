"""Plausible dossiers built as dicts, the way the integration layer hands them to validation and
valorisation (field names of shared/spec/formats CSVs; A -> str, N -> int, D -> date, M -> Decimal).

The default dossier: appendicectomy (GHM 06C091 -> GHS 1955), entry 03/03/2025, exit
06/03/2025 (3 nights, home), régime général, not exonerated (taux 80 %), FJ paid by the patient,
one DMT block 146 (chirurgie digestive, HC) 03/03-05/03, single RUM in UM 1201.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fides.billing.params import BillingParams
from fides.referentials import load_shipped
from fides.validation import DossierData, ValidationContext

REFS = load_shipped()
FINESS = "990000010"
FINESS_GEO = "990000028"
NIR = "1850578006084"  # key 91 (identifiers.md, example 1)
NIR_KEY = "91"
TJP_146 = Decimal("1000.00")


def dmt(debut=date(2025, 3, 3), fin=date(2025, 3, 5), discipline="146", mode="03",
        prix_unitaire=Decimal("0"), quantite=None) -> dict:
    return {
        "dmt_discipline": discipline,
        "dmt_mode_traitement": mode,
        "dmt_date_debut": debut,
        "dmt_date_fin": fin,
        "dmt_quantite": quantite if quantite is not None else ((fin - debut).days + 1 if fin and debut else 0),
        "dmt_prix_unitaire": prix_unitaire,
        "dmt_base_remb": Decimal("0"),
        "dmt_taux": 0,
        "dmt_montant_remb": Decimal("0"),
    }


def vidhosp(**over) -> dict:
    v = {
        "nir_assure": NIR,
        "cle_nir_assure": NIR_KEY,
        "code_grand_regime": "01",
        "code_gestion": "10",
        "date_naissance": date(1985, 7, 14),
        "sexe": "1",
        "num_admin_sejour": "2025000101",
        "num_format": "V015",
        "finess_epmsi": FINESS,
        "nir_individuel": "",
        "cle_nir_individuel": "",
        "justif_exo_tm": "0",
        "code_pec_fj": "A",
        "nature_assurance": "10",
        "type_contrat": "",
        "sejour_facturable_am": "1",
        "motif_non_facturation": "",
        "facturation_18e": "0",
        "nb_venues": 1,
        # FAQ §3.2 amounts of the default dossier (see test_valorisation for the arithmetic)
        "mt_tm": Decimal("540.00"),
        "mt_fj": Decimal("80.00"),
        "mt_total_amo": Decimal("1983.62"),
        "mt_majo_parcours": Decimal("0"),
        "mt_base_remb": Decimal("2404.52"),
        "taux_remb": 8000,
        "beneficiaire_cmu": "",
        "num_admin_sejour_mere": "",
        "nn_aupres_mere": "",
        "hospit_prelevement_organe": "",
        "date_hospitalisation": date(2025, 3, 3),
        "mt_total_amc": Decimal("0"),
        "code_participation_assure": "",
        "num_entree": "250000101",
        "rang_naissance": 1,
        "rang_beneficiaire": "000",
        "caisse_gestionnaire": "751",
        "centre_gestionnaire": "0000",
        "conf_soins_urgents": "",
        "num_at_date_accident": "",
        "num_organisme_complementaire": "",
        "nature_piece_justif": "1",
        "date_pec": None,
        "date_validite_droits": date(2025, 1, 1),
        "delivree_par": "",
        "regime_prestation": "000",
        "top_eclatement": "",
        "date_entree": date(2025, 3, 3),
        "date_sortie": date(2025, 3, 6),
        "complement_num_titre": "",
        "etab_transfert": "",
        "etab_retour": "",
        "nb_dmt": 1,
        "DMT": [dmt()],
    }
    v.update(over)
    if "DMT" in over:
        v["nb_dmt"] = len(v["DMT"])
    return v


def rum(**over) -> dict:
    r = {
        "gv_classification": "12",
        "ghm_cmd": "06",
        "ghm_suite": "C091",
        "version_rss": "122",
        "code_retour_groupage": "000",
        "finess_epmsi": FINESS,
        "version_rum": "022",
        "num_rss": "25000101",
        "num_admin_sejour": "2025000101",
        "num_rum": "1",
        "date_naissance": date(1985, 7, 14),
        "sexe": "1",
        "num_um": "1201",
        "type_aut_lit_dedie": "",
        "date_entree_um": date(2025, 3, 3),
        "mode_entree_um": "8",
        "provenance": "",
        "date_sortie_um": date(2025, 3, 6),
        "mode_sortie_um": "8",
        "destination": "",
        "code_postal": "69003",
        "poids_nn": 0,
        "nb_seances": 0,
        "nb_da": 0,
        "nb_dad": 0,
        "nb_za": 0,
        "dp": "K358",
        "dr": "",
        "igs2": None,
        "num_innovation": "",
        "DA": [],
        "DAD": [],
        "ZA": [],
    }
    r.update(over)
    if "ghm" in over:
        ghm = r.pop("ghm")
        r["ghm_cmd"], r["ghm_suite"] = ghm[:2], ghm[2:]
    return r


def med(day=date(2025, 3, 4), ucd="3400890000017", nb=Decimal("1.000"), total=Decimal("512.340"),
        ftype="06") -> dict:
    return {"finess_epmsi": FINESS, "type_prestation": ftype, "num_admin_sejour": "2025000101",
            "date_administration": day, "code_ucd": ucd, "nb_administre": nb,
            "prix_achat_total": total, "validation_centre_reference": "", "code_indication": "I000123"}


def dmi(day=date(2025, 3, 4), lpp="3100001", nombre=1, montant=Decimal("452.000")) -> dict:
    return {"finess_epmsi": FINESS, "type_prestation": "02", "num_admin_sejour": "2025000101",
            "date_debut": day, "code": lpp, "nombre": nombre, "montant": montant}


def fc_supplement(ftype: str, code: str, nombre: int, debut=date(2025, 3, 3), fin=None) -> dict:
    return {"finess_epmsi": FINESS, "type_prestation": ftype, "num_admin_sejour": "2025000101",
            "date_debut": debut, "date_fin": fin, "code": code, "nombre": nombre}


def dossier(vid: dict | None = None, rums=None, fichcomp=None, part: str | None = "complet",
            version: str | None = "V015", **vid_over) -> DossierData:
    if vid is None:
        vid = vidhosp(**vid_over)
    if rums is None:
        rums = [rum()]
    return DossierData(
        finess=FINESS,
        nda=(vid or {}).get("num_admin_sejour", "2025000101"),
        vidhosp=vid,
        vidhosp_version=version if vid is not None else None,
        vidhosp_part=part if vid is not None else None,
        rums=tuple(rums),
        fichcomp={k: tuple(v) for k, v in (fichcomp or {}).items()},
    )


def params(**over) -> BillingParams:
    base = dict(
        finess=FINESS,
        date_bascule=date(2025, 1, 1),
        budget_code="H0",
        tjp={"146": TJP_146},
        tjc={},
    )
    base.update(over)
    return BillingParams(**base)


def known_ums(um: str, on: date) -> str | None:
    """UM referential of the tests: every UM is known except 9999 and those starting with 'X'."""
    return None if um == "9999" or um.startswith("X") else FINESS_GEO


def context(um_finess_geo=known_ums, um_type=None, **param_over) -> ValidationContext:
    return ValidationContext(params=params(**param_over), refs=REFS, um_finess_geo=um_finess_geo,
                             today=date(2025, 4, 1), um_type=um_type)

"""Every example line of the shared spec (copied byte for byte to tests/data/examples) parses
field by field to the values written out below, renders back unchanged and checks clean."""

from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest

from fides.identifiers import nir_full_valid, nir_valid
from fides.layouts import detect, load

EX = Path(__file__).resolve().parents[1] / "data" / "examples"


def lines(name: str) -> list[str]:
    raw = (EX / name).read_bytes()
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF, as ATIH tools write
    return raw.decode("latin-1").split("\r\n")[:-1]


def entities(name: str) -> list[str]:
    """NOEMIE: entities separated by '@' (the samples put a CRLF after each for readability)."""
    return [e.strip("\r\n") for e in (EX / "b2_noemie" / name).read_bytes().decode("latin-1").split("@") if e.strip("\r\n")]


# --- VIDHOSP ------------------------------------------------------------------------------------
V015_L1 = {
    "nir_assure": "1850775123456", "cle_nir_assure": "08", "code_grand_regime": "01", "code_gestion": "10",
    "date_naissance": date(1985, 7, 14), "sexe": "1", "num_admin_sejour": "2025000101", "num_format": "V015",
    "finess_epmsi": "990000010", "nir_individuel": "1850775123456", "cle_nir_individuel": "08",
    "justif_exo_tm": "0", "code_pec_fj": "R", "nature_assurance": "10", "type_contrat": "",
    "sejour_facturable_am": "1", "motif_non_facturation": "", "facturation_18e": "0", "nb_venues": 1,
    "mt_tm": D("466.64"), "mt_fj": D("100.00"), "mt_total_amo": D("2233.35"), "mt_majo_parcours": D("0.00"),
    "mt_base_remb": D("2791.69"), "taux_remb": 8000, "beneficiaire_cmu": "", "num_admin_sejour_mere": "",
    "nn_aupres_mere": "", "hospit_prelevement_organe": "", "date_hospitalisation": date(2025, 3, 3),
    "mt_total_amc": D("558.34"), "code_participation_assure": "", "num_entree": "250000101",
    "rang_naissance": 1, "rang_beneficiaire": "000", "caisse_gestionnaire": "691",
    "centre_gestionnaire": "0001", "filler_201": "", "conf_soins_urgents": "", "num_at_date_accident": "",
    "num_organisme_complementaire": "", "nature_piece_justif": "1", "date_pec": None,
    "date_validite_droits": date(2025, 1, 1), "delivree_par": "691", "regime_prestation": "000",
    "top_eclatement": "", "date_entree": date(2025, 3, 3), "date_sortie": date(2025, 3, 8),
    "mt_facture_patient": D("0.00"), "rejet_amo": "0", "date_fact_amo": date(2025, 3, 12),
    "date_fact_amc": None, "date_fact_patient": None, "date_paie_amo": None, "date_paie_amc": None,
    "date_paie_patient": None, "statut_ft_amo": "1", "statut_ft_amc": "9", "statut_ft_patient": "0",
    "pays_assurance": "100", "ipp": "00100234", "ins": "185077512345608", "art51": "",
    "complement_num_titre": "000001", "top_medecin_traitant": "O", "nom_medecin_traitant": "",
    "prenom_medecin_traitant": "", "indicateur_parcours_soins": "T", "cmuc_gestion_unique": "",
    "etab_transfert": "", "etab_retour": "", "nb_dmt": 1,
    "DMT": [
        {"dmt_discipline": "216", "dmt_mode_traitement": "03", "dmt_date_debut": date(2025, 3, 3),
         "dmt_date_fin": date(2025, 3, 7), "dmt_quantite": 5, "dmt_prix_unitaire": D("1166.56"),
         "dmt_base_remb": D("5832.80"), "dmt_taux": 0, "dmt_montant_remb": D("0.00")},
    ],
}
V015_L2 = {  # exonerated (justif 4, taux 100 %), réanimation then médecine
    **V015_L1,
    "nir_assure": "2920369387042", "cle_nir_assure": "64", "date_naissance": date(1992, 3, 9), "sexe": "2",
    "num_admin_sejour": "2025000102", "nir_individuel": "", "cle_nir_individuel": "", "justif_exo_tm": "4",
    "mt_tm": D("0.00"), "mt_fj": D("400.00"), "mt_total_amo": D("12500.00"), "mt_base_remb": D("12500.00"),
    "taux_remb": 10000, "date_hospitalisation": date(2025, 4, 10), "mt_total_amc": D("0.00"),
    "num_entree": "250000102", "date_validite_droits": None, "date_entree": date(2025, 4, 10),
    "date_sortie": date(2025, 4, 30), "date_fact_amo": None, "ipp": "00100235", "ins": "",
    "complement_num_titre": "000002", "indicateur_parcours_soins": "", "nb_dmt": 2,
    "DMT": [
        {"dmt_discipline": "203", "dmt_mode_traitement": "03", "dmt_date_debut": date(2025, 4, 10),
         "dmt_date_fin": date(2025, 4, 14), "dmt_quantite": 4, "dmt_prix_unitaire": D("2500.00"),
         "dmt_base_remb": D("10000.00"), "dmt_taux": 0, "dmt_montant_remb": D("0.00")},
        {"dmt_discipline": "216", "dmt_mode_traitement": "03", "dmt_date_debut": date(2025, 4, 14),
         "dmt_date_fin": date(2025, 4, 29), "dmt_quantite": 15, "dmt_prix_unitaire": D("1166.56"),
         "dmt_base_remb": D("17498.40"), "dmt_taux": 0, "dmt_montant_remb": D("0.00")},
    ],
}
V016_L1 = {  # not billable (AME, identity unknown), nb_dmt = 0000
    **V015_L1,
    "nir_assure": "XXXXXXXXXXXXX", "cle_nir_assure": "XX", "code_grand_regime": "XX", "code_gestion": "",
    "date_naissance": date(1978, 11, 21), "num_admin_sejour": "2026000105", "num_format": "V016",
    "nir_individuel": "", "cle_nir_individuel": "", "justif_exo_tm": "X", "code_pec_fj": "X",
    "nature_assurance": "XX", "sejour_facturable_am": "0", "motif_non_facturation": "1", "mt_tm": D("0.00"),
    "mt_fj": D("0.00"), "mt_total_amo": D("0.00"), "mt_base_remb": D("0.00"), "taux_remb": 0,
    "date_hospitalisation": date(2026, 1, 5), "mt_total_amc": D("0.00"), "num_entree": "250000103",
    "caisse_gestionnaire": "", "centre_gestionnaire": "", "nature_piece_justif": "",
    "date_validite_droits": None, "delivree_par": "", "date_entree": date(2026, 1, 5),
    "date_sortie": date(2026, 1, 6), "date_fact_amo": None, "statut_ft_amo": "9", "statut_ft_patient": "9",
    "pays_assurance": "000", "ipp": "00100236", "ins": "", "complement_num_titre": "",
    "top_medecin_traitant": "", "indicateur_parcours_soins": "", "nb_dmt": 0, "DMT": [],
}
V016_L2 = {**V015_L1, "num_admin_sejour": "2026000106", "num_format": "V016"}
V010_RESTREINT = {
    "nir_assure": "1850775123456", "cle_nir_assure": "08", "code_grand_regime": "01", "code_gestion": "10",
    "date_naissance": date(1985, 7, 14), "sexe": "1", "num_admin_sejour": "2025000101", "num_format": "V010",
    "justif_exo_tm": "0", "code_pec_fj": "R", "nature_assurance": "10", "type_contrat": "",
    "sejour_facturable_am": "1", "motif_non_facturation": "", "facturation_18e": "0", "nb_venues": 1,
    "mt_tm": D("466.64"), "mt_fj": D("100.00"), "mt_total_amo": D("2233.35"), "mt_majo_parcours": D("0.00"),
    "mt_base_remb": D("2791.69"), "taux_remb": 8000, "beneficiaire_cmu": "", "num_admin_sejour_mere": "",
    "nn_aupres_mere": "", "hospit_prelevement_organe": "", "date_hospitalisation": date(2025, 3, 3),
    "mt_total_amc": D("558.34"), "code_participation_assure": "", "num_entree": "250000101",
    "rang_naissance": 1, "rang_beneficiaire": "000", "caisse_gestionnaire": "691", "centre_gestionnaire": "0001",
}
V010_COMPLET = {
    **V010_RESTREINT,
    "filler_177": "", "conf_soins_urgents": "", "num_at_date_accident": "",
    "num_organisme_complementaire": "", "nature_piece_justif": "1", "date_pec": None,
    "date_validite_droits": date(2025, 1, 1), "delivree_par": "691", "regime_prestation": "000",
    "top_eclatement": "", "date_entree": date(2025, 3, 3), "date_sortie": date(2025, 3, 8),
    "complement_num_titre": "000001", "top_medecin_traitant": "O", "nom_medecin_traitant": "",
    "prenom_medecin_traitant": "", "indicateur_parcours_soins": "T", "cmuc_gestion_unique": "",
    "etab_transfert": "", "etab_retour": "", "nb_dmt": 1,
    "DMT": [  # V010 DMT block: 47 chars, no quantité
        {"dmt_discipline": "216", "dmt_mode_traitement": "03", "dmt_date_debut": date(2025, 3, 3),
         "dmt_date_fin": date(2025, 3, 7), "dmt_prix_unitaire": D("1166.56"), "dmt_base_remb": D("5832.80"),
         "dmt_taux": 0, "dmt_montant_remb": D("0.00")},
    ],
}

VIDHOSP_CASES = [
    ("vidhosp_V015.txt", 0, "vidhosp_V015", "complet", V015_L1),
    ("vidhosp_V015.txt", 1, "vidhosp_V015", "complet", V015_L2),
    ("vidhosp_V016.txt", 0, "vidhosp_V016", "complet", V016_L1),
    ("vidhosp_V016.txt", 1, "vidhosp_V016", "complet", V016_L2),
    ("vidhosp_V010.txt", 0, "vidhosp_V010", "restreint", V010_RESTREINT),
    ("vidhosp_V010.txt", 1, "vidhosp_V010", "complet", V010_COMPLET),
]


@pytest.mark.parametrize("file,index,layout,part,expected", VIDHOSP_CASES, ids=lambda v: v if isinstance(v, str) else None)
def test_vidhosp_examples(file, index, layout, part, expected):
    line = lines(file)[index]
    lay = detect("VIDHOSP", line)
    assert lay.name == layout and lay.part(line) == part
    rec = lay.parse(line)
    assert rec == expected
    assert lay.render(rec) == line


def test_vidhosp_examples_lengths_and_dmt_counts():
    assert [len(x) for x in lines("vidhosp_V015.txt")] == [518, 568, 518, 618]  # 468 + 50·N
    assert [len(load("vidhosp_V015").parse(x)["DMT"]) for x in lines("vidhosp_V015.txt")] == [1, 2, 1, 3]
    assert [len(x) for x in lines("vidhosp_V016.txt")] == [470, 520]
    assert [len(x) for x in lines("vidhosp_V010.txt")] == [176, 371]
    line4 = load("vidhosp_V015").parse(lines("vidhosp_V015.txt")[3])
    assert line4["nb_venues"] == 3 and [b["dmt_date_debut"] for b in line4["DMT"]] == [date(2025, 6, 2), date(2025, 6, 12), date(2025, 6, 23)]


def test_vidhosp_example_findings():
    """Clean, except what the examples mean to show: anonymous identity (FMT101), restreint (FMT103)."""
    codes = {f: [[x.code for x in detect("VIDHOSP", line).check(line, line_no=i)] for i, line in enumerate(lines(f), 1)]
             for f in ("vidhosp_V015.txt", "vidhosp_V016.txt", "vidhosp_V010.txt")}
    assert codes == {
        "vidhosp_V015.txt": [[], [], ["FMT101"], []],
        "vidhosp_V016.txt": [["FMT101"], []],
        "vidhosp_V010.txt": [["FMT103"], []],
    }


def test_example_nir_keys_are_valid_and_a_wrong_key_is_fmt007():
    for f in ("vidhosp_V015.txt", "vidhosp_V016.txt", "vidhosp_V010.txt"):
        for line in lines(f):
            rec = detect("VIDHOSP", line).parse(line)
            if rec["nir_assure"] != "XXXXXXXXXXXXX":
                assert nir_valid(rec["nir_assure"], rec["cle_nir_assure"])
            if rec.get("nir_individuel"):
                assert nir_valid(rec["nir_individuel"], rec["cle_nir_individuel"])
            if rec.get("ins"):
                assert nir_full_valid(rec["ins"])
    line = lines("vidhosp_V015.txt")[1]
    bad = line[:13] + "65" + line[15:]
    (finding,) = load("vidhosp_V015").check(bad, line_no=2)
    assert (finding.code, finding.line_no, finding.position) == ("FMT007", 2, 14)
    assert "2920369387042" not in finding.message and "NIR" in finding.message


# --- RSS ------------------------------------------------------------------------------------
ZA_122 = {"za_extension_pmsi": "", "za_phase": "0", "za_extension_documentaire": "", "za_modificateurs": "",
          "za_remb_exceptionnel": "", "za_association_non_prevue": "", "za_nb_realisations": 1}
RSS_122_L1 = {
    "gv_classification": "11", "ghm_cmd": "06", "ghm_suite": "C091", "filler_9": "", "version_rss": "122",
    "code_retour_groupage": "000", "finess_epmsi": "990000010", "version_rum": "022", "num_rss": "25000101",
    "num_admin_sejour": "2025000101", "num_rum": "1", "date_naissance": date(1985, 7, 14), "sexe": "1",
    "num_um": "1201", "type_aut_lit_dedie": "", "date_entree_um": date(2025, 3, 3), "mode_entree_um": "8",
    "provenance": "", "date_sortie_um": date(2025, 3, 8), "mode_sortie_um": "8", "destination": "",
    "code_postal": "69003", "poids_nn": 0, "age_gestationnel": 0, "ddr": None, "nb_seances": 0,
    "nb_da": 1, "nb_dad": 0, "nb_za": 2, "dp": "K358", "dr": "", "igs2": 0, "confirmation_codage": "",
    "type_machine_radiotherapie": "", "type_dosimetrie": "", "num_innovation": "", "conversion_hc": "",
    "prise_en_charge_raac": "2", "contexte_patient_surveillance": "", "administration_produit_rh": "",
    "rescrit_tarifaire": "", "categorie_nb_interventions": "", "non_programme": "1", "passage_urgences": "5",
    "filler_186": "", "zone_reservee_190": "",
    "DA": [{"da": "I10"}],
    "DAD": [],
    "ZA": [
        {"za_date_realisation": date(2025, 3, 4), "za_code_ccam": "HHFA016", "za_activite": "1", **ZA_122},
        {"za_date_realisation": date(2025, 3, 4), "za_code_ccam": "HHFA016", "za_activite": "4", **ZA_122},
    ],
}
RSS_123_L2 = {  # haemodialysis session: dialysis complexity fields and the new ZA fields
    "gv_classification": "11", "ghm_cmd": "28", "ghm_suite": "Z04Z", "filler_9": "", "version_rss": "123",
    "code_retour_groupage": "000", "finess_epmsi": "990000010", "version_rum": "023", "num_rss": "26000102",
    "num_admin_sejour": "2026000107", "num_rum": "1", "date_naissance": date(1945, 2, 2), "sexe": "1",
    "num_um": "2101", "type_aut_lit_dedie": "", "date_entree_um": date(2026, 1, 7), "mode_entree_um": "8",
    "provenance": "", "date_sortie_um": date(2026, 1, 7), "mode_sortie_um": "8", "destination": "",
    "code_postal": "69008", "poids_nn": 0, "age_gestationnel": 0, "ddr": None, "nb_seances": 1,
    "nb_da": 1, "nb_dad": 0, "nb_za": 1, "dp": "Z491", "dr": "", "igs2": 0, "confirmation_codage": "",
    "type_machine_radiotherapie": "", "type_dosimetrie": "", "num_innovation": "", "conversion_hc": "",
    "prise_en_charge_raac": "", "contexte_patient_surveillance": "", "administration_produit_rh": "",
    "rescrit_tarifaire": "", "categorie_nb_interventions": "", "non_programme": "", "passage_urgences": "",
    "filler_186": "", "zone_reservee_190": "", "patient_complexe_radiotherapie": "",
    "nb_tumeurs_radiotherapie": 0, "radiotherapie_adaptative": "", "radiotherapie_hypofractionnee": "",
    "niveau_complexite_dialyse": "1", "score_complexite_dialyse": 5, "nb_consult_reevaluation_dialyse": 1,
    "temps_hebdo_dialyse": 720,
    "DA": [{"da": "N185"}],
    "DAD": [],
    "ZA": [{"za_date_realisation": date(2026, 1, 7), "za_code_ccam": "JVJF008", "za_activite": "1", **ZA_122,
            "za_horaire_dialyse": "0", "za_typologie_dialyse": "21"}],
}


def test_rss_122_line_1():
    line = lines("rss_grp_122.txt")[0]
    lay = detect("RSS", line)
    assert lay.name == "rss_grp_122" and len(line) == 192 + 8 * 1 + 29 * 2
    assert lay.parse(line) == RSS_122_L1
    assert lay.render(RSS_122_L1) == line


def test_rss_123_line_2():
    line = lines("rss_grp_123.txt")[1]
    lay = detect("RSS", line)
    assert lay.name == "rss_grp_123" and len(line) == 205 + 8 + 32
    assert lay.parse(line) == RSS_123_L2
    assert lay.render(RSS_123_L2) == line


def test_rss_other_lines():
    l2, l3 = lines("rss_grp_122.txt")[1:]
    r2, r3 = load("rss_grp_122").parse(l2), load("rss_grp_122").parse(l3)
    assert (r2["num_rss"], r3["num_rss"]) == ("25000102", "25000102")  # 2 RUMs of one stay
    assert (r2["num_um"], r2["mode_sortie_um"], r2["destination"]) == ("5001", "6", "1")
    assert (r3["num_um"], r3["mode_entree_um"], r3["provenance"], r3["nb_za"], r3["ZA"]) == ("1202", "6", "R", 0, [])
    assert [d["da"] for d in r2["DA"]] == ["J9600", "E872"] and r2["ZA"][0]["za_code_ccam"] == "GELD004"
    r1 = load("rss_grp_123").parse(lines("rss_grp_123.txt")[0])
    assert r1["ZA"][1]["za_activite"] == "4" and r1["ZA"][1]["za_typologie_dialyse"] == ""


# --- FICHCOMP, IUM, HOSP-PMSI ---------------------------------------------------------------
FC = {"finess_epmsi": "990000010"}
FICHCOMP_CASES = [
    ("fichcomp_med.txt", 0, "fichcomp_med", {
        **FC, "type_prestation": "06", "num_admin_sejour": "2025000102", "date_administration": date(2025, 4, 15),
        "code_ucd": "3400890000017", "nb_administre": D("1.000"), "prix_achat_total": D("512.340"),
        "validation_centre_reference": "", "code_indication": "I000123", "filler_83": ""}),
    ("fichcomp_med.txt", 1, "fichcomp_med", {
        **FC, "type_prestation": "06", "num_admin_sejour": "2025000102", "date_administration": date(2025, 4, 22),
        "code_ucd": "3400890000017", "nb_administre": D("1.500"), "prix_achat_total": D("768.510"),
        "validation_centre_reference": "", "code_indication": "I000123", "filler_83": ""}),
    ("fichcomp_med_apac.txt", 0, "fichcomp_med_apac", {
        **FC, "type_prestation": "09", "num_admin_sejour": "2025000104", "date_administration": date(2025, 6, 12),
        "code_ucd": "3400890000024", "nb_administre": D("2.000"), "prix_achat_total": D("1830.000"),
        "validation_centre_reference": "", "code_indication": "N0A1B2C", "filler_83": ""}),
    ("fichcomp_dmi.txt", 0, "fichcomp_dmi", {
        **FC, "type_prestation": "02", "num_admin_sejour": "2025000101", "filler_32": "",
        "date_debut": date(2025, 3, 4), "filler_50": "", "code": "3100001", "nombre": 1, "montant": D("452.000")}),
    ("fichcomp_po.txt", 0, "fichcomp_po", {
        **FC, "type_prestation": "03", "num_admin_sejour": "2025000109", "filler_32": "",
        "date_debut": date(2025, 5, 18), "filler_50": "", "code": "PO2", "nombre": 1, "filler_83": ""}),
    ("fichcomp_dip.txt", 0, "fichcomp_dip", {
        **FC, "type_prestation": "07", "num_admin_sejour": "2025000110", "filler_32": "",
        "date_debut": date(2025, 5, 1), "date_fin": date(2025, 5, 31), "code": "DIP", "nombre": 31, "filler_83": ""}),
    ("fichcomp_pie.txt", 0, "fichcomp_pie", {
        **FC, "type_prestation": "04", "num_admin_sejour": "2025000111", "filler_32": "",
        "date_debut": date(2025, 5, 2), "date_fin": date(2025, 5, 4), "code": "REA", "nombre": 3, "filler_83": ""}),
]


@pytest.mark.parametrize("file,index,layout,expected", FICHCOMP_CASES, ids=lambda v: v if isinstance(v, str) else None)
def test_fichcomp_examples(file, index, layout, expected):
    line = lines(file)[index]
    lay = detect("FICHCOMP", line)
    assert lay.name == layout
    assert lay.parse(line) == expected
    assert lay.render(expected) == line
    assert lay.check(line) == []


IUM_2013 = [
    {"num_um": "1201", "finess_geo": "990000028", "type_autorisation": "53", "date_effet": date(2020, 1, 1), "nb_lits": 30, "mode_hospitalisation": "C"},
    {"num_um": "5001", "finess_geo": "990000028", "type_autorisation": "01A", "date_effet": date(2015, 1, 1), "nb_lits": 12, "mode_hospitalisation": "C"},
    {"num_um": "1202", "finess_geo": "990000036", "type_autorisation": "29", "date_effet": date(2018, 1, 1), "nb_lits": 24, "mode_hospitalisation": "M"},
    {"num_um": "2101", "finess_geo": "990000036", "type_autorisation": "21", "date_effet": date(2019, 1, 1), "nb_lits": 10, "mode_hospitalisation": "P"},
]


def test_ium_2013_lines():
    got = []
    for line in lines("ium_2013.txt"):
        lay = detect("IUM", line)
        assert lay.name == "ium_2013" and lay.check(line) == []
        got.append(lay.parse(line))
        assert lay.render(got[-1]) == line
    assert got == IUM_2013


def test_hosp_pmsi_lines():
    lay = load("hosp_pmsi")
    assert [lay.parse(x) for x in lines("hosp_pmsi.txt")] == [
        {"num_rss": "25000101", "num_admin_sejour": "2025000101"},
        {"num_rss": "25000102", "num_admin_sejour": "2025000102"},
    ]
    assert all(detect("HOSP_PMSI", x) is lay and lay.check(x) == [] for x in lines("hosp_pmsi.txt"))


FLUX = {"vidhosp": "VIDHOSP", "rss": "RSS", "fichcomp": "FICHCOMP", "ium": "IUM", "hosp": "HOSP_PMSI"}


@pytest.mark.parametrize("file,flux", [(p.name, FLUX[p.name.split("_")[0]]) for p in sorted(EX.glob("*.txt"))])
def test_every_example_line_round_trips(file, flux):
    for line in lines(file):
        lay = detect(flux, line)
        assert lay.render(lay.parse(line)) == line


# --- B2 -------------------------------------------------------------------------------------
KEY = {"finess_geographique": "990000028", "nir_assure": "1850578006084", "cle_nir_assure": 91,
       "rang_beneficiaire": 0, "num_facture": 12345}
LINE3 = {"mode_traitement": "03", "discipline_prestation": "101", "justif_exo_tm_ligne": "0",
         "coefficient": D("1.00"), "code_pec_fj": "", "coefficient_mco": D("1.0000"), "filler_114": "",
         "code_participation_assure": "", "filler_118": "", "montant_remboursable_amc": D("0.00")}
B2_RECORDS = [
    ("000", {"type_enregistrement": "000", "type_emetteur": "ES", "num_emetteur": "990000010", "type_destinataire": "OR",
             "num_destinataire": "017810000", "date_creation": date(2025, 3, 10), "heure_creation": 101500,
             "num_fichier": 1, "norme": "B2", "variante_norme": "CP", "type_flux": "T", "filler_058": ""}),
    ("1", {"type_enregistrement": "1", "finess_geographique": "990000028", "num_lot": 1,
           "date_creation_lot": date(2025, 3, 10), "code_grand_regime_dest": 1, "caisse_dest": 781,
           "centre_dest": "0000", "type_flux": "T", "exercice": 2025, "filler_035": ""}),
    ("2", {"type_enregistrement": "2", **KEY, "nature_operation": "1", "num_entree": "250000101",
           "code_grand_regime": 1, "caisse_gestionnaire": 781, "centre_gestionnaire": "0000",
           "nature_piece_justificative": "0", "date_prise_en_charge": None, "date_validite_droits": date(2025, 1, 1),
           "delivree_par": "", "regime_prestation": "000", "nature_assurance": 10, "justif_exo_tm": "0",
           "date_hospitalisation": date(2025, 3, 3), "num_at_ou_date_accident": "", "top_eclatement": "",
           "date_naissance": date(1985, 5, 7), "rang_naissance": 1, "date_entree": date(2025, 3, 3),
           "date_sortie": date(2025, 3, 7), "filler_115": "", "type_contrat": "", "num_organisme_complementaire": ""}),
    ("2S", {"type_enregistrement": "2S", **KEY, "filler_039": "", "complement_num_titre": "202500", "filler_048": "",
            "nir_individuel": "", "cle_nir_individuel": None, "filler_065": "", "top_medecin_traitant": "O",
            "nom_medecin_traitant": "MEDECIN", "prenom_medecin_traitant": "TRAITANT", "filler_112": "",
            "indicateur_parcours_soins": "T", "filler_122": ""}),
    ("3", {"type_enregistrement": "3", **KEY, **LINE3, "date_debut": date(2025, 3, 3), "date_fin": date(2025, 3, 7),
           "code_acte": "GHS", "quantite": 1, "prix_unitaire": D("4202.10"), "base_remboursement": D("4202.10"),
           "taux": 80, "montant_remboursable_amo": D("3361.68"), "montant_total_depense": D("4202.10"), "num_ghs": 22}),
    ("3", {"type_enregistrement": "3", **KEY, **LINE3, "date_debut": date(2025, 3, 3), "date_fin": date(2025, 3, 6),
           "code_acte": "TJC", "quantite": 4, "prix_unitaire": D("1000.00"), "base_remboursement": D("4000.00"),
           "taux": 0, "montant_remboursable_amo": D("0.00"), "montant_total_depense": D("4000.00"), "num_ghs": None}),
    ("3", {"type_enregistrement": "3", **KEY, **LINE3, "date_debut": date(2025, 3, 5), "date_fin": date(2025, 3, 5),
           "code_acte": "PH8", "quantite": 1, "prix_unitaire": D("150.00"), "base_remboursement": D("150.00"),
           "taux": 100, "montant_remboursable_amo": D("150.00"), "montant_total_depense": D("150.00"), "num_ghs": None}),
    ("3H", {"type_enregistrement": "3H", **KEY, "filler_039": "", "code_ucd": 9999999, "filler_056": "",
            "coef_fractionnement": D("1.0000"), "filler_062": "", "prix_achat_unitaire_ttc": D("150.00"),
            "montant_unitaire_ecart_indemnisable": D("0.00"), "montant_total_ecart_indemnisable": D("0.00"),
            "quantite": 1, "montant_total_facture_ttc": D("150.00"), "filler_098": ""}),
    ("5", {"type_enregistrement": "5", **KEY, "filler_039": "", "total_base_remb_ph": D("4352.10"),
           "total_remboursable_amo_ph": D("3511.68"), "total_honoraires_factures": D("0.00"),
           "total_honoraires_remboursable_am": D("0.00"), "total_participation_assure_avant_oc": D("800.00"),
           "total_remboursable_oc_ph": D("0.00"), "total_remboursable_oc_honoraires": D("0.00"), "filler_098": "",
           "montant_total_facture_ph": D("4352.10"), "filler_123": ""}),
    ("9", {"type_enregistrement": "9", "finess_geographique": "990000028", "num_lot": 1, "nb_factures": 1,
           "nb_enregistrements": 9, "total_facture": D("4352.10"), "total_remboursable_amo": D("3511.68"), "filler_048": ""}),
    ("999", {"type_enregistrement": "999", "nb_lots": 1, "nb_enregistrements": 11, "filler_017": ""}),
]


def test_b2_example_file_records():
    records = (EX / "b2_noemie" / "B2_990000028_20250310101500_0000.b2").read_bytes().decode("latin-1").split("\r\n")[:-1]
    assert len(records) == len(B2_RECORDS) and {len(r) for r in records} == {128}
    for record, (kind, expected) in zip(records, B2_RECORDS):
        lay = detect("B2", record)
        assert lay.record == kind
        assert lay.parse(record) == expected
        assert lay.render(expected) == record
        assert lay.check(record) == []
    assert nir_valid(KEY["nir_assure"], f"{KEY['cle_nir_assure']:02d}")


# --- NOEMIE ---------------------------------------------------------------------------------
HEAD = {"type_emetteur": "OR", "num_emetteur": "017810000", "type_destinataire": "ES",
        "num_destinataire": "990000010", "date_creation": date(2025, 3, 20), "filler_042": ""}
E040 = {"num_entite": 40, "niveau": 2, "destinataire": "990000028"}
E080 = {"num_entite": 80, "niveau": 4, "date_lot": date(2025, 3, 10), "num_lot": 1,
        "statut_acquittement": None, "code_rejet_arl": None, "num_premiere_facture_erronee": None}  # absent
INVOICE = [
    {"num_entite": 100, "niveau": 5, "num_facture": 12345},
    {"num_entite": 105, "niveau": 5, "complement_num_titre": "202500", "num_titre": 12345},
    {"num_entite": 110, "niveau": 5, "matricule_assure": "185057800608491", "filler_021": "", "nom_assure": "ASSURE",
     "filler_047": "", "prenom_assure": "SYNTHETIQUE"},
    {"num_entite": 120, "niveau": 5, "date_naissance": date(1985, 5, 7), "rang_naissance": 1, "nom_malade": "ASSURE",
     "prenom_malade": "SYNTHETIQUE"},
    {"num_entite": 150, "niveau": 5, "nature_assurance": 10},
]
NOEMIE_578 = [
    {"num_entite": 0, **HEAD, "reference": 578}, E040,
    {"num_entite": 70, "niveau": 3, "date_journee_comptable": date(2025, 3, 20)}, E080, *INVOICE,
    {"num_entite": 220, "niveau": 6, "code_acte": "GHS", "date_debut": date(2025, 3, 3), "date_fin": date(2025, 3, 7),
     "quantite": 1, "base_remboursement": D("4202.10"), "taux": 80, "filler_037": "", "montant_rembourse": D("3361.68")},
    {"num_entite": 220, "niveau": 6, "code_acte": "PH8", "date_debut": date(2025, 3, 5), "date_fin": date(2025, 3, 5),
     "quantite": 1, "base_remboursement": D("150.00"), "taux": 100, "filler_037": "", "montant_rembourse": D("150.00")},
    {"num_entite": 250, "niveau": 6, "date_mouvement": date(2025, 3, 20), "montant_mouvement": D("3511.68"),
     "filler_023": None, "nature_operation_recuperation": None},
    {"num_entite": 990, "niveau": 5, "nb_entites": 10, "filler_012": "", "montant": D("3511.68")},
    {"num_entite": 990, "niveau": 4, "nb_entites": 12, "filler_012": "", "montant": D("3511.68")},
    {"num_entite": 999, "nb_entites_fichier": 15},
]
NOEMIE_908 = [
    {"num_entite": 0, **HEAD, "reference": 908}, E040,
    {"num_entite": 70, "niveau": 3, "date_journee_comptable": date(2025, 3, 20)}, E080, *INVOICE,
    {"num_entite": 290, "niveau": 6, "type_retour": "R", "code_motif": "XXXXX",
     "libelle_motif": "MOTIF DE REJET ILLUSTRATIF (CODES NON PUBLIES)"},
    {"num_entite": 990, "niveau": 5, "nb_entites": 9, "filler_012": "", "montant": D("0.00")},
    {"num_entite": 990, "niveau": 4, "nb_entites": 11, "filler_012": "", "montant": D("0.00")},
    {"num_entite": 999, "nb_entites_fichier": 13},
]
NOEMIE_930 = [
    {"num_entite": 0, **HEAD, "reference": 930}, E040,
    {**E080, "statut_acquittement": "N", "code_rejet_arl": "XXXX", "num_premiere_facture_erronee": 12345},
    {"num_entite": 999, "nb_entites_fichier": 4},
]


@pytest.mark.parametrize("name,expected", [("NOEMIE_578_sample.txt", NOEMIE_578), ("NOEMIE_908_sample.txt", NOEMIE_908),
                                           ("NOEMIE_930_sample.txt", NOEMIE_930)])
def test_noemie_samples(name, expected):
    ents = entities(name)
    got = []
    for ent in ents:
        lay = detect("NOEMIE", ent)
        assert lay.record == ent[:3]
        rec = lay.parse(ent)
        got.append(dict(rec))
        assert lay.render(rec) == ent  # an entity that stops early comes back as short as it was
        assert lay.check(ent) == []
    assert got == expected
    assert all(nir_full_valid(e["matricule_assure"]) for e in got if e["num_entite"] == 110)


# --- control flows --------------------------------------------------------------------------
CONTROL = [
    ("MANAGEREJECT_990000028_20250325101500_0000.txt", [
        {"num_admin_sejour": "250000101", "num_titre": 12345, "complement_num_titre": "202500", "action": "A",
         "date_rejet": date(2025, 3, 22), "code_motif_rejet": None}]),
    ("CANCELPAIDREQUEST_990000028_20250325101500_0001.txt", [
        {"num_admin_sejour": "250000101", "num_titre": 12345, "complement_num_titre": "202500",
         "date_demande": date(2025, 3, 25), "motif": "RECTIFICATION PMSI"}]),
    ("NOEMIEARLNEGATIF_990000028_20250325101500_0002.txt", [
        {"finess_geographique": "990000028", "num_lot": 1, "date_creation_lot": date(2025, 3, 10),
         "organisme_destinataire": "017810000", "code_rejet_arl": None, "num_premiere_facture_erronee": None}]),
    ("STATEREQUEST_990000028_20250325101500_0003.txt", [{"num_admin_sejour": "250000101"}]),
    ("EXTRACTEPMSI_990000028_20250325101500_0004.txt", [{"annee": 2025, "mois": 3}]),
    ("B2REQUEST_990000028_20250325101500_0005.txt", [{"num_admin_sejour": "250000101"}, {"num_admin_sejour": "250000102"}]),
]


@pytest.mark.parametrize("name,expected", CONTROL, ids=[c[0].split("_")[0] for c in CONTROL])
def test_control_flow_examples(name, expected):
    flux = name.split("_")[0]
    got = []
    for line in lines(f"b2_noemie/{name}"):
        lay = detect(flux, line)
        rec = lay.parse(line)
        assert lay.render(rec) == line and lay.check(line) == []
        got.append(dict(rec))
    assert got == expected

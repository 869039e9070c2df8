"""Validation rules (fides.validation): each rule fails on a dossier built for it and passes on
the default dossier of dossier_factory."""

from __future__ import annotations

from datetime import date

import pytest

from dossier_factory import context, dmt, dossier, fc_supplement, rum
from fides.errors import CODES
from fides.validation import PHASES, RULES, Verdict, validate


def codes(verdict: Verdict) -> set[str]:
    return {f.code for f in verdict.findings}


def test_every_rule_is_declared_with_a_known_phase_and_code():
    for code, rule in RULES.items():
        assert code == rule.code and code in CODES, code
        assert rule.phase in PHASES and rule.doc and callable(rule.check), code
        if rule.phase == "exclusion":
            assert CODES[code].severity == "A", code


def test_default_dossier_is_valid_and_billable():
    v = validate(dossier(), context())
    assert v.findings == () and v.billable_b2 and v.extract_only_reason is None


# --- structure ---------------------------------------------------------------------------------


def test_VAL001_no_vidhosp():
    v = validate(dossier(vid={}, part=None), context())
    assert codes(v) == {"VAL001"} and not v.billable_b2 and v.extract_only_reason is None


def test_VAL002_no_rum():
    v = validate(dossier(rums=[]), context())
    assert codes(v) == {"VAL002"} and not v.billable_b2


# --- exclusions: not billable in B2, EXTRACTEPMSI only -----------------------------------------


def _excluded(v: Verdict, code: str) -> None:
    assert code in codes(v), v.findings
    assert not v.billable_b2
    assert v.extract_only_reason
    assert not v.blocking, v.findings  # nothing to fix


def test_VAL010_vidhosp_restreint():
    _excluded(validate(dossier(part="restreint"), context()), "VAL010")


def test_VAL011_ame_is_not_billable():
    # AME: séjour facturable 0, motif 1, identity unknown (FAQ §3.2 example: X placeholders)
    d = dossier(sejour_facturable_am="0", motif_non_facturation="1", nir_assure="XXXXXXXXXXXXX",
                cle_nir_assure="XX", code_grand_regime="XX", justif_exo_tm="X", code_pec_fj="X",
                nature_assurance="XX", date_naissance=date(1985, 7, 14))
    v = validate(d, context())
    _excluded(v, "VAL011")
    assert "AME" in v.extract_only_reason
    assert "VAL032" not in codes(v)  # identity checks are skipped for an excluded dossier


def test_VAL011_soins_urgents_motif_4():
    v = validate(dossier(sejour_facturable_am="0", motif_non_facturation="4"), context())
    _excluded(v, "VAL011")
    assert "soins urgents" in v.extract_only_reason


def test_VAL012_soins_urgents_confirmed():
    _excluded(validate(dossier(conf_soins_urgents="1"), context()), "VAL012")


def test_VAL013_anonymous():
    _excluded(validate(dossier(nir_assure="XXXXXXXXXXXXX", cle_nir_assure="XX"), context()), "VAL013")


def test_VAL014_regime_other_than_01_02():
    _excluded(validate(dossier(code_grand_regime="03"), context()), "VAL014")
    assert validate(dossier(code_grand_regime="02", caisse_gestionnaire="011"), context()).billable_b2


def test_VAL015_dialysis_forfait():
    d = dossier(fichcomp={"07": [fc_supplement("07", "D11", 1)]})
    v = validate(d, context())
    _excluded(v, "VAL015")
    assert "D11" in v.extract_only_reason
    # D01 (hémodialyse en centre) is not a forfait
    assert "VAL015" not in codes(validate(dossier(fichcomp={"07": [fc_supplement("07", "D01", 1)]}), context()))


def test_VAL016_innovation_forfait():
    _excluded(validate(dossier(rums=[rum(num_innovation="I01-2025-0001")]), context()), "VAL016")
    _excluded(validate(dossier(fichcomp={"04": [fc_supplement("04", "I02", 1)]}), context()), "VAL016")


def test_VAL017_ghs_esthetique():
    v = validate(dossier(rums=[rum(ghm="09Z02A")]), context())
    _excluded(v, "VAL017")
    assert "VAL018" not in codes(v)


def test_VAL018_other_ghs_9999():
    _excluded(validate(dossier(rums=[rum(ghm="23Z03Z")]), context()), "VAL018")


def test_VAL019_exit_before_date_bascule():
    _excluded(validate(dossier(), context(date_bascule=date(2025, 3, 7))), "VAL019")
    # exit on the very day of the bascule is billed
    assert validate(dossier(), context(date_bascule=date(2025, 3, 6))).billable_b2


def test_several_exclusions_are_all_reported():
    v = validate(dossier(code_grand_regime="03", rums=[rum(ghm="09Z02A")]), context())
    assert {"VAL014", "VAL017"} <= codes(v)
    assert "régime 03" in v.extract_only_reason and "09Z02A" in v.extract_only_reason


# --- coherence (always checked) -----------------------------------------------------------------


def _blocked(v: Verdict, code: str) -> None:
    assert code in codes(v), v.findings
    assert v.blocking and not v.billable_b2 and v.extract_only_reason is None


def test_VAL020_motif_missing_is_a_warning():
    v = validate(dossier(sejour_facturable_am="0", motif_non_facturation=""), context())
    assert {"VAL011", "VAL020"} <= codes(v) and not v.blocking


def test_VAL021_dates_missing_or_reversed():
    _blocked(validate(dossier(date_sortie=None), context()), "VAL021")
    d = dossier(date_entree=date(2025, 3, 7), rums=[rum(date_entree_um=date(2025, 3, 7))])
    _blocked(validate(d, context()), "VAL021")


def test_VAL022_vidhosp_and_rss_dates_differ():
    _blocked(validate(dossier(date_sortie=date(2025, 3, 7)), context()), "VAL022")


def test_VAL023_sex_differs():
    _blocked(validate(dossier(rums=[rum(sexe="2")]), context()), "VAL023")


def test_VAL024_birth_date_differs():
    _blocked(validate(dossier(rums=[rum(date_naissance=date(1985, 7, 15))]), context()), "VAL024")


def test_VAL025_rum_dates_not_chained():
    rums = [rum(date_sortie_um=date(2025, 3, 4), mode_sortie_um="6"),
            rum(num_rum="2", date_entree_um=date(2025, 3, 5), mode_entree_um="6")]
    _blocked(validate(dossier(rums=rums), context()), "VAL025")
    rums[1]["date_entree_um"] = date(2025, 3, 4)
    assert "VAL025" not in codes(validate(dossier(rums=rums), context()))


def test_VAL026_grouping_error():
    _blocked(validate(dossier(rums=[rum(ghm="90Z00Z")]), context()), "VAL026")
    _blocked(validate(dossier(rums=[rum(code_retour_groupage="012")]), context()), "VAL026")
    _blocked(validate(dossier(rums=[rum(ghm_cmd="", ghm_suite="")]), context()), "VAL026")


def test_VAL027_ghm_differs_between_rums():
    rums = [rum(date_sortie_um=date(2025, 3, 4), mode_sortie_um="6"),
            rum(num_rum="2", ghm="06C092", date_entree_um=date(2025, 3, 4), mode_entree_um="6")]
    _blocked(validate(dossier(rums=rums), context()), "VAL027")


# --- billing checks --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["2", "3", "7"])
def test_VAL030_sejour_facturable_pending_or_invalid(value):
    _blocked(validate(dossier(sejour_facturable_am=value), context()), "VAL030")


def test_VAL031_motif_with_billable_stay():
    _blocked(validate(dossier(motif_non_facturation="3"), context()), "VAL031")


def test_VAL032_nir_missing_or_malformed():
    _blocked(validate(dossier(nir_assure=""), context()), "VAL032")
    _blocked(validate(dossier(nir_assure="18505780060"), context()), "VAL032")


def test_VAL033_nir_key():
    # 1850578006084 mod 97 = 6 -> key 97 - 6 = 91
    _blocked(validate(dossier(cle_nir_assure="90"), context()), "VAL033")
    # Corsica: 299052A202817 -> 2990519202817 mod 97 = 39 -> key 58
    assert validate(dossier(nir_assure="299052A202817", cle_nir_assure="58"), context()).billable_b2


def test_VAL034_sex():
    _blocked(validate(dossier(sexe="X", rums=[rum(sexe="1")]), context()), "VAL034")
    _blocked(validate(dossier(sexe="", rums=[rum(sexe="1")]), context()), "VAL034")


def test_VAL035_birth_date():
    _blocked(validate(dossier(date_naissance=None), context()), "VAL035")
    _blocked(validate(dossier(date_naissance="XXXXXXXX"), context()), "VAL035")


def test_VAL036_regime_missing():
    _blocked(validate(dossier(code_grand_regime=""), context()), "VAL036")
    _blocked(validate(dossier(code_grand_regime="XX"), context()), "VAL036")


def test_VAL037_caisse_missing():
    _blocked(validate(dossier(caisse_gestionnaire=""), context()), "VAL037")


def test_VAL038_unknown_caisse_is_a_warning():
    v = validate(dossier(caisse_gestionnaire="998"), context())
    assert "VAL038" in codes(v) and v.billable_b2


@pytest.mark.parametrize("field,value", [("justif_exo_tm", "X"), ("code_pec_fj", "X"),
                                         ("nature_assurance", "XX"), ("nature_assurance", "99")])
def test_VAL039_billing_information(field, value):
    _blocked(validate(dossier(**{field: value}), context()), "VAL039")


def test_VAL040_work_accident_needs_its_number():
    _blocked(validate(dossier(nature_assurance="41", justif_exo_tm="0", taux_remb=10000), context()), "VAL040")
    v = validate(dossier(nature_assurance="41", taux_remb=10000, num_at_date_accident="250301000"), context())
    assert v.billable_b2


def test_VAL041_unknown_um():
    _blocked(validate(dossier(rums=[rum(num_um="9999")]), context()), "VAL041")
    # the lookup is asked at the RUM's dates
    asked = []
    validate(dossier(), context(um_finess_geo=lambda um, on: asked.append((um, on)) or "990000028"))
    assert ("1201", date(2025, 3, 3)) in asked


def test_VAL042_dmt_required_when_not_exonerated():
    _blocked(validate(dossier(DMT=[]), context()), "VAL042")
    # exonerated (taux 100) or organ retrieval: no DMT needed
    assert validate(dossier(DMT=[], justif_exo_tm="4", taux_remb=10000), context()).billable_b2
    assert validate(dossier(DMT=[], hospit_prelevement_organe="1"), context()).billable_b2


def test_VAL043_dmt_dates():
    _blocked(validate(dossier(DMT=[dmt(fin=None)]), context()), "VAL043")
    _blocked(validate(dossier(DMT=[dmt(debut=date(2025, 3, 5), fin=date(2025, 3, 4))]), context()), "VAL043")


def test_VAL044_dmt_outside_the_stay():
    _blocked(validate(dossier(DMT=[dmt(debut=date(2025, 3, 2))]), context()), "VAL044")
    _blocked(validate(dossier(DMT=[dmt(fin=date(2025, 3, 7))]), context()), "VAL044")


def test_VAL045_dmt_overlap():
    blocks = [dmt(debut=date(2025, 3, 3), fin=date(2025, 3, 5)),
              dmt(debut=date(2025, 3, 4), fin=date(2025, 3, 5), discipline="101")]
    _blocked(validate(dossier(DMT=blocks), context()), "VAL045")
    # a single-day block on the other's last day is an overlap too
    blocks = [dmt(debut=date(2025, 3, 3), fin=date(2025, 3, 4)),
              dmt(debut=date(2025, 3, 4), fin=date(2025, 3, 4), discipline="101")]
    _blocked(validate(dossier(DMT=blocks), context()), "VAL045")
    # FAQ §3.1: "date de fin = date de sortie de l'UM": a mutation day shared by two blocks is accepted
    blocks = [dmt(debut=date(2025, 3, 3), fin=date(2025, 3, 4)),
              dmt(debut=date(2025, 3, 4), fin=date(2025, 3, 5), discipline="101")]
    assert "VAL045" not in codes(validate(dossier(DMT=blocks), context()))
    blocks[1] = dmt(debut=date(2025, 3, 5), fin=date(2025, 3, 5), discipline="101")
    assert validate(dossier(DMT=blocks), context()).billable_b2


def test_VAL046_taux_inconsistent_is_a_warning():
    # exonération 0 + nature 10 -> 80 %, VIDHOSP says 90 %
    v = validate(dossier(taux_remb=9000), context())
    assert "VAL046" in codes(v) and v.billable_b2


def test_VAL047_transfer_establishment_finess():
    _blocked(validate(dossier(etab_transfert="750000011"), context()), "VAL047")
    assert validate(dossier(etab_transfert="750000010"), context()).billable_b2


# --- scenarios of the brief ----------------------------------------------------------------------


def test_closed_exercice_dossier_validates():
    """A 2024 stay billed after the closing of 2024: validation passes (numbering is elsewhere)."""
    d = dossier(date_entree=date(2024, 12, 17), date_sortie=date(2024, 12, 20),
                date_hospitalisation=date(2024, 12, 17),
                DMT=[dmt(debut=date(2024, 12, 17), fin=date(2024, 12, 19))],
                rums=[rum(date_entree_um=date(2024, 12, 17), date_sortie_um=date(2024, 12, 20))])
    v = validate(d, context(date_bascule=date(2024, 1, 1), closed_exercices=frozenset({2024})))
    assert v.billable_b2 and v.findings == ()


def test_newborn_with_transfer_validates():
    birth = date(2025, 3, 3)
    d = dossier(date_naissance=birth, justif_exo_tm="3", taux_remb=10000, code_pec_fj="R",
                etab_transfert="750000010", DMT=[],
                rums=[rum(ghm="15M05A", date_naissance=birth, mode_entree_um="N",
                          mode_sortie_um="7", destination="1")])
    assert validate(d, context()).billable_b2


def test_docs_list_every_validation_rule():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "valorisation.md").read_text(encoding="utf-8")
    for code, rule in RULES.items():
        assert f"| {code} | {CODES[code].severity} | {rule.phase} | `{rule.name}` |" in doc, code
    declared = {c for c in CODES if c.startswith("VAL")}
    assert declared == set(RULES), declared ^ set(RULES)

"""Valorisation (fides.billing.valorisation): every rule with hand-computed amounts.

Tariffs are the shipped 2024/2025 campaigns; the coefficient prudentiel is 0.993 (both), so
with coefficient MCO = géographique = 1 the line coefficient is 0.9930. Rounding: half-up to the
cent, line by line.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from dossier_factory import (
    REFS,
    context,
    dmi,
    dmt,
    dossier,
    fc_supplement,
    med,
    rum,
)
from fides.billing import BillingParams, InvoiceLine, Valorisation, valorise
from fides.billing.valorisation import REFERENTIAL_ERROR_CODES, _runs
from fides.referentials import RefRow, Referentials, read_shipped, default_directory
from fides.validation import ValidationContext


def lines_of(v: Valorisation, code: str) -> list[InvoiceLine]:
    return [ln for ln in v.lines if ln.code_prestation == code]


def codes(v: Valorisation) -> set[str]:
    return {f.code for f in v.findings}


def stay(entree: date, sortie: date, dmt_blocks=None, rum_over=None, **vid):
    """A one-RUM stay with the dates set consistently everywhere."""
    blocks = dmt_blocks if dmt_blocks is not None else [dmt(debut=entree, fin=sortie if sortie == entree
                                                            else date.fromordinal(sortie.toordinal() - 1))]
    r = rum(date_entree_um=entree, date_sortie_um=sortie, **(rum_over or {}))
    vid.setdefault("date_hospitalisation", entree)
    return dossier(date_entree=entree, date_sortie=sortie, DMT=blocks, rums=[r], **vid)


# --- short stay: GHS, FJ, TJC, TM, cross-check ----------------------------------------------


def test_short_stay_default_dossier():
    v = valorise(dossier(), context())
    assert v.findings == ()
    assert v.ghs == "1955" and v.campaign == 2025 and v.finess_geo == "990000028"
    (ghs,) = lines_of(v, "GHS")
    # GHS 1955 (06C091) campaign 2025: 2421.47 × 0.9930 = 2404.51971 -> 2404.52 ; AMO 80 % = 1923.62
    assert (ghs.quantite, ghs.prix_unitaire, ghs.coefficient) == (1, D("2421.47"), D("0.9930"))
    assert (ghs.base_remboursement, ghs.taux, ghs.montant_amo) == (D("2404.52"), 80, D("1923.62"))
    assert (ghs.num_ghs, ghs.mode_traitement, ghs.discipline) == ("1955", "03", "146")
    assert (ghs.date_debut, ghs.date_fin, ghs.justif_exo_tm) == (date(2025, 3, 3), date(2025, 3, 6), "0")
    # 3 nights 03/03 -> 06/03, exit home: FJ 03, 04, 05 + exit day 06 = 4 × 20.00 = 80.00, patient
    (fj,) = lines_of(v, "FJA")
    assert (fj.quantite, fj.prix_unitaire, fj.montant_total, fj.montant_amo, fj.taux) == (
        4, D("20.00"), D("80.00"), D("0.00"), 0)
    assert fj.code_pec_fj == "A" and (fj.date_debut, fj.date_fin) == (date(2025, 3, 3), date(2025, 3, 6))
    # DMT 146 03/03-05/03: 3 days × TJP 1000.00 = 3000.00, informative; TM = 3000 × 20 % = 600.00
    (tjc,) = lines_of(v, "TJC")
    assert (tjc.quantite, tjc.prix_unitaire, tjc.base_remboursement, tjc.taux, tjc.montant_amo) == (
        3, D("1000.00"), D("3000.00"), 0, D("0.00"))
    assert tjc.informative and v.ticket_moderateur == D("600.00")
    # totals: 2404.52 + 80.00 = 2484.52 ; AMO 1923.62 (TJC not counted)
    assert (v.total, v.total_amo) == (D("2484.52"), D("1923.62"))
    # FAQ §3.2 amounts: base 2404.52 ; AMO = 1923.62 + FJ without exit day 60.00 = 1983.62 ;
    # FJ 80.00 ; TM = 600.00 − 60.00 = 540.00 (the factory's VIDHOSP carries exactly these)
    assert dict(v.expected_vidhosp) == {"mt_total_amo": D("1983.62"), "mt_base_remb": D("2404.52"),
                                        "mt_fj": D("80.00"), "mt_tm": D("540.00")}


def test_long_stay_with_exh():
    # 03/03 -> 13/03 = 10 nights; borne haute of GHS 1955 = 4 -> EXH 6 days
    d = stay(date(2025, 3, 3), date(2025, 3, 13),
             mt_base_remb=D("3644.32"), mt_total_amo=D("3115.46"), mt_fj=D("220.00"), mt_tm=D("1800.00"))
    v = valorise(d, context())
    (exh,) = lines_of(v, "EXH")
    # 208.09 × 6 × 0.9930 = 1239.80022 -> 1239.80 ; AMO 80 % = 991.84
    assert (exh.quantite, exh.prix_unitaire, exh.base_remboursement, exh.montant_amo) == (
        6, D("208.09"), D("1239.80"), D("991.84"))
    assert exh.date_debut == date(2025, 3, 7)  # first day above the borne haute (entry + 4)
    # FJ: 11 days × 20 = 220.00 ; TJC 03/03-12/03 = 10 days × 1000 = 10000 -> TM 2000.00
    assert lines_of(v, "FJA")[0].montant_total == D("220.00")
    assert v.ticket_moderateur == D("2000.00")
    # base = 2404.52 + 1239.80 = 3644.32 ; AMO = 1923.62 + 991.84 + 200.00 (FJ w/o exit) = 3115.46
    # TM = 2000.00 − 200.00 = 1800.00
    assert v.findings == (), v.findings
    assert v.total == D("2404.52") + D("1239.80") + D("220.00")


def test_tm_covers_only_the_first_30_days():
    # 01/03 -> 10/04 (40 nights), hospitalisation started 01/03: TM on 30 days only
    d = stay(date(2025, 3, 1), date(2025, 4, 10))
    v = valorise(d, context())
    (tjc,) = lines_of(v, "TJC")
    assert tjc.quantite == 40  # 01/03-09/04
    assert v.ticket_moderateur == D("6000.00")  # 30 × 1000 × 20 %


def test_exb_per_day():
    # GHS 0308 (GHM 01M284) 2025: borne basse 9, tarif_exb 669.20/day ; 5 nights -> 4 EXB days
    d = stay(date(2025, 3, 3), date(2025, 3, 8), rum_over={"ghm": "01M284"},
             mt_base_remb=D("7361.63"), mt_total_amo=D("5989.30"), mt_fj=D("120.00"), mt_tm=D("900.00"))
    v = valorise(d, context())
    (ghs,) = lines_of(v, "GHS")
    (exb,) = lines_of(v, "EXB")
    # GHS 10090.32 × 0.9930 = 10019.68776 -> 10019.69 ; AMO 8015.75
    assert (ghs.base_remboursement, ghs.montant_amo) == (D("10019.69"), D("8015.75"))
    # EXB 669.20 × 4 × 0.9930 = 2658.0624 -> −2658.06 ; AMO −2126.45 (2658.06 × 80 % = 2126.448)
    assert (exb.quantite, exb.prix_unitaire, exb.base_remboursement, exb.montant_amo) == (
        4, D("669.20"), D("-2658.06"), D("-2126.45"))
    # base = 10019.69 − 2658.06 = 7361.63 ; AMO = 8015.75 − 2126.45 + 100.00 = 5989.30 ;
    # TM = 5 days × 1000 × 20 % − 100.00 = 900.00
    assert v.findings == (), v.findings
    assert v.total_amo == D("8015.75") - D("2126.45")


def test_exb_forfait():
    # a campaign whose GHS has a one-off EXB forfait (older campaigns did; 2024/2025 do not)
    rows = [r for r in read_shipped(default_directory()) if r.table != "ghs_tarifs"]
    rows.append(RefRow("ghs_tarifs", "1955", date(2025, 3, 1), date(2026, 2, 28), {
        "anseqta": "2025", "ghs": "1955", "ghm": "06C091", "borne_basse": "5", "borne_haute": "12",
        "tarif_base": "3000.00", "forfait_exb": "500.00", "tarif_exb": "0.00", "tarif_exh": "100.00"}))
    refs = Referentials.from_rows(rows)
    ctx = ValidationContext(context().params, refs, context().um_finess_geo, date(2025, 4, 1))
    v = valorise(dossier(), ctx)
    (exb,) = lines_of(v, "EXB")
    # 3 nights < borne basse 5: forfait 500.00 × 0.9930 = 496.50, once
    assert (exb.quantite, exb.prix_unitaire, exb.base_remboursement, exb.montant_amo) == (
        1, D("500.00"), D("-496.50"), D("-397.20"))


def test_ambulatory_stay_has_no_fj():
    # GHM 01C15J (GHS 0083) 1131.40, same-day stay, DMT HDJ-type mode 23 on the day itself
    day = date(2025, 3, 3)
    d = stay(day, day, dmt_blocks=[dmt(debut=day, fin=day, mode="23")], rum_over={"ghm": "01C15J"},
             mt_base_remb=D("1123.48"), mt_total_amo=D("898.78"), mt_fj=D("0"), mt_tm=D("200.00"))
    v = valorise(d, context())
    assert not [ln for ln in v.lines if ln.code_prestation.startswith("FJ")]
    # GHS 1131.40 × 0.9930 = 1123.4802 -> 1123.48 ; AMO 80 % = 898.784 -> 898.78
    (ghs,) = lines_of(v, "GHS")
    assert (ghs.base_remboursement, ghs.montant_amo, ghs.mode_traitement) == (D("1123.48"), D("898.78"), "23")
    # same-day stay: the TJC day is the stay's only day (1 × 1000), TM 200.00
    assert lines_of(v, "TJC")[0].quantite == 1 and v.ticket_moderateur == D("200.00")
    assert v.findings == ()


def test_exonerated_patient():
    # ALD (exonération 4), taux 100 %, FJ at the patient's charge
    d = dossier(justif_exo_tm="4", taux_remb=10000, mt_total_amo=D("2404.52"), mt_tm=D("0"))
    v = valorise(d, context())
    (ghs,) = lines_of(v, "GHS")
    assert (ghs.taux, ghs.montant_amo) == (100, D("2404.52"))
    assert v.ticket_moderateur == D("0.00")
    # AMO = GHS 2404.52 (FJ not exonerated, stays with the patient) ; FJ 80.00 ; TM 0
    assert v.expected_vidhosp["mt_total_amo"] == D("2404.52") and v.findings == ()
    assert lines_of(v, "TJC")  # DMT still sent as TJC (FAQ §3.1)


def test_exonerated_patient_and_fj():
    d = dossier(justif_exo_tm="4", taux_remb=10000, code_pec_fj="R",
                mt_total_amo=D("2484.52"), mt_tm=D("0"))
    v = valorise(d, context())
    (fj,) = lines_of(v, "FJR")
    assert (fj.montant_total, fj.montant_amo, fj.taux, fj.code_pec_fj) == (D("80.00"), D("80.00"), 100, "R")
    # AMO = 2404.52 + FJ 80.00 = 2484.52
    assert v.total_amo == D("2484.52") and v.findings == ()


def test_alsace_moselle_fj():
    v = valorise(dossier(code_pec_fj="L", nature_assurance="13", taux_remb=9000, justif_exo_tm="9"), context())
    (fj,) = lines_of(v, "FJL")
    assert fj.montant_amo == D("80.00")


def test_work_accident():
    # AT (41): taux 100 %, FJ at the régime's charge even if VIDHOSP says A, no participation
    d = dossier(nature_assurance="41", taux_remb=10000, num_at_date_accident="250301000",
                facturation_18e="1", mt_total_amo=D("2484.52"), mt_tm=D("0"))
    v = valorise(d, context())
    assert {"FAC017", "FAC018"} <= codes(v) and not v.blocking
    (fj,) = lines_of(v, "FJR")
    assert fj.montant_amo == D("80.00")
    (ghs,) = lines_of(v, "GHS")
    assert (ghs.taux, ghs.montant_amo, ghs.code_participation) == (100, D("2404.52"), "")
    # AMO = 2404.52 + 80.00 = 2484.52
    assert v.total_amo == D("2484.52")


def test_newborn_with_neonatology_supplement():
    # born 03/03, GHM 15M05A -> GHS 5723 (160.56, bornes 0/0), 5 nights in a néonatologie UM
    # (type 04 -> NN1), exonerated (3: nourrisson < 30 jours), FJ by the régime
    birth = date(2025, 3, 3)
    d = stay(birth, date(2025, 3, 8), dmt_blocks=[], rum_over={"ghm": "15M05A", "date_naissance": birth,
                                                                "mode_entree_um": "N"},
             date_naissance=birth, justif_exo_tm="3", taux_remb=10000, code_pec_fj="R",
             mt_base_remb=D("159.44"), mt_total_amo=D("279.44"), mt_fj=D("120.00"), mt_tm=D("0"))
    v = valorise(d, context(um_type=lambda um, on: "04"))
    # GHS 160.56 × 0.9930 = 159.43608 -> 159.44
    assert lines_of(v, "GHS")[0].base_remboursement == D("159.44")
    # NN1 386.11 × 5 × 0.9930 = 1917.03615 -> 1917.04, 100 %
    (nn,) = lines_of(v, "NN1")
    assert (nn.quantite, nn.base_remboursement, nn.montant_amo) == (5, D("1917.04"), D("1917.04"))
    # FJR 6 days × 20.00 = 120.00, paid by the régime
    assert lines_of(v, "FJR")[0].montant_amo == D("120.00")
    # total = AMO = 159.44 + 1917.04 + 120.00 = 2196.48 ; VIDHOSP AMO (séjour) = 159.44 + 120 = 279.44
    assert v.total == v.total_amo == D("2196.48")
    assert v.findings == (), v.findings


def test_rss_supplements_by_um_type():
    # adult réanimation (01A): REA when IGS2 >= 15, else SRC ; soins intensifs (02A): STF
    rea = valorise(dossier(rums=[rum(igs2=40)]), context(um_type=lambda um, on: "01A"))
    # 3 nights × 1021.95 × 0.9930 = 3044.3890... -> 3044.39, taux 80 % -> 2435.51
    (line,) = lines_of(rea, "REA")
    assert (line.quantite, line.base_remboursement, line.montant_amo) == (3, D("3044.39"), D("2435.51"))
    src = valorise(dossier(rums=[rum(igs2=10)]), context(um_type=lambda um, on: "01A"))
    assert lines_of(src, "SRC")[0].base_remboursement == D("1191.42")  # 399.94 × 3 × 0.993
    stf = valorise(dossier(), context(um_type=lambda um, on: "02A"))
    assert lines_of(stf, "STF")[0].quantite == 3
    none = valorise(dossier(), context(um_type=lambda um, on: "29"))
    assert {ln.code_prestation for ln in none.lines} == {"GHS", "FJA", "TJC"}


def test_transfer_over_48h_has_no_exit_day_fj():
    # definitive transfer (mode 7) to another establishment: FJ 03, 04, 05 only = 60.00
    d = dossier(etab_transfert="750000010", rums=[rum(mode_sortie_um="7", destination="1")],
                mt_fj=D("60.00"))
    v = valorise(d, context())
    (fj,) = lines_of(v, "FJA")
    assert (fj.quantite, fj.montant_total, fj.date_fin) == (3, D("60.00"), date(2025, 3, 5))
    # no exit-day FJ: FJ without exit day = 60.00 -> AMO 1923.62 + 60.00, TM 600.00 − 60.00
    assert v.expected_vidhosp["mt_total_amo"] == D("1983.62")
    assert v.expected_vidhosp["mt_tm"] == D("540.00")
    assert v.findings == ()


def test_death_has_no_exit_day_fj():
    v = valorise(dossier(rums=[rum(mode_sortie_um="9")], mt_fj=D("60.00")), context())
    assert lines_of(v, "FJA")[0].quantite == 3


def test_psychiatry_fj_amount():
    # a DMT in psychiatry (230): 15.00 per day instead of 20.00
    d = dossier(DMT=[dmt(discipline="230")], mt_fj=D("60.00"), mt_total_amo=D("1968.62"), mt_tm=D("555.00"))
    v = valorise(d, context(tjp={"230": D("1000.00")}))
    (fj,) = lines_of(v, "FJA")
    assert (fj.prix_unitaire, fj.quantite, fj.montant_total, fj.discipline) == (D("15.00"), 4, D("60.00"), "230")


def test_fj_amount_changes_on_its_date():
    # 30/12/2017 -> 02/01/2018: 18.00 on 30 and 31/12, 20.00 on 01 and 02/01 (2017 has no tariff)
    d = stay(date(2017, 12, 30), date(2018, 1, 2))
    v = valorise(d, context(date_bascule=date(2017, 1, 1)))
    assert [(ln.prix_unitaire, ln.quantite) for ln in lines_of(v, "FJA")] == [(D("18.00"), 2), (D("20.00"), 2)]
    assert "FAC002" in codes(v)  # campaign 2017 not shipped: a referential error


def test_med_en_sus():
    # FICHCOMP 06: 1 dose, 512.340 € (7+3) -> PH8 512.34 at 100 %, no TM
    v = valorise(dossier(fichcomp={"06": [med()], "09": [med(ftype="09", nb=D("1.500"), total=D("768.510"))]}),
                 context())
    whole, fraction = lines_of(v, "PH8")
    assert (whole.quantite, whole.prix_unitaire, whole.base_remboursement, whole.taux, whole.montant_amo) == (
        1, D("512.34"), D("512.34"), 100, D("512.34"))
    assert whole.ucd.code == "3400890000017" and whole.ucd.fractionnement == 1 and whole.ucd.quantite == 1
    assert whole.date_debut == whole.date_fin == date(2025, 3, 4)
    # 1.5 doses for 768.51 € : unit purchase price 768.51 / 1.5 = 512.34
    assert (fraction.ucd.fractionnement, fraction.ucd.prix_achat, fraction.ucd.montant) == (
        D("1.500"), D("512.34"), D("768.51"))
    # total = 2484.52 + 512.34 + 768.51 = 3765.37 ; AMO = 1923.62 + 512.34 + 768.51 = 3204.47
    assert (v.total, v.total_amo) == (D("3765.37"), D("3204.47"))
    # MED en sus are "prestations annexes": the VIDHOSP séjour amounts do not include them
    assert v.findings == ()


def test_dmi():
    # FICHCOMP 02: 2 implants, 904.000 € -> PII 904.00 at 100 %, LPP detail 2 × 452.00
    v = valorise(dossier(fichcomp={"02": [dmi(nombre=2, montant=D("904.000"))]}), context())
    (line,) = lines_of(v, "PII")
    assert (line.base_remboursement, line.montant_amo, line.taux) == (D("904.00"), D("904.00"), 100)
    assert line.lpp.code == "3100001" and line.lpp.quantite == 2 and line.lpp.prix_achat == D("452.00")
    assert v.total_amo == D("1923.62") + D("904.00")


def test_fichcomp_supplements():
    # PO2 (03): 11688.48 × 0.9930 = 11606.66, 100 % ; no TJC for an organ retrieval stay
    # PIE REA × 2 (04): 1021.95 × 2 × 0.9930 = 2029.59, 80 % -> 1623.67
    # DIP × 3 (07): 54.18 × 3 × 0.9930 = 161.40, 80 % -> 129.12
    fc = {"03": [fc_supplement("03", "PO2", 1, debut=date(2025, 3, 4))],
          "04": [fc_supplement("04", "REA", 2, fin=date(2025, 3, 5))],
          "07": [fc_supplement("07", "DIP", 3, fin=date(2025, 3, 5))]}
    v = valorise(dossier(fichcomp=fc), context())
    assert (lines_of(v, "PO2")[0].base_remboursement, lines_of(v, "PO2")[0].montant_amo) == (
        D("11606.66"), D("11606.66"))
    assert (lines_of(v, "REA")[0].base_remboursement, lines_of(v, "REA")[0].montant_amo) == (
        D("2029.59"), D("1623.67"))
    assert (lines_of(v, "DIP")[0].base_remboursement, lines_of(v, "DIP")[0].montant_amo) == (
        D("161.40"), D("129.12"))
    assert not lines_of(v, "TJC") and v.ticket_moderateur == 0


def test_seances_are_billed_per_seance():
    # GHM 28Z04Z -> GHS 9605 (387.67) × 3 séances × 0.9930 = 1154.87
    day = date(2025, 3, 3)
    d = stay(day, day, dmt_blocks=[dmt(debut=day, fin=day, mode="19")],
             rum_over={"ghm": "28Z04Z", "nb_seances": 3})
    (ghs,) = lines_of(valorise(d, context()), "GHS")
    assert (ghs.num_ghs, ghs.quantite, ghs.base_remboursement) == ("9605", 3, D("1154.87"))


# --- participation forfaitaire and coefficients ---------------------------------------------------


def test_participation_forfaitaire_24_euros():
    # facturation du "18 €" = 24 € since 2019: no TM, the AMO pays the GHS minus 24.00
    d = dossier(facturation_18e="1", mt_total_amo=D("2380.52"), mt_tm=D("0"))
    v = valorise(d, context())
    (ghs,) = lines_of(v, "GHS")
    # 2404.52 − 24.00 = 2380.52
    assert (ghs.taux, ghs.montant_amo, ghs.code_participation) == (100, D("2380.52"), "A")
    assert v.participation_forfaitaire == D("24.00") and v.findings == ()


def test_coefficients_mco_and_geographique():
    # 0.993 × 1.02 × 1.07 = 1.0837602 -> 1.0838 ; 2421.47 × 1.0838 = 2624.389... -> 2624.39
    v = valorise(dossier(), context(coefficient_mco=D("1.02"), coefficient_geographique=D("1.07")))
    (ghs,) = lines_of(v, "GHS")
    assert (ghs.coefficient, ghs.base_remboursement, ghs.montant_amo) == (D("1.0838"), D("2624.39"), D("2099.51"))
    assert "FAC011" in codes(v)  # the factory's VIDHOSP was computed with coefficient 0.993


def test_coefficient_prudentiel_override():
    v = valorise(dossier(), context(coefficient_prudentiel=D("1")))
    assert lines_of(v, "GHS")[0].base_remboursement == D("2421.47")


# --- campaign boundary -------------------------------------------------------------------------


def test_campaign_boundary_exit_28_february_vs_1_march():
    before = valorise(stay(date(2025, 2, 25), date(2025, 2, 28)), context())
    after = valorise(stay(date(2025, 2, 26), date(2025, 3, 1)), context())
    # exit 28/02/2025: campaign 2024, GHS 1955 = 2416.96 × 0.993 = 2400.04128 -> 2400.04
    assert before.campaign == 2024 and lines_of(before, "GHS")[0].base_remboursement == D("2400.04")
    # exit 01/03/2025: campaign 2025, 2421.47 × 0.993 -> 2404.52
    assert after.campaign == 2025 and lines_of(after, "GHS")[0].base_remboursement == D("2404.52")


def test_closed_exercice_dossier_is_valued_with_its_campaign():
    d = stay(date(2024, 12, 17), date(2024, 12, 20))
    v = valorise(d, context(date_bascule=date(2024, 1, 1), closed_exercices=frozenset({2024})))
    assert v.campaign == 2024 and lines_of(v, "GHS")[0].base_remboursement == D("2400.04")


# --- cross-check with the VIDHOSP amounts ---------------------------------------------------------


def test_vidhosp_amount_mismatch_blocks():
    v = valorise(dossier(mt_total_amo=D("1900.00"), mt_base_remb=D("2500.00")), context())
    assert {"FAC010", "FAC011"} <= codes(v) and v.blocking and not v.referential_error


def test_fj_and_tm_mismatch_warn():
    v = valorise(dossier(mt_fj=D("100.00"), mt_tm=D("500.00")), context())
    assert {"FAC012", "FAC013"} == codes(v) and not v.blocking


def test_tolerance_is_configurable():
    # 1983.62 expected; 1983.67 is 0.05 away (accepted), 1983.68 is 0.06 away (refused)
    assert "FAC010" not in codes(valorise(dossier(mt_total_amo=D("1983.67")), context()))
    assert "FAC010" in codes(valorise(dossier(mt_total_amo=D("1983.68")), context()))
    assert "FAC010" not in codes(valorise(dossier(mt_total_amo=D("1983.68")), context(tolerance=D("0.10"))))


def test_amounts_in_cents_are_accepted():
    # an int is a raw amount in cents (8+2): 198362 = 1983.62 €
    v = valorise(dossier(mt_total_amo=198362, mt_base_remb=240452, mt_fj=8000, mt_tm=54000), context())
    assert v.findings == ()


def test_vidhosp_without_amounts_is_a_warning():
    v = valorise(dossier(mt_total_amo=D("0"), mt_base_remb=D("0")), context())
    assert codes(v) == {"FAC014"} and not v.blocking


# --- referential and data errors ------------------------------------------------------------------


def test_unknown_ghm_is_a_referential_error():
    v = valorise(dossier(rums=[rum(ghm="99Z99Z")]), context())
    assert "FAC001" in codes(v) and v.referential_error and "FAC001" in REFERENTIAL_ERROR_CODES


def test_missing_tariff_is_a_referential_error():
    # exit 15/02/2024: campaign 2023, not shipped
    v = valorise(stay(date(2024, 2, 12), date(2024, 2, 15)), context(date_bascule=date(2024, 1, 1)))
    assert "FAC002" in codes(v) and v.referential_error


def test_um_without_finess_geo_is_a_referential_error():
    v = valorise(dossier(rums=[rum(num_um="9999")]), context())
    assert "FAC003" in codes(v) and v.referential_error and v.finess_geo is None


def test_missing_fj_amount_and_coefficient_are_referential_errors():
    rows = [r for r in read_shipped(default_directory())
            if r.table not in ("forfait_journalier_montants", "coefficient_prudentiel")]
    refs = Referentials.from_rows(rows)
    ctx = ValidationContext(context().params, refs, context().um_finess_geo, date(2025, 4, 1))
    v = valorise(dossier(), ctx)
    assert {"FAC004", "FAC006"} <= codes(v) and v.referential_error


def test_unknown_supplement_is_a_referential_error():
    v = valorise(dossier(fichcomp={"04": [fc_supplement("04", "SRA", 1)]}), context())
    assert "FAC005" in codes(v)


def test_missing_daily_rate_is_a_parameter_error():
    v = valorise(dossier(), context(tjp={}))
    assert "FAC007" in codes(v) and v.referential_error
    # the DMT's own unit price is used when no rate is configured
    v = valorise(dossier(DMT=[dmt(prix_unitaire=D("1000.00"))]), context(tjp={}))
    assert "FAC007" not in codes(v) and lines_of(v, "TJC")[0].prix_unitaire == D("1000.00")


def test_tjc_rate_choice_and_differences():
    # TJC of the discipline wins over its TJP; a DMT unit price that differs is reported
    v = valorise(dossier(DMT=[dmt(prix_unitaire=D("900.00"))]), context(tjc={"146": D("1000.00")},
                                                                          tjp={"146": D("1200.00")}))
    assert lines_of(v, "TJC")[0].prix_unitaire == D("1000.00") and "FAC015" in codes(v)


def test_tjc_never_on_the_last_ghs_day():
    v = valorise(dossier(DMT=[dmt(fin=date(2025, 3, 6))]), context())
    (tjc,) = lines_of(v, "TJC")
    assert (tjc.quantite, tjc.date_fin) == (3, date(2025, 3, 5)) and "FAC016" in codes(v)


def test_several_dmt_blocks_give_several_tjc():
    blocks = [dmt(debut=date(2025, 3, 3), fin=date(2025, 3, 3), discipline="104"),
              dmt(debut=date(2025, 3, 4), fin=date(2025, 3, 5))]
    v = valorise(dossier(DMT=blocks), context(tjp={"104": D("2500.00"), "146": D("1000.00")}))
    assert [(t.discipline, t.quantite, t.base_remboursement) for t in lines_of(v, "TJC")] == [
        ("104", 1, D("2500.00")), ("146", 2, D("2000.00"))]
    # TM = (2500 + 2000) × 20 % = 900.00
    assert v.ticket_moderateur == D("900.00")


def test_shared_mutation_day_is_billed_once_in_the_later_block():
    # 03/03-04/03 in 104 (mutation on 04/03), 04/03-05/03 in 146: 03/03 in 104, 04-05/03 in 146
    blocks = [dmt(debut=date(2025, 3, 3), fin=date(2025, 3, 4), discipline="104"),
              dmt(debut=date(2025, 3, 4), fin=date(2025, 3, 5))]
    v = valorise(dossier(DMT=blocks), context(tjp={"104": D("2500.00"), "146": D("1000.00")}))
    assert [(t.discipline, t.date_debut, t.date_fin, t.quantite) for t in lines_of(v, "TJC")] == [
        ("104", date(2025, 3, 3), date(2025, 3, 3), 1), ("146", date(2025, 3, 4), date(2025, 3, 5), 2)]
    # FJ: 03/03 with block 104, 04-06/03 with block 146 (exit day after the last block)
    assert [(ln.discipline, ln.quantite) for ln in lines_of(v, "FJA")] == [("104", 1), ("146", 3)]


def test_med_without_amount_and_out_of_stay():
    v = valorise(dossier(fichcomp={"06": [med(total=D("0")), med(day=date(2025, 3, 10))]}), context())
    assert {"FAC019", "FAC020"} <= codes(v)
    assert len(lines_of(v, "PH8")) == 1


def test_incomplete_dossier_cannot_be_valued():
    v = valorise(dossier(rums=[]), context())
    assert codes(v) == {"FAC009"} and v.lines == () and v.total == 0


def test_params_are_normalised():
    p = BillingParams(finess="990000010", date_bascule=date(2025, 1, 1), tjp={"101": "1200.5"},
                      tolerance="0.1", closed_exercices=[2024])
    assert p.tjp["101"] == D("1200.5") and p.tolerance == D("0.1") and p.closed_exercices == {2024}
    assert p.daily_rate("101") == D("1200.5") and p.daily_rate("102") is None
    hash(p)


def test_referentials_are_shared_by_the_factory():
    assert REFS.ghs_of_ghm("06C091", date(2025, 6, 1)) == "1955"


def test_docs_list_every_billing_code():
    from pathlib import Path

    from fides.errors import CODES

    doc = (Path(__file__).resolve().parents[2] / "docs" / "valorisation.md").read_text(encoding="utf-8")
    for code, err in CODES.items():
        if code.startswith("FAC"):
            assert f"| {code} | {err.severity} |" in doc, code


@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 6)), max_size=3), st.integers(0, 14), st.integers(0, 8))
def test_fj_days_go_with_the_last_block_holding_them_else_the_block_before(blocks, first, days):
    """`_runs` (with its shortcut for one block) against the rule stated day by day."""
    spans = [(lo, lo + n, {"n": i}) for i, (lo, n) in enumerate(blocks)]
    last = first + days
    want, block = [], None
    for day in range(first, last + 1):
        block = next((b for lo, hi, b in reversed(spans) if lo <= day <= hi), block)
        want.append(block)
    runs = _runs(spans, first, last)
    assert [b for start, end, b in runs for _ in range(start, end + 1)] == want
    assert runs[0][0] == first and all(a[1] + 1 == b[0] and a[2] is not b[2] for a, b in zip(runs, runs[1:]))

"""The shipped referentials: manifest, loader, lookups (fides.referentials)."""

from __future__ import annotations

import csv
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from fides.referentials import (
    GhsTariff,
    RefRow,
    ReferentialError,
    Referentials,
    campaign_bounds,
    campaign_of,
    default_directory,
    read_shipped,
)
from fides.validation.facts import finess_ok, nir_key, nir_key_ok

DIR = default_directory()


@pytest.fixture(scope="module")
def rows() -> list[RefRow]:
    return list(read_shipped(DIR))


@pytest.fixture(scope="module")
def refs(rows) -> Referentials:
    return Referentials.from_rows(rows)


# --- manifest and files ----------------------------------------------------------------------


def test_manifest_lists_every_shipped_csv_with_its_metadata():
    manifest = tomllib.loads((DIR / "manifest.toml").read_text(encoding="utf-8"))
    files = {t["file"] for t in manifest["table"]}
    shipped = {p.name for p in DIR.glob("*.csv")} - {"identifiers_test_vectors.csv"}
    assert files == shipped
    for entry in manifest["table"]:
        assert entry["status"] in ("REAL", "REAL+FAQ", "FAQ", "PARTIAL"), entry["file"]
        assert entry["source"] and entry["licence"] and entry["key"], entry["file"]


def test_every_row_is_read_with_its_table_and_key(rows):
    by_table: dict[str, int] = {}
    for r in rows:
        by_table[r.table] = by_table.get(r.table, 0) + 1
        assert r.key, r
    assert by_table["ghs_tarifs"] == 3698 * 2
    assert by_table["regimes"] == 23
    assert by_table["ghm_ghs_mapping"] == 5960


def test_keys_are_unique_per_table_and_validity(rows):
    seen = set()
    for r in rows:
        k = (r.table, r.key, r.valid_from)
        assert k not in seen, k
        seen.add(k)


def test_ghs_tariff_files_have_their_campaign_dates(rows):
    r2024 = next(r for r in rows if r.table == "ghs_tarifs" and r.data["anseqta"] == "2024")
    r2025 = next(r for r in rows if r.table == "ghs_tarifs" and r.data["anseqta"] == "2025")
    assert (r2024.valid_from, r2024.valid_to) == (date(2024, 3, 1), date(2025, 2, 28))
    assert (r2025.valid_from, r2025.valid_to) == (date(2025, 3, 1), date(2026, 2, 28))


def test_campaign_and_column_validities(rows):
    coef_2024 = next(r for r in rows if r.table == "coefficient_prudentiel" and r.key == "2024")
    assert (coef_2024.valid_from, coef_2024.valid_to) == (date(2024, 3, 1), date(2025, 2, 28))
    fj = next(r for r in rows if r.table == "forfait_journalier_montants" and r.key == "2010-01-01")
    assert (fj.valid_from, fj.valid_to) == (date(2010, 1, 1), date(2017, 12, 31))
    mapping = next(r for r in rows if r.table == "ghm_ghs_mapping" and r.key == "06C091|5352")
    # first campaign 2021, last 2025
    assert (mapping.valid_from, mapping.valid_to) == (date(2021, 3, 1), date(2026, 2, 28))


def test_composite_keys_are_joined_with_a_bar(refs):
    assert "01|751" in refs.codes("caisses_01_02") or any(
        k.startswith("01|") for k in refs.codes("caisses_01_02"))


def test_a_bad_manifest_is_a_referential_error(tmp_path: Path):
    (tmp_path / "manifest.toml").write_text('[[table]]\nname="x"\nfile="x.csv"\nkey=["code"]\n'
                                            'validity="columns"\nfrom_column="d"\nto_column="f"\n')
    (tmp_path / "x.csv").write_text("code,d,f\nA,2020-13-45,\n")
    with pytest.raises(ReferentialError):
        list(read_shipped(tmp_path))
    (tmp_path / "x.csv").write_text("other\nA\n")
    with pytest.raises(ReferentialError):
        list(read_shipped(tmp_path))


# --- campaigns ------------------------------------------------------------------------------


def test_campaigns_start_on_the_first_of_march():
    assert campaign_of(date(2025, 2, 28)) == 2024
    assert campaign_of(date(2025, 3, 1)) == 2025
    assert campaign_of(date(2025, 12, 31)) == 2025
    assert campaign_bounds(2023) == (date(2023, 3, 1), date(2024, 2, 29))  # leap year


# --- GHS ---------------------------------------------------------------------------------------


def test_ghs_tariff_by_campaign(refs):
    t2024 = refs.ghs_tariff("1955", date(2025, 2, 28))
    t2025 = refs.ghs_tariff("1955", date(2025, 3, 1))
    assert t2024 == GhsTariff("1955", "06C091", 2024, Decimal("2416.96"), 0, 4, Decimal("0.00"),
                              Decimal("0.00"), Decimal("207.70"), date(2024, 3, 1),
                              "Appendicectomies non compliquées, niveau 1")
    assert t2025.tarif_base == Decimal("2421.47") and t2025.tarif_exh == Decimal("208.09")
    t0308 = refs.ghs_tariff("0308", date(2025, 6, 1))
    assert (t0308.borne_basse, t0308.borne_haute, t0308.tarif_exb) == (9, 52, Decimal("669.20"))
    assert refs.ghs_tariff("1955", date(2024, 2, 29)) is None  # campaign 2023 not shipped
    assert refs.ghs_tariff("1955", date(2026, 3, 1)) is None  # campaign 2026 not shipped
    assert refs.ghs_tariff("0000", date(2025, 6, 1)) is None


def test_ghs_of_ghm(refs):
    assert refs.ghs_of_ghm("06C091", date(2025, 6, 1)) == "1955"  # 1955 and 5352: the main one
    assert refs.ghs_candidates("06C091", date(2025, 6, 1)) == ("1955", "5352")
    assert refs.ghs_candidates("06C091", date(2020, 6, 1)) == ("1955",)  # 5352 from 2021 only
    assert refs.ghs_of_ghm("01C041", date(2025, 6, 1)) == "0026"
    assert refs.ghs_of_ghm("15M05A", date(2025, 6, 1)) == "5723"  # only 5xxx GHS: the lowest
    assert refs.ghs_of_ghm("09Z02A", date(2025, 6, 1)) == "9999"
    assert refs.ghs_of_ghm("99Z99Z", date(2025, 6, 1)) is None
    assert refs.ghs_9999_category("09Z02A") == "esthetique"
    assert refs.ghs_9999_category("23Z03Z") == "confort_non_pris_en_charge_AMO"
    assert refs.ghs_9999_category("06C091") is None


# --- amounts by date ----------------------------------------------------------------------------


def test_forfait_journalier_by_date(refs):
    assert refs.fj_amount(date(2017, 12, 31)) == Decimal("18.00")
    assert refs.fj_amount(date(2018, 1, 1)) == Decimal("20.00")
    assert refs.fj_amount(date(2025, 6, 1), psychiatry=True) == Decimal("15.00")
    assert refs.fj_period(date(2017, 6, 1)) == (Decimal("18.00"), Decimal("13.50"), date(2017, 12, 31))
    assert refs.fj_period(date(2025, 6, 1)) == (Decimal("20.00"), Decimal("15.00"), None)
    assert refs.fj_amount(date(2000, 1, 1)) is None


def test_participation_forfaitaire_and_coefficient(refs):
    assert refs.participation_forfaitaire(date(2018, 12, 31)) == Decimal("18.00")
    assert refs.participation_forfaitaire(date(2019, 1, 1)) == Decimal("24.00")
    assert refs.coefficient_prudentiel(date(2025, 2, 28)) == Decimal("0.993")  # campaign 2024
    assert refs.coefficient_prudentiel(date(2016, 6, 1)) == Decimal("0.995")
    assert refs.coefficient_prudentiel(date(2010, 6, 1)) is None


def test_supplement_tariffs_by_campaign(refs):
    assert refs.supplement_tariff("REA", date(2025, 2, 28)) == Decimal("996.82")  # 2024
    assert refs.supplement_tariff("REA", date(2025, 3, 1)) == Decimal("1021.95")  # 2025
    assert refs.supplement_tariff("NN1", date(2025, 6, 1)) == Decimal("386.11")
    assert refs.supplement_tariff("PO2", date(2025, 6, 1)) == Decimal("11688.48")
    assert refs.supplement_tariff("DIP", date(2025, 6, 1)) == Decimal("54.18")
    assert refs.supplement_tariff("XXX", date(2025, 6, 1)) is None


# --- code lists ------------------------------------------------------------------------------


def test_code_lists(refs):
    assert refs.codes("regimes") >= {"01", "02", "03", "99"}
    assert refs.regime_accepted("01") and refs.regime_accepted("02")
    assert not refs.regime_accepted("03") and not refs.regime_accepted("XX")
    assert refs.codes("nature_assurance") == {"10", "13", "30", "41", "90", "XX"}
    assert {"0", "4", "X", "C"} <= refs.codes("exoneration_tm")
    assert refs.codes("forfait_journalier_codes") == {"A", "R", "L", "X"}
    assert refs.codes("unknown_table") == frozenset()
    assert refs.is_dialysis_forfait("D11") and refs.is_dialysis_forfait("D09")
    assert not refs.is_dialysis_forfait("D01")  # hémodialyse en centre: not a forfait
    assert refs.is_innovation_forfait("I01") and refs.innovation_tariff("I02") == Decimal("95897.00")
    assert refs.mode_traitement_type("03") == "SEJOURNE" and refs.mode_traitement_type("04") == "EXTERNE"
    assert refs.is_psychiatry_discipline(next(iter(sorted(
        r for r in refs.codes("discipline_prestation_dmt")
        if refs.row("discipline_prestation_dmt", r)["grande_discipline"] == "6"))))
    assert not refs.is_psychiatry_discipline("101")
    assert refs.um_type("01A")["flag_rea"] == "1"
    assert refs.row("regimes", "02")["sigle"] == "MSA"
    assert refs.row("regimes", "00") is None


def test_codes_on_a_date(refs):
    assert "1955" in refs.codes("ghs_tarifs", date(2025, 6, 1))
    assert refs.codes("ghs_tarifs", date(2023, 6, 1)) == frozenset()
    assert refs.codes("coefficient_prudentiel", date(2025, 6, 1)) == {"2025"}


def test_from_rows_accepts_rows_read_back_from_a_database():
    """The DB adapter feeds RefRows with string data; extra or unknown tables are kept as is."""
    rows = [
        RefRow("ghs_tarifs", "0001", date(2026, 3, 1), None,
               {"anseqta": "2026", "ghs": "0001", "ghm": "01C011", "borne_basse": "3",
                "borne_haute": "10", "tarif_base": "1000.00", "forfait_exb": "250.00",
                "tarif_exb": "0.00", "tarif_exh": "50.00", "date_effet": "2026-03-01"}),
        RefRow("my_table", "K", None, None, {"x": "1"}),
    ]
    refs = Referentials.from_rows(rows)
    t = refs.ghs_tariff("0001", date(2030, 1, 1))
    assert t.campaign == 2026 and t.forfait_exb == Decimal("250.00") and t.borne_basse == 3
    assert refs.ghs_of_ghm("01C011", date(2026, 3, 1)) == "0001"
    assert refs.row("my_table", "K") == {"x": "1"}
    assert refs.tables() == {"ghs_tarifs", "my_table"}


# --- identifiers (NIR key, FINESS Luhn) against the shipped test vectors -----------------------


def test_identifier_test_vectors():
    with (DIR / "identifiers_test_vectors.csv").open(encoding="utf-8") as fh:
        vectors = list(csv.DictReader(fh))
    assert vectors
    for vec in vectors:
        value, expected = vec["value"], vec["expected_valid"] == "1"
        if vec["type"] == "nir":
            assert nir_key_ok(value[:13], value[13:]) is expected, vec
        elif vec["type"] == "finess" and value.isdigit():
            assert finess_ok(value) is expected, vec


def test_nir_key_examples():
    # identifiers.md: 1850578006084 mod 97 = 6 -> 97 - 6 = 91 ; Corsica 2A -> 19, 2B -> 18
    assert nir_key("1850578006084") == 91
    assert nir_key("299052A202817") == 58
    assert nir_key("299052B202817") == 85
    assert nir_key("18505780060") is None

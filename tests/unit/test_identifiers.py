"""NIR and FINESS keys against the shared spec's test vectors (referentials/identifiers_test_vectors.csv,
copied here so that the tests do not depend on the spec folder) and worked examples."""

import pytest

from fides.identifiers import finess_key, finess_valid, nir_full_valid, nir_key, nir_valid

VECTORS = [  # type, value, expected_valid, note
    ("nir", "185057800608491", True, "synthetic; key 91"),
    ("nir", "299052A20281758", True, "synthetic Corsica 2A->19; key 58"),
    ("nir", "299052B20281785", True, "synthetic Corsica 2B->18; key 85"),
    ("nir", "255081416802538", True, "example from betagouv/nir_validate README"),
    ("nir", "185057800608490", False, "wrong key (expected 91)"),
    ("nir", "XXXXXXXXXXXXX", False, "anonymous / no information"),
    ("finess", "750000010", True, "synthetic; Luhn key 0"),
    ("finess", "130012347", True, "synthetic; Luhn key 7"),
    ("finess", "690000427", True, "synthetic; Luhn key 7"),
    ("finess", "240000117", True, "real public (CH Périgueux EJ)"),
    ("finess", "640000600", True, "real public (CH Pau EG)"),
    ("finess", "750000011", False, "Luhn failure"),
    ("finess", "75000001", False, "length 8"),
]


@pytest.mark.parametrize("kind,value,expected,note", VECTORS)
def test_vectors(kind, value, expected, note):
    check = nir_full_valid if kind == "nir" else finess_valid
    assert check(value) is expected, note


@pytest.mark.parametrize("body,key", [("1850578006084", 91), ("299052A202817", 58), ("299052B202817", 85)])
def test_nir_worked_examples(body, key):
    assert nir_key(body) == key
    assert nir_valid(body, f"{key:02d}")
    assert not nir_valid(body, f"{key - 1:02d}")


def test_nir_keys_are_two_digits_with_leading_zero():
    # a body whose remainder is 96 has key 01: written "01", "1" is not a key
    body = next(f"1850578{n:06d}" for n in range(10**6) if int(f"1850578{n:06d}") % 97 == 96)
    assert nir_key(body) == 1
    assert nir_valid(body, "01") and not nir_valid(body, "1 ")


@pytest.mark.parametrize("body", ["", "185057800608", "18505780060841", "1850578006O84", "299052C202817", "1850578²06084"])
def test_nir_shape(body):
    assert nir_key(body) is None
    assert not nir_valid(body, "00")


def test_nir_key_not_digits():
    assert not nir_valid("1850578006084", "9A")
    assert not nir_valid("1850578006084", "")


@pytest.mark.parametrize("finess,key", [("75000001", 0), ("13001234", 7), ("69000042", 7), ("24000011", 7)])
def test_finess_key(finess, key):
    assert finess_key(finess) == key


def test_finess_alphanumeric_checked_for_shape_only():
    assert finess_valid("2A0000123")  # Corsica: key rule unknown, never reject on it
    assert finess_valid("2B0000124")
    assert not finess_valid("A20000123")
    assert not finess_valid("2a0000123")
    assert not finess_valid("99000001 ")


def test_finess_key_rejects_bad_body():
    with pytest.raises(ValueError):
        finess_key("7500000")

"""The generated B2 record writers (`Layout.keyword_renderer`, used by `b2._writer`) against the
careful field-by-field path: the same text for every value they can write, the same error naming
the field for every value they cannot."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fides.billing import b2
from fides.layouts import LayoutError, family, load

LAYOUTS = family("b2")


def _value(f):
    """Values for one field: mostly writable, some not (too long, negative, too many decimals,
    out of range, a wrong type, a raw text of the exact width)."""
    n, d = f.length, f.decimals or 0
    common = [st.none(), st.just(True), st.just(1.5), st.text("0123456789 AZé", min_size=n, max_size=n)]
    if f.type == "A":
        return st.one_of(st.text("ABC é-'{}\\", max_size=n + 2), *common, st.integers(0, 9))
    if f.type == "N":
        return st.one_of(st.integers(-2, 10 ** n + 1), st.integers(0, 10 ** n - 1), *common, st.just("1"))
    if f.type == "M":
        return st.one_of(st.decimals(-1, 10 ** (n - d), places=d), st.decimals(0, 100, places=d + 1),
                         st.integers(0, 10 ** (n - d)), st.sampled_from([Decimal("NaN"), Decimal("sNaN"), Decimal("-0"),
                                                                         Decimal("1E+2"), Decimal(1)]), *common)
    return st.one_of(st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)), st.just(dt.datetime(2025, 3, 4, 5, 6)),
                     st.just("2025-03-04"), *common)


@st.composite
def record(draw):
    """(kind, names given, their values): a random subset of a random B2 record's fields."""
    kind = draw(st.sampled_from(sorted(LAYOUTS)))
    fields = draw(st.lists(st.sampled_from(LAYOUTS[kind].fields), unique_by=lambda f: f.name))
    return kind, tuple(f.name for f in fields), tuple(draw(_value(f)) for f in fields)


def _outcome(render, *args):
    try:
        return render(*args)
    except LayoutError as e:
        return [(x.code, x.message, x.position) for x in e.findings]


def _careful(lay, none, names, values):
    given = dict(zip(names, values))
    return lay._render_careful({f.name: none.get(f.name) if given.get(f.name) is None else given[f.name]
                                for f in lay.fields})


def _zero_filled(kind: str) -> dict:
    """What b2 writes for a field left out: its record type, numbers zero, the rest blank."""
    return {"type_enregistrement": kind, **{f.name: 0 for f in LAYOUTS[kind].fields if f.type in ("N", "M")}}


@settings(max_examples=400, deadline=None)
@given(record())
def test_compiled_renderer_writes_what_the_careful_path_writes(case):
    kind, names, values = case
    lay, none = LAYOUTS[kind], _zero_filled(kind)  # what b2._writer gives the layout
    want = _outcome(_careful, lay, none, names, values)
    assert _outcome(lambda *v: lay.keyword_renderer(none)(**dict(zip(names, v))), *values) == want
    # the generic render (generated too, for a flat layout) agrees, on a record without defaults
    rec = dict(zip(names, values))
    assert _outcome(lay.render, rec) == _outcome(lay._render_careful, rec)


@pytest.mark.parametrize("kind, field, value, code", [
    ("3", "code_acte", "TOO LONG A CODE", "FMT002"),  # 10+ characters in a short text field
    ("3", "montant_total_depense", Decimal("-1.00"), "FMT010"),  # negative amount
    ("3", "montant_total_depense", Decimal("1.005"), "FMT010"),  # more decimals than the field
    ("3", "quantite", 10 ** 9, "FMT003"),  # out of range
    ("3", "quantite", True, "FMT003"),  # a bool is not a number (though True == 1)
    ("3", "date_debut", "2025-03-04", "FMT002"),  # wrong type
    ("5", "montant_total_facture_ph", 12.5, "FMT010"),  # a float is not an amount
    ("5", "montant_total_facture_ph", Decimal("sNaN"), "FMT010"),
])
def test_a_bad_value_still_names_its_field(kind, field, value, code):
    good = {"num_facture": 1, "montant_total_facture_ph": Decimal("12.50"), "quantite": 1, "code_acte": "GHS",
            "montant_total_depense": Decimal("1.00"), "date_debut": dt.date(2025, 3, 4)}
    values = {k: v for k, v in good.items() if k in LAYOUTS[kind]._known}
    b2._writer(kind)(**values)  # compiles and memoises the good values first
    with pytest.raises(LayoutError) as err:
        b2._writer(kind)(**{**values, field: value})
    (finding,) = err.value.findings
    label = next(f.label for f in LAYOUTS[kind].fields if f.name == field)
    assert finding.code == code and f"{label} ({field})" in finding.message


def test_a_record_left_blank_and_numbers_given_as_none():
    line = b2._writer("5")(finess_geographique="990000028", num_facture=12, total_base_remb_ph=None)
    careful = LAYOUTS["5"]._render_careful({**_zero_filled("5"), "finess_geographique": "990000028",
                                            "num_facture": 12, "total_base_remb_ph": 0})
    assert line == careful and len(line) == b2.RECORD and line.startswith("5 990000028")
    assert line[49:57] == "0" * 8  # a number left out (total_remboursable_amo_ph) is zero, not blank
    # the same fields in another order: the same text
    assert b2._writer("5")(total_base_remb_ph=None, num_facture=12, finess_geographique="990000028") == line


def test_an_unknown_field_is_refused():
    with pytest.raises(TypeError, match="no_such_field"):
        b2._writer("5")(no_such_field=1)
    with pytest.raises(TypeError, match="zones or variants"):  # only flat layouts have one
        load("vidhosp_V015").keyword_renderer({})

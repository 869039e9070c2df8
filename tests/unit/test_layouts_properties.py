"""Property tests over every layout: lines generated field by field from the descriptions (random
zone counts, restreint form, V016 counter widths, trimmed or early-stopping lines) parse, render
back byte for byte, check without blocking finding, and are detected as their own layout."""

import re
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fides.identifiers import finess_key, nir_key
from fides.layouts import detect, load, names
from fides.layouts.values import DATE_PATTERNS, DATES

REFS = {
    "regimes": {"01", "02", "03"}, "mode_traitement": {"03", "04", "23"}, "discipline_prestation_dmt": {"101", "203", "216"},
    "exoneration_tm": set("0123456789C"), "nature_assurance": {"10", "13", "30", "41", "90"},
    "forfait_journalier_codes": {"A", "R", "L"}, "type_contrat": {"85", "87", "88", "89"},
    "sejour_facturable": {"0", "1", "2", "3"}, "motif_non_facturation": set("123456789E"),
}
# printable latin-1 text, accents and € (0x80) included; no 'X' so that no field turns into a placeholder
TEXT = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7fX")
ALT = {"N": int, "M": Decimal, "D": date, "D6": date, "D8": date, "A": str}


def blank(n: int) -> str:
    return " " * n


@st.composite
def nir(draw) -> str:
    """Valid body + key (13 + 2), Corsican bodies included."""
    dept = draw(st.sampled_from(["75", "69", "2A", "2B", "97"]))
    body = draw(st.sampled_from("1278")) + draw(st.from_regex(r"[0-9]{4}", fullmatch=True)) + dept + draw(st.from_regex(r"[0-9]{6}", fullmatch=True))
    return f"{body}{nir_key(body):02d}"


@st.composite
def finess(draw) -> str:
    body = draw(st.from_regex(r"[0-9]{8}", fullmatch=True))
    return body + str(finess_key(body))


def date_text(ftype: str):
    fmt = {"D": "%d%m%Y", "D6": "%y%m%d", "D8": "%Y%m%d"}[ftype]
    return st.dates(date(1900, 1, 1), date(2099, 12, 31)).map(lambda d: d.strftime(fmt))


def field_text(f, width: int, required: bool):
    """Strategy for the raw text of one field that `check` must accept."""
    if f.check == "finess":
        s = finess().map(lambda v: v.ljust(width))
    elif f.values is not None:
        s = st.sampled_from(sorted(f.values)).map(lambda v: v.ljust(width))
    elif f.ref in REFS:
        s = st.sampled_from(sorted(REFS[f.ref])).map(lambda v: v.ljust(width))
    elif f.type in "NM":
        s = st.from_regex(rf"[0-9]{{{width}}}", fullmatch=True)
    elif f.type in ("D", "D6", "D8"):
        s = date_text(f.type)
    else:
        s = st.text(TEXT, min_size=1 if required else 0, max_size=width).filter(lambda v: v.strip() or not required)
        s = s.map(lambda v: v.ljust(width))
    return s if required else s | st.just(blank(width))


@st.composite
def line_of(draw, lay):
    """(line, full line it stands for) for a layout, drawn field by field."""
    keys = {(k.start, k.length) for k in lay.spec.keys}
    restreint = lay.restreint_length is not None and draw(st.booleans())
    fixed = [f for f in lay.fields if f.zone is None and (not restreint or f.end <= lay.restreint_length)]
    counts = {z.counter: draw(st.integers(0, 3)) for z in lay.zones} if not restreint else {}
    # NIR pairs are drawn together so that each key fits its body
    forced: dict[str, str] = {}
    for f in fixed:
        if f.check == "nir":
            optional = f.required != "O"
            value = draw(nir() | st.just(blank(15))) if optional else draw(nir())
            if f.body:
                forced[f.body], forced[f.name] = value[:13], value[13:]
            else:
                forced[f.name] = value
    parts, ends_digits = [], []
    pos = 0
    for f in fixed:
        width = f.length if not f.alt_lengths else draw(st.sampled_from((f.length, *f.alt_lengths)))
        if f.name in counts:
            text = str(counts[f.name]).zfill(width)
        elif f.name in forced:
            text = forced[f.name]
        else:
            required = f.required == "O" or any(s <= f.start < s + n for s, n in keys) or f.blank_if_unknown is not None
            text = draw(field_text(f, width, required))
        assert len(text) == width, f.name
        parts.append(text)
        pos += width
        if f.type in "NM":
            ends_digits.append(pos)
    for z in lay.zones if not restreint else ():
        for _ in range(counts[z.counter]):
            for f in z.fields:
                parts.append(draw(field_text(f, f.length, f.required == "O")))
                pos += f.length
                if f.type in "NM":
                    ends_digits.append(pos)
    full = "".join(parts)
    line = full
    if lay.short == "absent":  # stop after any field once the required ones are there
        ends, acc = [0], 0
        for p in parts:
            acc += len(p)
            ends.append(acc)
        least = max((f.end for f in fixed if f.required == "O" or (f.start, f.length) in keys), default=0)
        line = full[: draw(st.sampled_from([e for e in ends if e >= least]))]
    elif draw(st.booleans()) and len(full.rstrip(" ")) >= max(ends_digits, default=0):
        line = full.rstrip(" ")  # an editor trimmed the trailing blanks
    return line, full


@pytest.mark.parametrize("name", names())
def test_generated_lines_round_trip_and_check_clean(name):
    lay = load(name)

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(line_of(lay))
    def prop(drawn):
        line, full = drawn
        rec = lay.parse(line)
        assert lay.render(rec) == (line if lay.short == "absent" else full)
        blocking = [f for f in lay.check(line, REFS) if f.blocking]
        assert blocking == []
        warnings = {f.code for f in lay.check(line, REFS)}
        assert warnings <= {"FMT102", "FMT103"}
        assert ("FMT102" in warnings) == (line != full and lay.short == "pad")
        for f in lay.fields:
            if f.zone is None and f.name in rec and rec[f.name] is not None:
                assert isinstance(rec[f.name], ALT[f.type]), f.name
        for z in lay.zones:
            for block in rec.get(z.name, ()):
                assert all(v is None or isinstance(v, ALT[f.type]) for f in z.fields for v in [block[f.name]])
        if lay.spec.priority == 0:
            assert detect(lay.flux, line) is lay

    prop()


# --- the fast path never hides a finding --------------------------------------------------------
def _examples() -> list[tuple[str, str]]:
    from pathlib import Path

    ex = Path(__file__).resolve().parents[1] / "data" / "examples"
    flux = {"vidhosp": "VIDHOSP", "rss": "RSS", "fichcomp": "FICHCOMP", "ium": "IUM", "hosp": "HOSP_PMSI"}
    out = [(flux[p.name.split("_")[0]], x) for p in sorted(ex.glob("*.txt"))
           for x in p.read_bytes().decode("latin-1").split("\r\n")[:-1]]
    out += [("B2", x) for x in (ex / "b2_noemie" / "B2_990000028_20250310101500_0000.b2").read_bytes().decode("latin-1").split("\r\n")[:-1]]
    out += [("NOEMIE", e.strip("\r\n")) for e in (ex / "b2_noemie" / "NOEMIE_930_sample.txt").read_bytes().decode("latin-1").split("@") if e.strip()]
    out += [("MANAGEREJECT", "250000101           000012345202500A20250322"), ("EXTRACTEPMSI", "202503")]
    return out


EXAMPLES = _examples()


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(EXAMPLES), st.integers(0, 10**6), st.sampled_from(list("09 XA\x1aé²-\xa0\x85\t") + ["  ", "99", "XX"]))
def test_fast_path_agrees_with_the_field_by_field_diagnosis(example, where, text):
    """A mutated example line: `check` (fast path first) must report exactly what the slow,
    field-by-field diagnosis finds on the same shape (NBSP and C1 controls: printable for the
    files, not for `str.isprintable`, which the fast path uses)."""
    flux, line = example
    lay = detect(flux, line)
    pos = where % len(line)
    mutated = line[:pos] + text + line[pos + len(text):]
    mutated = mutated[: len(line)]
    try:
        shape, full, _ = lay._resolve(mutated, 0)
    except Exception:
        return  # cannot be cut: only length findings, no fast path involved
    slow = shape.diagnose(full, REFS, 0, lay._sensitive, every_field=True)
    assert shape.diagnose(full, REFS, 0, lay._sensitive) == slow  # the regex-trusting shortcut
    assert [f for f in lay.check(mutated, REFS) if f.code not in ("FMT102", "FMT103")] == slow
    if mutated.isprintable():  # what engine.process.read_blocks says of it, for its whole block
        assert lay.check(mutated, REFS, 0, True) == lay.check(mutated, REFS)


@pytest.mark.parametrize("fmt", ["D", "D8", "D6"])
def test_the_date_regex_accepts_exactly_the_real_dates(fmt):
    """The fast path's date regex (values.DATE_PATTERNS) says what the date parser says, for every
    day 00-39 of every month 00-19 in years around each leap-year rule (and year 0)."""
    match = re.compile(DATE_PATTERNS[fmt]).fullmatch
    years = ([f"{y:02d}" for y in range(100)] if fmt == "D6" else
             ["0000", "0001", "0004", "0096", "0100", "0400", "1600", "1900", "1996", "2000", "2023", "2024",
              "2100", "9996", "9999"])
    raws = [f"{d:02d}{m:02d}{y}" if fmt == "D" else f"{y}{m:02d}{d:02d}"
            for d in range(40) for m in range(20) for y in years]
    real = {raw for raw in raws if isinstance(DATES[fmt][raw], date)}
    assert {raw for raw in raws if match(raw)} == real
    leap, common = {"D": ("29022024", "29022023"), "D8": ("20240229", "20230229"), "D6": ("240229", "230229")}[fmt]
    assert len(real) > 300 * len(years) and leap in real and common not in real

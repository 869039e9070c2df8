"""Fuzzing every parser fides runs on input it does not control (docs/robustness.md).

Generated inputs, mostly mutations of real lines (tests/data/examples, sample_flows: characters
replaced, inserted, deleted, lines cut or extended, crossed with lines of other layouts or fluxes,
control characters and every latin-1 byte but NUL and LF), are fed to:

* `fides.layouts.detect / check / parse / render` for every flux (VIDHOSP, RSS, FICHCOMP, IUM,
  HOSP_PMSI, NOEMIE entities, B2 records, the control flows);
* the NOEMIE reader (`fides.returns.noemie_parse.Reader`, any chunk size; `noemie.sniff`);
* the control-flow readers (STATEREQUEST, MANAGEREJECT, CANCELPAIDREQUEST, NOEMIEARLNEGATIF,
  B2REQUEST, EXTRACTEPMSI) and the B2 reader;
* the file-name rules (`fides.flows.naming`, `arl.arl_name`, the engine's `db_name`);
* the `.arl` renderer.

Each input must end in a clean result or a clean, coded error: `LayoutError` carrying `Finding`s,
`Finding`s with a declared code, `B2FormatError`, `None` — never another exception.

The default run does about DEFAULT_EXAMPLES inputs in all (under a minute);
`tools/fuzz.py --examples 100000` runs more (FIDES_FUZZ_EXAMPLES sets the total).
"""

from __future__ import annotations

import collections
import datetime as dt
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fides import arl
from fides.billing import b2
from fides.engine.process import db_name
from fides.errors import CODES, Finding
from fides.flows import b2request, known_names
from fides.flows.base import FileJob, FindingSink
from fides.flows.naming import is_dangerous, is_temporary, parse as parse_name
from fides.layouts import LayoutError, detect, family
from fides.layouts.registry import _index
from fides.referentials import load_shipped
from fides.returns import control, extract_epmsi, noemie, noemie_parse, state_request
from fides.store.referentials import CodeSets

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "tests" / "data" / "examples"
SAMPLES = REPO / "sample_flows"
DEFAULT_EXAMPLES = 20_000
TOTAL = int(os.environ.get("FIDES_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))
# share of the total per target
SHARES = {"lines": 0.45, "noemie": 0.15, "control": 0.08, "b2": 0.05, "names": 0.17, "arl": 0.10}
RUNS: collections.Counter = collections.Counter()  # inputs actually run, per target (tools/fuzz.py)

REFS = load_shipped()
CODESETS = CodeSets(REFS, REFS.tables())
FLUXES = sorted({s.flux for s in _index().values()})


def _lines(path: Path) -> list[str]:
    return [l for l in path.read_bytes().decode("latin-1").splitlines() if l.strip()]


def _seeds() -> dict[str, list[str]]:
    """Real lines per flux."""
    by_prefix = {"vidhosp": "VIDHOSP", "rss": "RSS", "fichcomp": "FICHCOMP", "ium": "IUM", "hosp": "HOSP_PMSI"}
    seeds: dict[str, list[str]] = collections.defaultdict(list)
    for path in EXAMPLES.glob("*.txt"):
        seeds[by_prefix[path.stem.split("_")[0]]] += _lines(path)
    for path in sorted(SAMPLES.glob("*_*.txt")):
        flux = path.name.split("_")[0]
        if flux == "NOEMIE":
            seeds["NOEMIE"] += [e for l in _lines(path) for e in l.split("@") if e.strip()]
        else:
            seeds[flux] += _lines(path)
    for path in (EXAMPLES / "b2_noemie").glob("*.txt"):
        flux = path.name.split("_")[0]
        if flux == "NOEMIE":
            seeds["NOEMIE"] += [e for l in _lines(path) for e in l.split("@") if e.strip()]
        elif flux != "FACT":
            seeds[flux] += _lines(path)
    b2_text = (EXAMPLES / "b2_noemie" / "B2_990000028_20250310101500_0000.b2").read_bytes().decode("latin-1")
    seeds["B2"] = [r for r in b2_text.replace("\r\n", "\n").split("\n") if r]
    return {k: v for k, v in seeds.items() if v}


SEEDS = _seeds()
ALL_LINES = sorted({l for lines in SEEDS.values() for l in lines})
# every latin-1 character a line can hold (NUL refuses the file before any parser, LF ends lines)
CHAR = st.characters(min_codepoint=1, max_codepoint=255, exclude_characters="\n")
PIECE = st.text(CHAR, max_size=12) | st.sampled_from([" " * 8, "0" * 8, "X" * 13, "9" * 20, "\r", "\t", "@", ";"])


@st.composite
def mutated(draw, pool: list[str]) -> str:
    line = draw(st.sampled_from(pool))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(("replace", "insert", "delete", "cut", "extend", "cross", "key")))
        at = draw(st.integers(0, max(0, len(line))))
        if op == "replace":
            piece = draw(PIECE)
            line = line[:at] + piece + line[at + len(piece):]
        elif op == "insert":
            line = line[:at] + draw(PIECE) + line[at:]
        elif op == "delete":
            line = line[:at] + line[at + draw(st.integers(1, 40)):]
        elif op == "cut":
            line = line[:at]
        elif op == "extend":
            line = line + draw(PIECE) * draw(st.integers(1, 30))
        elif op == "cross":  # the start of one line, the end of another (of any flux)
            other = draw(st.sampled_from(ALL_LINES))
            line = line[:at] + other[at:]
        else:  # a version / type / record key of another layout at the same place
            other = draw(st.sampled_from(pool))
            width = draw(st.integers(1, 4))
            line = line[:at] + other[at:at + width] + line[at + width:]
    return line


def _budget(target: str) -> settings:
    return settings(max_examples=max(10, int(TOTAL * SHARES[target])), deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def _clean(findings) -> None:
    for f in findings:
        assert isinstance(f, Finding) and f.code in CODES, f
        assert isinstance(f.line_no, int) and isinstance(f.position, int)
        f.text()


# --- line layouts -------------------------------------------------------------------------------

@st.composite
def flux_and_line(draw) -> tuple[str, str]:
    flux = draw(st.sampled_from(FLUXES))
    pool = SEEDS.get(flux, ALL_LINES) if draw(st.integers(0, 9)) else ALL_LINES
    if draw(st.integers(0, 19)) == 0:
        return flux, draw(st.text(CHAR, max_size=600))
    return flux, draw(mutated(pool))


def check_line(flux: str, line: str) -> None:
    RUNS["lines"] += 1
    try:
        layout = detect(flux, line, line_no=7)
    except LayoutError as exc:
        assert exc.findings, f"LayoutError without any finding for {flux}: {line!r}"
        _clean(exc.findings)
        return
    for refs in (CODESETS, None):
        findings = layout.check(line, refs, 7)
        _clean(findings)
    if not any(f.blocking for f in findings):
        record = layout.parse(line)
        rendered = layout.render(record)
        assert isinstance(rendered, str)
        if not any(f.code == "FMT102" for f in findings) and len(line) == layout.length:
            assert rendered == line, (layout.name, line, rendered)


@_budget("lines")
@given(flux_and_line())
def test_layouts_detect_check_parse(case):
    check_line(*case)


# --- NOEMIE ---------------------------------------------------------------------------------------

NOEMIE_FILES = [_lines(p) for p in list((EXAMPLES / "b2_noemie").glob("NOEMIE_*.txt")) + list(SAMPLES.glob("NOEMIE_*"))]


@st.composite
def noemie_file(draw) -> list[str]:
    lines = list(draw(st.sampled_from(NOEMIE_FILES)))
    for _ in range(draw(st.integers(0, 5))):
        op = draw(st.sampled_from(("mutate", "drop", "dup", "swap", "join", "split")))
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        if not lines:
            lines = [draw(mutated(SEEDS["NOEMIE"]))]
        elif op == "mutate":
            lines[i] = draw(mutated(SEEDS["NOEMIE"] + [lines[i]]))
        elif op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "join":  # several entities on one line
            lines[i:i + 3] = ["".join(lines[i:i + 3])]
        else:  # wrapped at a fixed width
            w = draw(st.integers(5, 80))
            lines[i:i + 1] = [lines[i][k:k + w] for k in range(0, len(lines[i]), w)] or [""]
    return lines


def _read_noemie(numbered: list[tuple[int, str]], size: int) -> tuple[list[list], list]:
    """The reader's chunks, and its findings taken at each chunk as the NOEMIE flow takes them."""
    reader = noemie_parse.Reader(family("noemie"))
    chunks, findings = [], []
    for chunk in reader.items(numbered, size):
        chunks.append(chunk)
        findings += sorted(reader.take_findings(), key=lambda f: f.line_no)
    findings += sorted(reader.take_findings(), key=lambda f: f.line_no)
    assert reader.reference is None or isinstance(reader.reference, int)
    return chunks, findings


@_budget("noemie")
@given(noemie_file(), st.integers(1, 3))
def test_noemie_reader(lines, size):
    """Total whatever the chunk size, and chunked the same as read in one chunk."""
    RUNS["noemie"] += 1
    numbered = list(enumerate(lines, 1))
    chunks, findings = _read_noemie(numbered, size)
    _clean(findings)
    assert all(0 < len(c) <= size for c in chunks)
    (whole, whole_findings) = _read_noemie(numbered, len(lines) + 1)
    assert [i for c in chunks for i in c] == [i for c in whole for i in c]
    assert findings == whole_findings
    head = "\r\n".join(lines).encode("latin-1")[:128]
    assert noemie.sniff(head) in (True, False)


# --- control flows and the B2 reader --------------------------------------------------------------

CONTROL = ["STATEREQUEST", "MANAGEREJECT", "CANCELPAIDREQUEST", "NOEMIEARLNEGATIF", "B2REQUEST", "EXTRACTEPMSI"]


def _job(flux: str, lines: list[str]) -> FileJob:
    return FileJob(None, None, None, f"{flux}_990000010_20250325101500_0001.txt", flux, "990000010", 1,
                   dt.datetime(2025, 3, 25, tzinfo=dt.timezone.utc), lambda: iter([(1, lines, False)]),
                   FindingSink(1000), "fuzz", {"codes": CODESETS})


@st.composite
def control_file(draw) -> tuple[str, list[str]]:
    flux = draw(st.sampled_from(CONTROL))
    pool = SEEDS.get(flux, []) + (["*", "", "202503", "2025000201"] if flux in ("STATEREQUEST", "B2REQUEST", "EXTRACTEPMSI") else [])
    lines = draw(st.lists(mutated(pool or ALL_LINES), max_size=4))
    return flux, lines


@_budget("control")
@given(control_file())
def test_control_flow_readers(case):
    RUNS["control"] += 1
    flux, lines = case
    job = _job(flux, lines)
    if flux == "STATEREQUEST":
        ndas, read, refused = state_request.requested(job)
        assert ndas is None or all(isinstance(n, str) for n in ndas)
        assert 0 <= refused <= read
    elif flux == "B2REQUEST":
        ndas = b2request.requested(lines)
        # (a line blank on 1-20 but not after gives the N° '': reported as DOS003 by billing)
        assert ndas is None or all(isinstance(n, str) for n in ndas)
    elif flux == "EXTRACTEPMSI":
        for line in lines:
            month = extract_epmsi.parse_month(line)
            assert month is None or (1 <= month[1] <= 12 and isinstance(month[0], int))
    else:
        good, read = control._read(job)
        assert len(good) <= read
    _clean(f for f in job.findings.kept)


@st.composite
def b2_bytes(draw) -> bytes:
    records = list(SEEDS["B2"])
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(records) - 1))
        op = draw(st.sampled_from(("mutate", "drop", "dup", "cut")))
        if op == "mutate":
            records[i] = draw(mutated(SEEDS["B2"]))
        elif op == "drop" and len(records) > 1:
            del records[i]
        elif op == "dup":
            records.insert(i, records[i])
        else:
            records = records[:i + 1]
    sep = draw(st.sampled_from(("\r\n", "\n", "")))
    return sep.join(records).encode("latin-1", "replace")


@_budget("b2")
@given(b2_bytes())
def test_b2_reader(data):
    RUNS["b2"] += 1
    try:
        read = b2.read(data)
    except b2.B2FormatError:
        return
    assert read.trailer is not None and read.record_count >= 2


def test_b2_reader_record_before_its_parent():
    """Found by this fuzz: a record before its lot (1) or invoice (2) record is a format error."""
    header, lot, invoice, *_, trailer = SEEDS["B2"]
    for records in ([header, invoice, trailer], [header, lot, SEEDS["B2"][3], trailer]):
        with pytest.raises(b2.B2FormatError):
            b2.read("\r\n".join(records).encode("latin-1"))


# --- names and acknowledgements --------------------------------------------------------------------

KNOWN = known_names()
NAME_CHARS = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_characters="\0/") | st.sampled_from(
    ["\udcff", "\udce9", "\n", "\r", "\x85", "\u2028", ".", "_", "~"])


@st.composite
def input_name(draw) -> str:
    flux = draw(st.sampled_from(sorted(KNOWN) + ["FOO", "vidhosp", ""]))
    finess = draw(st.sampled_from(["990000010", "2A0000010", "99000001", "abcdefghi"]))
    stamp = draw(st.sampled_from(["20250325101500", "20251399999999", "2025032510150"]))
    tail = draw(st.text(NAME_CHARS, max_size=12))
    name = draw(st.sampled_from([f"{flux}_{finess}_{stamp}_0001.txt", f"{flux}_{finess}_{stamp}_0001",
                                 f"{flux}.txt", f"{flux}"]))
    if draw(st.booleans()):
        name = draw(mutated([name])) if draw(st.booleans()) else name
    return name + tail if draw(st.booleans()) else name


@_budget("names")
@given(input_name() | st.text(NAME_CHARS, min_size=1, max_size=40))
def test_file_name_rules(name):
    RUNS["names"] += 1
    parsed = parse_name(name, KNOWN)
    assert parsed is None or parsed.flux in KNOWN
    if parsed is not None and parsed.finess is not None:
        assert len(parsed.finess) == 9
    is_temporary(name)
    stored = db_name(name)
    stored.encode("utf-8")  # always storable in PostgreSQL text
    assert db_name(stored) == stored
    acknowledgement = arl.arl_name(name)
    assert acknowledgement.endswith(".arl") and "/" not in acknowledgement and "\\" not in acknowledgement
    assert all(c.isprintable() for c in acknowledgement)
    if not is_dangerous(name):
        assert stored == name and acknowledgement == name + ".arl"  # ordinary names are kept as they are


FINDING = st.builds(Finding, st.sampled_from(sorted(CODES)), st.text(NAME_CHARS, max_size=60),
                    st.integers(0, 10**7), st.integers(0, 10**4))


@_budget("arl")
@given(st.sampled_from(sorted(KNOWN) + ["INCONNU"]), st.text(NAME_CHARS, max_size=60), st.sampled_from(arl.STATUSES),
       st.integers(0, 10**7), st.integers(0, 10**7), st.integers(0, 10**7), st.lists(FINDING, max_size=8),
       st.integers(1, 5), st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2099, 12, 31)))
def test_arl_renderer(flux, name, status, read, integrated, refused, findings, max_errors, at):
    RUNS["arl"] += 1
    ack = arl.Acknowledgement(flux, name, status, read, integrated, refused, at)
    text = arl.render(ack, findings, len(findings), max_errors)
    lines = text.split("\n")
    assert lines[-1] == "" and text.endswith("\n")
    records = [l.split(";") for l in lines[:-1]]
    assert records[0][0] == "ARL" and len(records[0]) == 8, records[0]
    assert records[0][3] == status and records[0][4:7] == [str(read), str(integrated), str(refused)]
    errs = records[1:]
    assert all(r[0] == "ERR" and len(r) == 6 for r in errs), errs
    assert len(errs) == min(len(findings), max_errors) + (1 if len(findings) > max_errors else 0)
    text.encode("utf-8", "replace")
    text.encode("cp1252", "replace")

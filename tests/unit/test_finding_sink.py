"""FindingSink: every finding kept in order, whether held in memory or spilled to a temporary file."""

from fides.errors import Finding
from fides.flows.base import FindingSink


def _findings(n: int) -> list[Finding]:
    return [Finding("FMT004" if i % 3 else "FMT101", f"ligne {i}", i, i % 7) for i in range(1, n + 1)]


def _fill(sink: FindingSink, findings) -> FindingSink:
    for f in findings:
        sink.add(f)
    return sink


def test_spilled_rows_come_back_in_order_and_whole():
    findings = _findings(2_345)
    held = _fill(FindingSink(5, spill_after=10**9), findings)
    spilled = _fill(FindingSink(5, spill_after=100), findings)
    expected = [(f.line_no, f.position, f.code, f.severity, f.text()) for f in findings]
    assert list(held.rows()) == expected
    assert list(spilled.rows()) == expected
    assert list(spilled.rows()) == expected  # readable again: the engine may retry its COPY
    assert spilled.total == 2_345 and spilled.blocking == sum(f.blocking for f in findings)
    assert spilled.kept == findings[:5]


def test_no_finding_no_row():
    sink = FindingSink(10, spill_after=1)
    assert list(sink.rows()) == [] and sink.total == 0

"""The documentation names every error code, setting, transition, registered flow and layout
(with the key values that select it) the code has."""

from pathlib import Path

from fides.config import SETTINGS
from fides.dossiers import TRANSITIONS
from fides.errors import CODES

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_error_code_is_documented():
    text = (DOCS / "errors.md").read_text(encoding="utf-8")
    missing = [c for c in CODES if f"`{c}`" not in text]
    assert missing == [], "run tools/make_error_docs.py"


def test_every_setting_is_documented():
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert [s.path for s in SETTINGS if f"`{s.path}`" not in text] == []


def test_every_transition_is_documented():
    text = (DOCS / "states.md").read_text(encoding="utf-8")
    assert [t for t in TRANSITIONS if f"`{t}`" not in text] == []


def _flows_page() -> str:
    return (DOCS / "flows.md").read_text(encoding="utf-8")


def test_every_registered_flow_has_its_section_in_flows_md():
    import fides.flows

    headings = {line[4:].split(" ", 1)[0] for line in _flows_page().splitlines() if line.startswith("### ")}
    assert sorted(set(fides.flows.REGISTRY) - headings) == []


def test_every_layout_and_its_selecting_key_is_in_flows_md():
    """Each layout of interfaces/ (loaded by fides.layouts) is named in a table row of flows.md that
    also gives the key values that select it (version, type de prestation, record type…), and
    each layout folder is named."""
    from fides.layouts import load, names

    text = _flows_page()
    rows = [line.strip() for line in text.splitlines() if line.lstrip().startswith("|")]
    missing = []
    for name in names():
        spec = load(name).spec
        row = next((r for r in rows if f"| `{name}` |" in r), None)
        if row is None:
            missing.append(name)
            continue
        # the key values must be words of the row's other cells, not mere substrings ("2" in "128")
        words = {w for cell in row.split("|")[2:] for w in cell.split()}
        missing += [f"{name}: key {v}" for k in spec.keys for v in sorted(k.values) if v not in words]
        folder = Path(spec.path).parent.name
        if f"interfaces/{folder}/" not in text:
            missing.append(f"interfaces/{folder}/")
    assert sorted(set(missing)) == []

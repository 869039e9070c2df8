"""The documentation names every error code and every setting the code has."""

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

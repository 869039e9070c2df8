"""Dossiers, titres, lots are never deleted: titres, invoices and anomalies refer to them
without a foreign key (migration 0008), so no statement of fides may delete them."""

import re
from pathlib import Path

import fides

_DELETES = re.compile(r"\b(DELETE\s+FROM|TRUNCATE(\s+TABLE)?)\s+(ONLY\s+)?(dossier|titre|lot)\b", re.IGNORECASE)


def test_no_statement_deletes_a_dossier_a_titre_or_a_lot():
    root = Path(fides.__file__).parent
    sources = list(root.rglob("*.py"))
    assert len(sources) > 50
    found = [(p.relative_to(root), m.group(0)) for p in sources for m in _DELETES.finditer(p.read_text("utf-8"))]
    assert found == []


def test_the_pattern_sees_a_delete():
    assert _DELETES.search('conn.execute("DELETE FROM titre WHERE id = %s")')
    assert _DELETES.search("truncate table ONLY lot")
    assert not _DELETES.search("DELETE FROM lot_counter")

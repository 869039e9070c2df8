"""The `site` fixture: a fresh buffer directory and database per test."""

from __future__ import annotations

import pytest
from buffer import FINESS, Site


@pytest.fixture
def site(tmp_path, db_url) -> Site:
    root = tmp_path / "root"
    root.mkdir()
    (root / "fides.toml").write_text(
        f'[establishment]\nfiness = "{FINESS}"\n\n[inbox]\nstable_seconds = 0\n', encoding="utf-8")
    for d in ("in", "out/arl"):
        (root / d).mkdir(parents=True, exist_ok=True)
    return Site(root, db_url)

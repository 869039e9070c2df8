"""Fixtures of the crash-safety tests: a Site (tests/fault/faultkit.py) on a fresh database."""

from __future__ import annotations

import random

import pytest
from faultkit import Site


@pytest.fixture
def fault_site(tmp_path, db_url) -> Site:
    site = Site(tmp_path / "root", db_url, random.Random(0), log_dir=tmp_path)
    site.setup()
    return site

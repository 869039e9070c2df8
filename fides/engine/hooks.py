"""Work run after each pass over the inbox, in order (validation of touched dossiers, ...)."""

from __future__ import annotations

from typing import Callable

AFTER_PASS: list[Callable] = []

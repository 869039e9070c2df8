"""Work run after each pass over the inbox, in order."""

from __future__ import annotations

from typing import Callable

from fides.engine import validation

AFTER_PASS: list[Callable] = [validation.after_pass]

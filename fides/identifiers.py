"""NIR and FINESS check keys: pure functions, no I/O.

Rules (shared spec `referentials/identifiers.md`, norme B2 annexe 5):

* NIR: 13-character body + 2-digit key, key = 97 − (body mod 97). For Corsica the département
  characters 2A / 2B are replaced by 19 / 18 before the computation (not by 0, as some snippets do).
  Only the key and the shape ``[0-9]{5}([0-9]{2}|2A|2B)[0-9]{6}`` are checked: the sex and month
  digits are not, because temporary numbers use other values.
* FINESS: 9 characters ``[0-9][0-9A-Z][0-9]{7}``. An all-digit number passes the Luhn (mod 10) test
  (verified empirically on published numbers, not found in an official text). The rule for the
  alphanumeric numbers (2A…, 2B…) is unknown, so only their shape is checked.
"""

from __future__ import annotations

import re

__all__ = ["nir_key", "nir_valid", "nir_full_valid", "finess_key", "finess_valid"]

_NIR_BODY = re.compile(r"[0-9]{5}(?:[0-9]{2}|2A|2B)[0-9]{6}\Z")
_FINESS = re.compile(r"[0-9][0-9A-Z][0-9]{7}\Z")


def nir_key(body: str) -> int | None:
    """The key (1..97) of a 13-character NIR body, or None when the body has not the NIR shape."""
    if not _NIR_BODY.match(body):
        return None
    digits = body[:5] + {"2A": "19", "2B": "18"}.get(body[5:7], body[5:7]) + body[7:]
    return 97 - int(digits) % 97


def nir_valid(body: str, key: str) -> bool:
    """True when `key` (2 digits) is the key of `body` (13 characters)."""
    if len(key) != 2 or not (key.isascii() and key.isdigit()):
        return False
    expected = nir_key(body)
    return expected is not None and expected == int(key)


def nir_full_valid(value: str) -> bool:
    """True for a 15-character body + key (the NOEMIE and INS form)."""
    return len(value) == 15 and nir_valid(value[:13], value[13:])


def finess_key(body: str) -> int:
    """Luhn check digit of the 8 digits that precede it."""
    if len(body) != 8 or not (body.isascii() and body.isdigit()):
        raise ValueError("a FINESS body is 8 digits")
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # rightmost body digit is doubled: it sits left of the key
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return (10 - total % 10) % 10


def finess_valid(value: str) -> bool:
    """True for a well-formed FINESS: Luhn key when all digits, shape only when alphanumeric."""
    if not _FINESS.match(value):
        return False
    if not value.isdigit():
        return True  # 2A…/2B…: key rule unknown, never reject on it
    return finess_key(value[:8]) == int(value[8])

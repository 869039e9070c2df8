"""What the dashboard and the API may show of a patient's identity: a NIR is never shown whole.

`mask_nir` hides a NIR (13 characters, or 15 with its key) but for its last 4 characters.
`scrub` does the same to any NIR-like run of characters inside a free text (error messages,
`.arl` text, audit details), as a second line of defence: fides' own messages do not quote NIRs.
"""

from __future__ import annotations

import re

MASK = "•"

# A NIR: sex/kind digit (1, 2, 7 or 8), year, month, département (2 digits, 2A or 2B), commune and
# order (13 characters), with or without its 2-digit key; and any run of 16 digits or more (which
# may hold one). Not inside a longer word, number or file name (`_` counts as a word character), so
# that timestamps (14 digits), titres, FINESS and UCD codes stay readable.
_EDGE_BEFORE, _EDGE_AFTER = r"(?<![0-9A-Za-z_])", r"(?![0-9A-Za-z_])"
_NIR = re.compile(_EDGE_BEFORE + r"[1278][0-9]{4}(?:[0-9]{2}|2[ABab])[0-9]{6}(?:[ ]?[0-9]{2})?" + _EDGE_AFTER)
_DIGITS = re.compile(_EDGE_BEFORE + r"[0-9]{16,}" + _EDGE_AFTER)


def mask_nir(value: str | None) -> str:
    """'•••••••••••3645' for a NIR; '' when absent; 'anonyme (X)' for the X placeholder."""
    if value is None:
        return ""
    value = value.strip()
    if not value:
        return ""
    if set(value) <= {"X", " "}:
        return "anonyme (X)"
    if len(value) <= 4:
        return MASK * len(value)
    return MASK * (len(value) - 4) + value[-4:]


def _hide(match: re.Match) -> str:
    return mask_nir(match.group(0).replace(" ", ""))


def scrub(text: str | None) -> str:
    """`text` with every NIR-like sequence masked but for its last 4 characters."""
    if not text:
        return text or ""
    return _DIGITS.sub(_hide, _NIR.sub(_hide, text))

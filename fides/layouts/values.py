"""Field values: raw text ↔ Python, with caches for the hot path.

Parsing is lenient: a value that does not convert (a non-digit in a numeric field, a false date,
an 'X' placeholder) comes back as its raw text, so that every line that can be cut renders back
byte for byte; `check` is what reports such values. All-space N, M and date fields are None.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

_LIMIT = 1 << 16  # entries per cache; a full cache is emptied (values are cheap to recompute)
_PIVOT = (date.today().year + 20) % 100  # AAMMJJ: 2-digit years up to today+20 are 20xx, the rest 19xx


class Cache(dict):
    """raw text -> value; computed once, then a plain dict lookup (C speed) on every hit."""

    __slots__ = ("convert",)

    def __init__(self, convert):
        super().__init__()
        self.convert = convert

    def __missing__(self, raw: str):
        value = self.convert(raw)
        if len(self) >= _LIMIT:
            self.clear()
        self[raw] = value
        return value


def is_digits(raw: str) -> bool:
    # isdigit() alone accepts '²' (latin-1 0xB2); isascii() is O(1) on str
    return raw.isascii() and raw.isdigit()


def _blank_or_raw(raw: str):
    return None if raw.strip(" ") == "" else raw


def _to_int(raw: str):
    return int(raw) if is_digits(raw) else _blank_or_raw(raw)


def _date_maker(fmt: str):
    def to_date(raw: str):
        if not is_digits(raw):
            return _blank_or_raw(raw)
        if fmt == "D":
            d, m, y = int(raw[0:2]), int(raw[2:4]), int(raw[4:8])
        elif fmt == "D8":
            y, m, d = int(raw[0:4]), int(raw[4:6]), int(raw[6:8])
        else:  # D6
            y, m, d = int(raw[0:2]), int(raw[2:4]), int(raw[4:6])
            y += 2000 if y <= _PIVOT else 1900
        try:
            return date(y, m, d)
        except ValueError:
            return raw

    return to_date


def _amount_maker(decimals: int):
    def to_amount(raw: str):
        return Decimal(raw).scaleb(-decimals) if is_digits(raw) else _blank_or_raw(raw)

    return to_amount


INT = Cache(_to_int)
DATES = {fmt: Cache(_date_maker(fmt)) for fmt in ("D", "D6", "D8")}
_AMOUNTS: dict[int, Cache] = {}

# FINESS numbers known to be valid, for the fast path (set.issuperset runs in C). It only grows
# with values that were fully validated, so its size is bounded by real data.
VALID_FINESS: set[str] = set()


def _date_pattern(fmt: str) -> str:
    """A regex matching exactly the digit strings of `fmt` that are real dates (those DATES[fmt]
    turns into a date): the calendar in the pattern, leap years included (year 0 is none)."""
    year, leap = ("(?!0000)[0-9]{4}", "(?!0000)(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])"
                                      "|(?:[02468][048]|[13579][26])00)")
    if fmt == "D6":  # 2-digit years are 19xx or 20xx (_PIVOT), and 2000 is a leap year
        year, leap = "[0-9]{2}", "(?:0[048]|[2468][048]|[13579][26])"
    days = (("(?:0[1-9]|1[0-9]|2[0-8])", "(?:0[1-9]|1[0-2])"),  # (day, month) pairs of every year
            ("(?:29|30)", "(?:0[13-9]|1[0-2])"), ("31", "(?:0[13578]|1[02])"))
    if fmt == "D":  # JJMMAAAA
        return f"(?:(?:{'|'.join(d + m for d, m in days)}){year}|2902{leap})"
    return f"(?:{year}(?:{'|'.join(m + d for d, m in days)})|{leap}0229)"  # AAAAMMJJ, AAMMJJ


# Dates are checked by the fast path's regex (a set of the dates seen cost 1 µs a VIDHOSP line)
DATE_PATTERNS = {fmt: _date_pattern(fmt) for fmt in DATES}


def amounts(decimals: int) -> Cache:
    if decimals not in _AMOUNTS:
        _AMOUNTS[decimals] = Cache(_amount_maker(decimals))
    return _AMOUNTS[decimals]


def converter(ftype: str, decimals: int = 0) -> Cache | None:
    """The cache that parses a field of this type (None for A: right-stripped text)."""
    if ftype == "N":
        return INT
    if ftype == "M":
        return amounts(decimals)
    if ftype in DATES:
        return DATES[ftype]
    return None


def is_valid_date(ftype: str, raw: str) -> bool:
    return isinstance(DATES[ftype][raw], date)


# --- writing ------------------------------------------------------------------------------


class EncodeError(ValueError):
    def __init__(self, code: str, why: str):
        super().__init__(why)
        self.code = code


def encode(ftype: str, length: int, decimals: int, value) -> str:
    """Text of `value` for a field; raw text of the exact width is written as is."""
    if value is None:
        return " " * length
    if isinstance(value, str):
        if ftype == "A" and len(value) <= length:
            return value.ljust(length)
        if len(value) == length:
            return value  # raw text kept by a lenient parse (placeholder, invalid value)
        raise EncodeError("FMT002", f"texte de {len(value)} caractères pour une zone de {length}")
    if ftype == "N":
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**length:
            return str(value).zfill(length)
        raise EncodeError("FMT003", f"nombre entier positif de {length} chiffres au plus attendu")
    if ftype == "M":
        if isinstance(value, int) and not isinstance(value, bool):
            value = Decimal(value)  # whole euros (0 in a blank record)
        if isinstance(value, Decimal) and value.is_finite() and value >= 0:
            try:
                scaled = value.scaleb(decimals)
                n = int(scaled)
            except (InvalidOperation, OverflowError):  # pragma: no cover - defensive
                n, scaled = -1, None
            if scaled == n and n < 10**length:
                return str(n).zfill(length)
        raise EncodeError("FMT010", f"montant Decimal positif à {decimals} décimales au plus attendu")
    if ftype in DATES:
        if isinstance(value, date):
            if ftype == "D":
                return f"{value.day:02d}{value.month:02d}{value.year:04d}"
            if ftype == "D8":
                return f"{value.year:04d}{value.month:02d}{value.day:02d}"
            return f"{value.year % 100:02d}{value.month:02d}{value.day:02d}"
        raise EncodeError("FMT004", "date attendue")
    raise EncodeError("FMT002", "texte attendu")

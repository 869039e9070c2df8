"""Facts derived once per dossier, shared by the validation rules and the valorisation.

Field names are the layout CSV `field` names (shared/spec/formats). Types follow the codec:
A -> str right-stripped, N -> int or None, D -> date or None, M -> Decimal (euros). The helpers
accept a few looser forms (a raw 'XXXXXXXX' string in a date field, an int for an amount in
cents) so that a dossier built by hand is read the same way.
"""

from __future__ import annotations

import functools
import re
from datetime import date
from decimal import Decimal
from typing import NamedTuple

__all__ = [
    "Facts",
    "facts_of",
    "ghm_of",
    "nir_key",
    "nir_key_ok",
    "finess_ok",
    "is_placeholder",
    "text",
    "money",
    "taux_percent",
    "derived_taux",
    "AMBULATORY_NIGHTS",
]

AMBULATORY_NIGHTS = 0
_NIR_BODY = re.compile(r"[0-9]{5}([0-9]{2}|2A|2B)[0-9]{6}")
_CENT = Decimal("0.01")
_ZERO = Decimal("0.00")


def text(value) -> str:
    """A field as text ('' for None). A fields come right-stripped and left-aligned from the
    codec, so a str is returned as is."""
    if value.__class__ is str:
        return value
    return "" if value is None else str(value).strip()


def is_placeholder(value) -> bool:
    """The FAQ 'X…' placeholder: no information / anonymous patient."""
    return value.__class__ is str and value[:1] == "X" and not value.strip().strip("X")


def money(value) -> Decimal:
    """An amount in euros: Decimal as given; an int is taken as cents (raw M digits)."""
    cls = value.__class__
    if cls is Decimal:
        return value
    if value is None:
        return _ZERO
    if cls is int:
        return Decimal(value) * _CENT
    if cls is str:
        v = value.strip()
        return Decimal(v) if v else _ZERO
    return Decimal(str(value))


@functools.lru_cache(maxsize=256, typed=True)  # a few distinct values, and Decimal arithmetic
def taux_percent(value) -> int | None:
    """VIDHOSP taux de remboursement (3+2: 8000 = 80 %) as a percent; None when absent/0."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        v = value
    else:
        try:
            v = Decimal(str(value).strip())
        except ArithmeticError:
            return None
    if v <= 0:
        return None
    if v > 100:  # 3+2 implied decimals, raw
        v = v / 100
    return int(v.to_integral_value())


def derived_taux(exo: str, nature: str) -> int | None:
    """ATIH's rule when the taux is missing (SNDS fiche RAC, citing VisualValoSej)."""
    if not exo or not nature or is_placeholder(exo) or is_placeholder(nature):
        return None
    if exo in ("0", "2"):
        return 80 if nature in ("10", "13") else 100
    if exo == "9" and nature == "10":
        return 90
    return 100


def nir_key(body: str) -> int | None:
    """97 - (body mod 97), Corsica 2A -> 19, 2B -> 18; None if the body is malformed."""
    if not _NIR_BODY.fullmatch(body):
        return None
    digits = body.replace("2A", "19", 1) if body[5:7] == "2A" else body
    digits = digits.replace("2B", "18", 1) if body[5:7] == "2B" else digits
    return 97 - int(digits) % 97


def nir_key_ok(body: str, key: str) -> bool:
    expected = nir_key(body)
    return expected is not None and key.isdigit() and int(key) == expected


def finess_ok(value: str) -> bool:
    """9-character FINESS; Luhn checked for all-digit numbers (format only for 2A/2B...)."""
    if not re.fullmatch(r"[0-9][0-9A-Z][0-9]{7}", value):
        return False
    if not value.isdigit():
        return True
    total = 0
    for i, ch in enumerate(reversed(value)):
        n = int(ch)
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def ghm_of(rum: dict) -> str:
    return ((rum.get("ghm_cmd") or "") + (rum.get("ghm_suite") or "")).strip()


def _as_date(value) -> date | None:
    return value if isinstance(value, date) else None


class Facts(NamedTuple):
    """What every rule and the valorisation read about a dossier, computed once."""

    complete: bool
    entree: date | None
    sortie: date | None
    nights: int | None  # date de sortie - date d'entrée, in days
    ghm: str
    exit_mode: str  # mode de sortie of the last RUM
    birth: date | None
    newborn: bool  # less than 30 days old at entry, or entered by birth (mode N)
    nature: str
    exo: str
    taux_vidhosp: int | None
    taux: int | None  # VIDHOSP taux, else derived from exo/nature
    hosp_start: date | None  # date de l'hospitalisation (VIDHOSP), else entrée
    ivg_or_po: bool  # no DMT / TJC for IVG and organ retrieval forfaits
    nir_key: int | None  # the key the NIR body calls for (None: absent or malformed)


def facts_of(d) -> Facts:
    """The facts of a dossier, computed on first use and kept on the (immutable) DossierData."""
    cached = d.__dict__.get("_facts")
    if cached is not None:
        return cached
    f = _compute(d)
    object.__setattr__(d, "_facts", f)
    return f


def _compute(d) -> Facts:
    v = d.vidhosp or {}
    rums = d.rums
    first = rums[0] if rums else {}
    last = rums[-1] if rums else {}
    entree = _as_date(v.get("date_entree")) or _as_date(first.get("date_entree_um"))
    sortie = _as_date(v.get("date_sortie")) or _as_date(last.get("date_sortie_um"))
    nights = (sortie.toordinal() - entree.toordinal()) if (entree and sortie) else None
    birth = _as_date(v.get("date_naissance")) or _as_date(first.get("date_naissance"))
    newborn = (first.get("mode_entree_um") or "") == "N" or (
        birth is not None and entree is not None and 0 <= entree.toordinal() - birth.toordinal() < 30
    )
    nature = v.get("nature_assurance") or ""
    exo = v.get("justif_exo_tm") or ""
    tv = taux_percent(v.get("taux_remb"))
    taux = tv if tv is not None else derived_taux(exo, nature)
    ghm = ghm_of(first) if rums else ""
    fichcomp = d.fichcomp or {}
    ivg_or_po = (
        (v.get("hospit_prelevement_organe") or "") == "1"
        or bool(fichcomp.get("03"))
        or ghm.startswith("14Z08")
    )
    return Facts(
        complete=bool(d.vidhosp) and bool(rums),
        entree=entree,
        sortie=sortie,
        nights=nights,
        ghm=ghm,
        exit_mode=(last.get("mode_sortie_um") or ""),
        birth=birth,
        newborn=newborn,
        nature=nature,
        exo=exo,
        taux_vidhosp=tv,
        taux=taux,
        hosp_start=_as_date(v.get("date_hospitalisation")) or entree,
        ivg_or_po=ivg_or_po,
        nir_key=nir_key(v.get("nir_assure") or ""),
    )

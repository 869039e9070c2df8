"""Dossiers read back from PostgreSQL as the values the pure rules take (`DossierData`)."""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict

import psycopg

from fides.layouts import load as load_layout
from fides.validation import DossierData

_LINES = """
SELECT d.id, d.finess, d.nda, l.kind, l.subtype, l.layout, l.line
FROM dossier d LEFT JOIN dossier_line l ON l.dossier_id = d.id AND l.current
WHERE d.id = ANY(%s) ORDER BY d.id, l.kind, l.seq
"""


def load(conn: psycopg.Connection, ids: list[int]) -> dict[int, DossierData]:
    parts: dict[int, dict] = {}
    for dossier_id, finess, nda, kind, subtype, layout, line in conn.execute(_LINES, (list(ids),)):
        p = parts.get(dossier_id)
        if p is None:
            p = parts[dossier_id] = {"finess": finess, "nda": nda, "vidhosp": None, "version": None,
                                     "part": None, "rums": [], "fichcomp": defaultdict(list)}
        if kind is None:
            continue
        lay = load_layout(layout)
        record = lay.parse(line)
        if kind == "VIDHOSP":
            p["vidhosp"], p["version"], p["part"] = record, lay.version, subtype
        elif kind == "RSS":
            p["rums"].append(record)
        else:
            p["fichcomp"][subtype].append(record)
    return {
        i: DossierData(p["finess"], p["nda"], p["vidhosp"], p["version"], p["part"], tuple(p["rums"]),
                       {k: tuple(v) for k, v in p["fichcomp"].items()})
        for i, p in parts.items()
    }


class UnitesMedicales:
    """UM -> FINESS géographique (and type d'autorisation) in force at a date, from the IUM."""

    _SQL = """
    SELECT um, date_effet, finess_geo, type_autorisation FROM unite_medicale
    WHERE finess = %s AND current ORDER BY um, date_effet
    """

    def __init__(self, conn: psycopg.Connection, finess: str) -> None:
        self._by_um: dict[str, tuple[list[dt.date], list[tuple[str, str]]]] = {}
        for um, effet, geo, type_aut in conn.execute(self._SQL, (finess,)):
            dates, values = self._by_um.setdefault(um, ([], []))
            dates.append(effet)
            values.append((geo, type_aut))

    def _at(self, um: str, on: dt.date) -> tuple[str, str] | None:
        found = self._by_um.get(um.strip())
        if not found or on is None:
            return None
        dates, values = found
        i = bisect.bisect_right(dates, on)
        return values[i - 1] if i else None

    def finess_geo(self, um: str, on: dt.date) -> str | None:
        hit = self._at(um, on)
        return hit[0] if hit else None

    def type_autorisation(self, um: str, on: dt.date) -> str | None:
        hit = self._at(um, on)
        return hit[1] if hit else None

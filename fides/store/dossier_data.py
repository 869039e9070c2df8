"""Dossiers read back from PostgreSQL as the values the pure rules take (`DossierData`)."""

from __future__ import annotations

import bisect
import datetime as dt
import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import groupby
from operator import itemgetter

import psycopg

from fides.layouts import load as load_layout
from fides.store import sql
from fides.validation import FIELDS_READ, ZONES_READ, DossierData


def load(conn: psycopg.Connection, ids: list[int], fields: frozenset[str] = FIELDS_READ) -> dict[int, DossierData]:
    """The dossiers `ids` that exist, with their current lines (one query for the batch), parsed
    for the `fields` their reader takes (`FIELDS_VALIDATED`, `FIELDS_BILLED`)."""
    # fetchall: the rows of a chunk converted at once, ~1 µs a dossier less than one by one
    return dict(read(conn.execute(sql.DOSSIER_LINES, (sql.int_array(ids),)).fetchall(), fields=fields))


def read(rows: Iterable[tuple], zones: frozenset[str] | None = ZONES_READ,
         fields: frozenset[str] | None = FIELDS_READ) -> Iterator[tuple[int, DossierData]]:
    """(id, DossierData) from rows (id, finess, nda, kind, subtype, layout, line) ordered by id,
    kind, seq; a dossier without lines has one row with kind None. Only the repeated zones and
    the fields the rules read are parsed (`ZONES_READ`, `FIELDS_READ`; None: every one)."""
    layouts: dict[str, object] = {}
    for dossier_id, lines in groupby(rows, key=itemgetter(0)):
        vidhosp = version = part = None
        rums: list[dict] = []
        fichcomp: dict[str, list[dict]] = {}
        for _, finess, nda, kind, subtype, layout, line in lines:
            if kind is None:
                continue
            lay = layouts.get(layout)
            if lay is None:
                lay = layouts[layout] = load_layout(layout)
            record = lay.parse(line, zones, fields)
            if kind == "RSS":
                rums.append(record)
            elif kind == "VIDHOSP":
                vidhosp, version, part = record, lay.version, subtype
            else:
                fichcomp.setdefault(subtype, []).append(record)
        yield dossier_id, DossierData(finess, nda, vidhosp, version, part, tuple(rums),
                                      {k: tuple(v) for k, v in fichcomp.items()})


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while batches of dossiers are read, validated or billed.

    A batch's parsed lines (dicts and lists) live through many young collections, and every full
    collection walks every object of the process, referentials included: 20 to 40 % of a sweep or
    a billing run (measured on 10 000 and 100 000 dossiers). These batches make no reference
    cycle (a collection after a run finds none): reference counting frees them. The collector is
    enabled again on exit if it was on entry (runs overlapping in two threads leave it enabled)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class UnitesMedicales:
    """UM -> FINESS géographique (and type d'autorisation) in force at a date, from the IUM."""

    def __init__(self, conn: psycopg.Connection, finess: str) -> None:
        self._by_um: dict[str, tuple[list[dt.date], list[tuple[str, str]]]] = {}
        self._seen: dict[tuple[str, dt.date], tuple[str, str] | None] = {}
        for um, effet, geo, type_aut in conn.execute(sql.UNITES_MEDICALES, (finess,)):
            dates, values = self._by_um.setdefault(um, ([], []))
            dates.append(effet)
            values.append((geo, type_aut))

    def _at(self, um: str, on: dt.date) -> tuple[str, str] | None:
        """(FINESS géographique, type d'autorisation) of `um` at `on`, remembered: an instance lives
        for one sweep or billing run, which asks for each RUM (and billing again for each dossier)
        the same few hundred UMs over a few years of dates."""
        key = (um, on)
        hit = self._seen.get(key, self)  # self: not asked yet (None is an answer)
        if hit is self:
            hit = self._seen[key] = self._lookup(um, on)
        return hit

    def _lookup(self, um: str, on: dt.date) -> tuple[str, str] | None:
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

"""Titres de recette and lot numbers.

Titre: 9 digits per (exercice, budget), from the establishment's range; the complément is the
exercice followed by the budget code (6 characters, e.g. 2025H0). Numbers are taken from a
counter row locked in the billing transaction, so they are unique, never reused and gap-free:
a rolled-back billing gives its numbers back with everything else. Lots: 001-999 per FINESS
géographique, cycling, so a number does not come back before 999 other lots.
"""

from __future__ import annotations

import datetime as dt
import functools

import psycopg

_LOCK_TITRE = "SELECT next_numero FROM titre_counter WHERE exercice = %s AND budget = %s FOR UPDATE"
_NEW_TITRE = """
INSERT INTO titre_counter (exercice, budget, next_numero) VALUES (%s, %s, %s)
ON CONFLICT (exercice, budget) DO NOTHING
"""
_MOVE_TITRE = "UPDATE titre_counter SET next_numero = %s WHERE exercice = %s AND budget = %s"
_LOCK_LOT = "SELECT last_numero FROM lot_counter WHERE finess_geo = %s FOR UPDATE"
_NEW_LOT = "INSERT INTO lot_counter (finess_geo, last_numero) VALUES (%s, 0) ON CONFLICT DO NOTHING"
_MOVE_LOT = "UPDATE lot_counter SET last_numero = %s WHERE finess_geo = %s"


class RangeExhausted(RuntimeError):
    """The establishment's titre range for the exercice has no number left."""


@functools.lru_cache(maxsize=64)  # asked for each dossier billed, of an exercice or two
def complement(exercice: int, budget: str) -> str:
    return f"{exercice:04d}{budget}"[:6].ljust(6)


def exercice_of(exit_date: dt.date, today: dt.date, closed: frozenset[int]) -> int:
    """The exercice a dossier is titled on: its exit year, or the current one once that year is
    closed (période complémentaire over)."""
    return today.year if exit_date.year in closed else exit_date.year


def next_lot(last: int) -> int:
    return last % 999 + 1


def allocate_titres(conn: psycopg.Connection, exercice: int, budget: str, count: int,
                    first: int, last: int) -> range:
    """Reserve `count` consecutive titres in the caller's transaction."""
    if count == 0:
        return range(0)
    row = conn.execute(_LOCK_TITRE, (exercice, budget)).fetchone()
    if row is None:
        conn.execute(_NEW_TITRE, (exercice, budget, first))
        row = conn.execute(_LOCK_TITRE, (exercice, budget)).fetchone()
    start = max(row[0], first)
    end = start + count - 1
    if end > last:
        raise RangeExhausted(f"tranche {first}-{last} épuisée pour l'exercice {exercice} ({budget})")
    conn.execute(_MOVE_TITRE, (end + 1, exercice, budget))
    return range(start, end + 1)


def allocate_lot(conn: psycopg.Connection, finess_geo: str) -> int:
    row = conn.execute(_LOCK_LOT, (finess_geo,)).fetchone()
    if row is None:
        conn.execute(_NEW_LOT, (finess_geo,))
        row = conn.execute(_LOCK_LOT, (finess_geo,)).fetchone()
    number = next_lot(row[0])
    conn.execute(_MOVE_LOT, (number, finess_geo))
    return number

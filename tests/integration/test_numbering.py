"""Titre numbering on real PostgreSQL: unique, gap-free, correct under concurrent billing."""

import datetime as dt
import threading

import psycopg
import pytest

from fides.billing import numbering


def test_pure_rules():
    assert numbering.complement(2025, "H0") == "2025H0"
    assert numbering.exercice_of(dt.date(2024, 12, 30), dt.date(2025, 1, 15), frozenset()) == 2024
    assert numbering.exercice_of(dt.date(2024, 12, 30), dt.date(2025, 1, 15), frozenset({2024})) == 2025
    assert numbering.next_lot(1) == 2 and numbering.next_lot(999) == 1


def test_consecutive_and_range_start(conn):
    assert list(numbering.allocate_titres(conn, 2025, "H0", 3, 100, 999)) == [100, 101, 102]
    assert list(numbering.allocate_titres(conn, 2025, "H0", 2, 100, 999)) == [103, 104]
    assert list(numbering.allocate_titres(conn, 2026, "H0", 1, 100, 999)) == [100]


def test_rollback_gives_numbers_back(conn):
    numbering.allocate_titres(conn, 2025, "H0", 5, 1, 999)
    conn.rollback()
    assert list(numbering.allocate_titres(conn, 2025, "H0", 1, 1, 999)) == [1]


def test_range_exhausted(conn):
    numbering.allocate_titres(conn, 2025, "H0", 9, 1, 10)
    with pytest.raises(numbering.RangeExhausted):
        numbering.allocate_titres(conn, 2025, "H0", 2, 1, 10)


def test_lot_numbers_cycle(conn):
    conn.execute("INSERT INTO lot_counter VALUES ('990000028', 998)")
    assert [numbering.allocate_lot(conn, "990000028") for _ in range(3)] == [999, 1, 2]
    assert numbering.allocate_lot(conn, "990000036") == 1


def test_concurrent_billers_never_share_a_number(db_url):
    """Eight connections allocate in parallel, some rolling back: the committed numbers are
    unique and form one gap-free sequence."""
    committed: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def biller(seed: int) -> None:
        try:
            with psycopg.connect(db_url) as c:
                for i in range(25):
                    got = list(numbering.allocate_titres(c, 2025, "H0", 1 + (seed + i) % 3, 1, 999_999_999))
                    if (seed * 7 + i) % 5 == 0:
                        c.rollback()
                        continue
                    c.commit()
                    with lock:
                        committed.extend(got)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=biller, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(committed) == len(set(committed))
    assert sorted(committed) == list(range(1, len(committed) + 1))

"""How a validation backlog is cut into batches (fides.engine.validation._batch): pure."""

from __future__ import annotations

from fides.engine import validation


def test_a_backlog_shared_by_processes_makes_enough_batches_for_each():
    assert validation._batch(10_000, 2) == 1250  # 8 batches: 4 each, none left to one process alone
    assert validation._batch(5_001, 2) == 626  # rounded up: never a ninth batch of a few dossiers
    assert validation._batch(10_000, 3) == 834


def test_a_large_backlog_keeps_the_full_batch():
    assert validation._batch(16_000, 2) == validation.BATCH
    assert validation._batch(validation.ANALYZE_FROM, 2) == validation.BATCH  # the count stops there


def test_a_tiny_backlog_still_makes_batches_of_one_dossier_at_least():
    assert validation._batch(1, 2) == 1
    assert validation._batch(0, 2) == 1

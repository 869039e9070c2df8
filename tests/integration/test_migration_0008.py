"""Migration 0008 drops the foreign keys checked once per billed row, and only those: the ones
retention relies on (nothing deletes a file still referred to) and the returns' stay."""

from __future__ import annotations

import psycopg

from fides.store import schema

_DROPPED = {("titre", "fk_titre_dossier_id"), ("invoice", "fk_invoice_dossier_id"),
            ("invoice", "fk_invoice_titre_id"), ("invoice", "fk_invoice_lot_id"),
            ("anomaly", "fk_anomaly_dossier_id")}
_FOREIGN_KEYS = "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'f'"


def _foreign_keys(url: str) -> set[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return set(conn.execute(_FOREIGN_KEYS).fetchall())


def test_the_per_row_checks_of_billing_go_and_the_others_stay(empty_url):
    schema.upgrade(empty_url, "0007")
    before = _foreign_keys(empty_url)
    assert _DROPPED <= before
    schema.upgrade(empty_url)
    after = _foreign_keys(empty_url)
    assert after == before - _DROPPED
    assert {("insurance_return", "fk_insurance_return_file_id"), ("unite_medicale", "fk_unite_medicale_file_id"),
            ("insurance_return", "fk_insurance_return_dossier_id")} <= after
    assert schema.differences(empty_url) == []  # the models say the same

"""What returns and control lines do to a dossier, decided from values (no database)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from fides.dossiers import EN_COURS, FACTURE, PAYE, REJETE, VALIDE
from fides.returns import rules
from fides.returns.noemie_parse import PAYMENTS, REJECTS, InvoiceReturn, Motif

UTC = dt.timezone.utc
PAID = Decimal("3511.68")


def ret(amount=PAID, lot=1, motifs=()) -> InvoiceReturn:
    return InvoiceReturn(6, 12345, "202500", lot, amount, motifs)


def target(state=FACTURE, cancelled=False, lot=1, billed=PAID, already=False) -> rules.Target:
    return rules.Target(7, 70, "250000101", state, cancelled, lot, billed, already)


def code(verdict: rules.Verdict) -> str | None:
    return verdict.finding.code if verdict.finding else None


# --- 578 / 908 ---------------------------------------------------------------------------------

def test_payment_of_the_billed_amount():
    v = rules.decide_return(PAYMENTS, ret(), target(), {})
    assert v == rules.Verdict(True)


def test_payment_of_another_amount_pays_with_an_anomaly():
    v = rules.decide_return(PAYMENTS, ret(Decimal("3400.00")), target(), {})
    assert v.apply and v.anomaly is v.finding
    assert v.anomaly.code == "RET008" and v.anomaly.severity == "A"
    assert "payé 3400.00 €, facturé 3511.68 €" in v.anomaly.message


def test_payment_without_amount_pays_with_an_anomaly():
    v = rules.decide_return(PAYMENTS, ret(None), target(), {})
    assert v.apply and v.anomaly.code == "RET009"


@pytest.mark.parametrize("reference, t, expected", [
    (PAYMENTS, None, "RET004"),
    (PAYMENTS, target(cancelled=True), "RET005"),
    (PAYMENTS, target(state=PAYE, already=True), "RET007"),
    (REJECTS, target(state=REJETE, already=True), "RET007"),
    (PAYMENTS, target(lot=4), "RET012"),
    (PAYMENTS, target(state=PAYE), "RET006"),  # paid, but not by a return of this sending
    (PAYMENTS, target(state=REJETE), "RET006"),
    (REJECTS, target(state=PAYE, already=True), "RET006"),
    (REJECTS, target(state=VALIDE), "RET006"),
    (REJECTS, target(state=EN_COURS), "RET006"),
])
def test_refusals_and_replays(reference, t, expected):
    v = rules.decide_return(reference, ret(), t, {})
    assert not v.apply and code(v) == expected and v.anomaly is None
    assert v.finding.line_no == 6


def test_unknown_titre_message_names_it():
    v = rules.decide_return(PAYMENTS, ret(), None, {})
    assert v.finding.message == "titre 000012345 complément 202500"


def test_same_titre_twice_in_a_file():
    v = rules.decide_return(PAYMENTS, ret(), target(), {7: 3})
    assert code(v) == "RET007" and "n° 3" in v.finding.message


def test_same_titre_recorded_by_an_earlier_chunk_of_the_file():
    """Applied by an earlier chunk, the dossier is PAYE already: still a repeat in this file."""
    earlier = dataclasses.replace(target(state=PAYE, already=True), earlier=3)
    v = rules.decide_return(PAYMENTS, ret(), earlier, {})
    assert code(v) == "RET007" and "plus haut dans ce fichier (n° 3)" in v.finding.message


def test_lot_unknown_on_either_side_is_not_checked():
    assert rules.decide_return(PAYMENTS, ret(lot=None), target(), {}).apply
    assert rules.decide_return(PAYMENTS, ret(), target(lot=None), {}).apply


def test_reject_with_and_without_motif():
    motifs = (Motif("S", "S0001", "signalement"), Motif("R", "R1234", "assuré inconnu"))
    assert rules.decide_return(REJECTS, ret(None, motifs=motifs), target(), {}) == rules.Verdict(True)
    assert rules.reject_codes(ret(None, motifs=motifs)) == ("S0001,R1234", "signalement | assuré inconnu", "R1234")
    v = rules.decide_return(REJECTS, ret(None), target(), {})
    assert v.apply and code(v) == "RET014" and v.anomaly is None
    assert rules.reject_codes(ret(None)) == ("", "", "RET014")


# --- lots ------------------------------------------------------------------------------------------

def lot(lot_id=1, created=dt.datetime(2025, 3, 10, 10, 15, tzinfo=UTC), status=None, organisme="017810000"):
    return rules.LotRow(lot_id, "990000028", 1, organisme, created, status, None)


def test_pick_lot_by_day_else_the_latest():
    old = lot(1, dt.datetime(2024, 3, 10, 10, tzinfo=UTC))
    new = lot(2, dt.datetime(2025, 3, 10, 10, tzinfo=UTC))
    day = new.created_at.astimezone().date()
    assert rules.pick_lot([old, new], day) is new
    assert rules.pick_lot([old, new], old.created_at.astimezone().date()) is old
    assert rules.pick_lot([old, new], None) is new
    assert rules.pick_lot([old, new], dt.date(2020, 1, 1)) is None


@pytest.mark.parametrize("source, positive, row, organisme, expected", [
    ("noemie", False, None, None, "RET010"),
    ("control", False, None, None, "CTL006"),
    ("noemie", False, lot(status="NEGATIF"), None, "RET007"),
    ("control", False, lot(status="NEGATIF"), None, "CTL005"),
    ("noemie", True, lot(status="POSITIF"), None, "RET007"),
    ("noemie", False, lot(status="POSITIF"), None, "RET011"),
    ("control", False, lot(status="POSITIF"), None, "CTL008"),
    ("control", False, lot(), "017810001", "CTL007"),
    ("noemie", False, lot(), "017810001", None),  # a raw 930 names no organisme to check
    ("control", False, lot(), "017810000", None),
    ("noemie", True, lot(), None, None),
])
def test_decide_ack(source, positive, row, organisme, expected):
    v = rules.decide_ack(source, positive, row, 3, "lot 001", organisme)
    assert code(v) == expected and v.apply == (expected is None)


def test_lot_label():
    assert rules.lot_label(1, dt.date(2025, 3, 10), "990000028") == "lot 001 du 10/03/2025 (FINESS géographique 990000028)"
    assert rules.lot_label(12, None, None) == "lot 012"


# --- MANAGEREJECT / CANCELPAIDREQUEST -------------------------------------------------------------

A = rules.ACTIONS[("MANAGEREJECT", "A")]
C = rules.ACTIONS[("MANAGEREJECT", "C")]
CANCEL = rules.ACTIONS[("CANCELPAIDREQUEST", "")]


def subject(state, never_b2=False, titre_active=True):
    return rules.Subject(70, "250000101", state, never_b2, titre_active)


@pytest.mark.parametrize("action, s, expected", [
    (A, subject(REJETE), None),
    (C, subject(REJETE), None),
    (CANCEL, subject(PAYE), None),
    (A, subject(EN_COURS, titre_active=False), "CTL005"),
    (A, subject(EN_COURS, titre_active=True), "CTL004"),  # EN_COURS for another reason
    (C, subject(VALIDE), "CTL005"),
    (C, subject(VALIDE, titre_active=False), "CTL004"),
    (CANCEL, subject(EN_COURS, never_b2=True), "CTL005"),
    (CANCEL, subject(EN_COURS), "CTL004"),
    (A, subject(FACTURE), "CTL004"),
    (C, subject(PAYE), "CTL004"),
    (CANCEL, subject(FACTURE), "CTL004"),
])
def test_decide_action(action, s, expected):
    v = rules.decide_action(action, s, 2)
    assert code(v) == expected and v.apply == (expected is None)


def test_refused_action_message():
    v = rules.decide_action(A, subject(FACTURE), 2)
    assert v.finding.message == "dossier 250000101 à l'état FACTURE, REJETE attendu (annulation de la facture rejetée)"

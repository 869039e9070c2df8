"""The transition table of DESIGN.md §5, without a database."""

import pytest

from fides import dossiers as d


@pytest.mark.parametrize("trigger,start,end", [
    ("validation", d.EN_COURS, d.VALIDE),
    ("facturation", d.VALIDE, d.FACTURE),
    ("erreur_referentiel", d.VALIDE, d.EN_COURS),
    ("arl_negatif", d.FACTURE, d.VALIDE),
    ("rejet_noemie", d.FACTURE, d.REJETE),
    ("paiement_noemie", d.FACTURE, d.PAYE),
    ("managereject_annulation", d.REJETE, d.EN_COURS),
    ("managereject_confirmation", d.REJETE, d.VALIDE),
    ("cancelpaid", d.PAYE, d.EN_COURS),
])
def test_allowed(trigger, start, end):
    assert d.target(trigger, start) == end


def test_locked_states_cannot_be_validated_again():
    for state in d.LOCKED:
        assert d.target("validation", state) is None


def test_paid_dossier_cannot_be_rejected():
    assert d.target("rejet_noemie", d.PAYE) is None


def test_creation_events_name_their_dossiers_as_ranges():
    detail = f"6 dossiers : {d.id_ranges([12, 3, 1, 2, 5, 6])}"
    assert detail == "6 dossiers : 1-3,5-6,12"
    assert [i for i in range(15) if d.created_in(detail, i)] == [1, 2, 3, 5, 6, 12]

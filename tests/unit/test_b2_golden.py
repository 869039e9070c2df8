"""One complete B2 lot pinned field by field: a golden file, plus the facts worked out by hand.

Regenerate deliberately (after a reviewed change of the B2 writer) with
FIDES_REGENERATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_b2_golden.py
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

import dossier_factory as f
import pytest

from fides.billing import b2
from fides.billing.valorisation import valorise
from fides.billing.valuing import Valued
from fides.layouts import family
from fides.layouts.values import EncodeError

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden" / "b2_lot_001.b2"
HEADER = b2.LotHeader("990000010", "990000028", 1, "017510001", 2025, dt.datetime(2025, 3, 25, 10, 15), 7)


def _lot() -> bytes:
    plain = f.dossier(f.vidhosp(num_admin_sejour="2025000101"))
    with_med = f.dossier(f.vidhosp(num_admin_sejour="2025000102"),
                         fichcomp={"06": [f.med()]})
    with_dmi = f.dossier(f.vidhosp(num_admin_sejour="2025000103"),
                         fichcomp={"02": [f.dmi()]})
    invoices = [b2.Invoice(titre, "2025H0", "990000028", d.vidhosp, valorise(d, f.context()))
                for titre, d in ((12, with_med), (11, plain), (13, with_dmi))]
    return b2.render_lot(HEADER, invoices)[0]


def test_lot_matches_golden_file_field_by_field():
    data = _lot()
    if os.environ.get("FIDES_REGENERATE_GOLDEN"):
        GOLDEN.write_bytes(data)
    got, want = b2.read(data), b2.read(GOLDEN.read_bytes())
    assert got.header == want.header
    assert got.trailer == want.trailer
    assert len(got.lots) == len(want.lots) == 1
    g_lot, w_lot = got.lots[0], want.lots[0]
    assert g_lot.header == w_lot.header and g_lot.trailer == w_lot.trailer
    assert len(g_lot.invoices) == len(w_lot.invoices)
    for i, (g_inv, w_inv) in enumerate(zip(g_lot.invoices, w_lot.invoices)):
        assert [k for k, _ in g_inv.records] == [k for k, _ in w_inv.records], f"invoice {i}"
        for n, ((kind, g_rec), (_, w_rec)) in enumerate(zip(g_inv.records, w_inv.records)):
            for field in w_rec:
                assert g_rec[field] == w_rec[field], f"invoice {i} record {n} ({kind}) field {field}"


def test_lot_facts_worked_out_by_hand():
    lot = b2.read(_lot())
    records = _lot().decode("latin-1").split("\r\n")[:-1]
    assert all(len(r) == 128 for r in records)
    assert [r[:3] for r in (records[0], records[-1])] == ["000", "999"]
    assert lot.header["num_emetteur"] == "990000010" and lot.header["norme"] == "B2"
    inv = lot.lots[0].invoices
    # Invoices sorted by titre whatever the order given.
    assert [i.first("2")["num_facture"] for i in inv] == [11, 12, 13]
    assert all(i.first("2S")["complement_num_titre"] == "2025H0" for i in inv)
    # Record order inside an invoice: 2, 2S, then the 3s (3H after PH8, 3F after the DMI line), 5.
    kinds = [[k for k, _ in i.records] for i in inv]
    assert kinds[0][:2] == ["2", "2S"] and kinds[0][-1] == "5"
    before_3h = inv[1].records[kinds[1].index("3H") - 1]
    assert before_3h[0] == "3" and before_3h[1]["code_acte"] == "PH8"
    assert "3F" in kinds[2]
    # MED en sus: the FICHCOMP purchase price 512.340 € (7+3) becomes 512.34 € in the 3H.
    assert inv[1].first("3H")["montant_total_facture_ttc"] == Decimal("512.34")
    assert inv[1].first("3H")["code_ucd"] == 17  # UCD13 3400890000017 -> UCD7 0000017
    # GHS 1955 (06C091), campaign 2025: tarif × coefficient prudentiel 0.993.
    ghs = next(r for r in inv[0].all("3") if r["code_acte"] == "GHS")
    assert ghs["num_ghs"] == 1955
    assert ghs["base_remboursement"] == (ghs["prix_unitaire"] * Decimal("0.993")).quantize(Decimal("0.01"))
    # Trailer: 3 invoices; records = 1 (lot header) + invoices' records + 1 (trailer); totals add up.
    trailer = lot.lots[0].trailer
    assert trailer["nb_factures"] == 3
    assert trailer["nb_enregistrements"] == 2 + sum(len(i.records) for i in inv)
    assert trailer["total_facture"] == sum(i.first("5")["montant_total_facture_ph"] for i in inv)
    assert lot.trailer["nb_enregistrements"] == len(records)


def test_exb_is_folded_into_the_ghs_line():
    """B2 amounts are unsigned: a stay below the borne basse carries one GHS line already reduced
    by its EXB (GHS 0308, GHM 01M284, borne basse 9: 5 nights -> 4 EXB days)."""
    d = f.dossier(f.vidhosp(num_admin_sejour="2025000104", date_entree=dt.date(2025, 3, 3),
                            date_sortie=dt.date(2025, 3, 8), date_hospitalisation=dt.date(2025, 3, 3),
                            DMT=[f.dmt(debut=dt.date(2025, 3, 3), fin=dt.date(2025, 3, 7))]),
                  [f.rum(ghm="01M284", date_entree_um=dt.date(2025, 3, 3), date_sortie_um=dt.date(2025, 3, 8))])
    v = valorise(d, f.context())
    assert [ln.code_prestation for ln in v.lines][:2] == ["GHS", "EXB"]
    data, counts = b2.render_lot(HEADER, [b2.Invoice(14, "2025H0", "990000028", d.vidhosp, v)])
    (inv,) = b2.read(data).lots[0].invoices
    lines = inv.all("3")
    assert [r["code_acte"] for r in lines].count("EXB") == 0
    ghs = next(r for r in lines if r["code_acte"] == "GHS")
    # 10019.69 (GHS) - 2658.06 (EXB) = 7361.63
    assert ghs["base_remboursement"] == ghs["montant_total_depense"] == Decimal("7361.63")
    assert counts == [len(inv.records)]


def test_an_invoice_numbered_after_rendering_holds_its_key_and_number_in_each_record():
    """A billing run renders invoices before their titres are allocated (b2.invoice_template), the
    invoice's key written once and copied into each record, then writes the number into each
    record: every record, whatever its type, reads back the invoice's key and number."""
    vh = {"rang_beneficiaire": "002"}  # not 0: a number left out is 0
    transfer = f.dossier(f.vidhosp(num_admin_sejour="2025000104", etab_transfert="750000010", **vh))
    dossiers = [f.dossier(f.vidhosp(**vh)), f.dossier(f.vidhosp(**vh), fichcomp={"06": [f.med()], "02": [f.dmi()]}),
                transfer]
    layouts = family("b2")
    for titre in (1, 12, 987654321):
        for d in dossiers:
            inv = b2.Invoice(titre, "2025H0", "990000028", d.vidhosp, valorise(d, f.context()))
            records = b2.invoice_records(inv)
            assert b2.invoice_template(inv).count(b2.NUMBER) == len(records)
            for r in records:
                rec = layouts[b2._kind(r)].parse(r)
                assert len(r) == b2.RECORD
                assert (rec["finess_geographique"], rec["nir_assure"], rec["cle_nir_assure"], rec["rang_beneficiaire"],
                        rec["num_facture"]) == ("990000028", f.NIR, int(f.NIR_KEY), 2, titre)
    assert {b2._kind(r) for r in records} >= {"2", "2S", "3", "3S", "5"}  # the transfer record is covered


def test_a_value_holding_the_number_mark_is_refused():
    """NUMBER marks where a template takes its titre's number: a value holding it (a NUL byte,
    refused at integration) would number the invoice in the wrong place."""
    d = f.dossier(f.vidhosp(nom_medecin_traitant="DUPONT\0"))
    inv = b2.Invoice(1, "2025H0", "990000028", d.vidhosp, valorise(d, f.context()))
    with pytest.raises(EncodeError) as refused:
        b2.invoice_template(inv)
    assert refused.value.code == "FMT014" and f.NIR not in str(refused.value)


def test_a_valued_dossier_crosses_the_helpers_pipe_whole():
    """Pickled as a plain tuple, the amounts as text: it comes back equal, amounts to the digit."""
    d = f.dossier(f.vidhosp())
    inv = b2.Invoice(0, "2025H0", "990000028", d.vidhosp, valorise(d, f.context()))
    valued = Valued(7, "2025000101", None, "990000028", "01751    ", 2025, "2025H0", Decimal("1234.50"),
                    Decimal("-0.10"), b2.invoice_template(inv), b2.synthesis_tail(inv))
    back = ForkingPickler.loads(ForkingPickler.dumps(valued))
    assert type(back) is Valued and back == valued
    assert (str(back.total), str(back.total_amo)) == ("1234.50", "-0.10")
    refused = Valued(8, "2025000102", ("FAC001", "GHM 05C14Z"))
    assert ForkingPickler.loads(ForkingPickler.dumps(refused)) == refused

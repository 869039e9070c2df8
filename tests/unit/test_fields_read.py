"""Dossiers read back parse only the repeated zones and the fields their stage reads (`ZONES_READ`;
`FIELDS_VALIDATED` for the rules, `FIELDS_BILLED` for the valorisation and the B2 invoice): the
verdicts, valorisations and B2 invoices must be those of fully parsed lines, so a rule, the
valorisation or the B2 writer that starts reading another zone (RSS diagnoses, acts) or another
field without listing it fails here."""

from __future__ import annotations

import ast
import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from fides.bench import synthetic
from fides.billing import b2
from fides.billing.valorisation import valorise
from fides.layouts import load, names
from fides.store import dossier_data
from fides.validation import FIELDS_BILLED, FIELDS_READ, FIELDS_VALIDATED, ZONES_READ, validate

import dossier_factory as f
from dossier_factory import context

LAYOUTS = {"VIDHOSP": "vidhosp_V015", "RSS": "rss_grp_122", "FICHCOMP": "fichcomp_med"}
# the modules that read a dossier's lines
READERS = ("validation/rules.py", "validation/facts.py", "billing/valorisation.py", "billing/b2.py",
           "billing/valuing.py")
FIDES = Path(dossier_data.__file__).parents[1]


def _rows(directory):
    """(id, finess, nda, kind, subtype, layout, line) rows as the database returns them."""
    by_nda: dict[str, list] = {}
    for kind, name in LAYOUTS.items():
        layout = load(name)
        at = next(f for f in layout.fields if f.name == "num_admin_sejour")
        path = directory / f"{kind}_{synthetic.FINESS}_20250401000000_0001.txt"
        for line in path.read_bytes().decode("latin-1").split("\r\n")[:-1]:
            nda = line[at.start - 1:at.end].strip()
            subtype = {"VIDHOSP": "complet", "RSS": "", "FICHCOMP": "06"}[kind]
            by_nda.setdefault(nda, []).append((kind, subtype, name, line))
    return [(i, synthetic.FINESS, nda, *line) for i, nda in enumerate(sorted(by_nda), 1) for line in by_nda[nda]]


def _verdict(d, ctx):
    """What the rules make of a dossier."""
    return [validate(d, ctx)]


def _invoice(d, ctx):
    """What the valorisation and the B2 writer make of a dossier."""
    v = valorise(d, ctx)
    out = [v]
    if d.vidhosp and v.lines:
        inv = b2.Invoice(12, "2025H0", f.FINESS_GEO, d.vidhosp, v)
        out += [b2.invoice_template(inv), b2.synthesis_tail(inv)]
    return out


# stage -> (the fields its dossiers are read with, what it makes of them, the modules that read them)
STAGES = {
    "validation": (FIELDS_VALIDATED, _verdict, ("validation/rules.py", "validation/facts.py")),
    "billing": (FIELDS_BILLED, _invoice, ("validation/facts.py", "billing/valorisation.py", "billing/b2.py",
                                          "billing/valuing.py")),
}


@pytest.mark.parametrize("stage", STAGES)
def test_rules_valorisation_and_b2_read_no_zone_or_field_left_out(tmp_path, stage):
    fields, outputs, _ = STAGES[stage]
    synthetic.write_flows(tmp_path, 120, seed=7)
    rows = _rows(tmp_path)
    partial = dict(dossier_data.read(rows, fields=fields))
    full = dict(dossier_data.read(rows, zones=None, fields=None))  # every zone and field
    assert len(full) == 120 and full.keys() == partial.keys()
    assert all("ZA" in r and "ZA" not in p for i in full for r, p in zip(full[i].rums, partial[i].rums))
    assert all(p.keys() <= fields and len(p) < len(r) for i in full for r, p in zip(full[i].rums, partial[i].rums))
    assert all(partial[i].vidhosp.keys() - ZONES_READ <= fields for i in full)  # not the other stage's
    ctx = context()
    billed = 0
    for i in full:
        want = outputs(full[i], ctx)
        assert outputs(partial[i], ctx) == want
        billed += len(want) == 3
    assert billed > 60 or stage == "validation"  # most have an invoice to compare


def _pruned(rec: dict, fields: frozenset[str]) -> dict:
    """A record as parsed with `fields` and ZONES_READ only."""
    return {k: [_pruned(b, fields) for b in v] if isinstance(v, list) else v for k, v in rec.items()
            if k in fields or (k in ZONES_READ and isinstance(v, list))}


@pytest.mark.parametrize("stage", STAGES)
def test_every_kind_of_invoice_line_reads_only_the_fields_read(stage):
    """Dossiers with what the synthetic flows lack: transfer, MED and DMI, supplements,
    participation forfaitaire, exonération, a DMT price."""
    fields, outputs, _ = STAGES[stage]
    dossiers = [
        f.dossier(f.vidhosp(etab_transfert="750000010")),
        f.dossier(f.vidhosp(), fichcomp={"06": [f.med()], "02": [f.dmi()], "04": [f.fc_supplement("04", "REA", 2)],
                                          "03": [f.fc_supplement("03", "PO1", 1)]}),
        f.dossier(f.vidhosp(facturation_18e="1", justif_exo_tm="4")),
        f.dossier(f.vidhosp(DMT=[f.dmt(prix_unitaire=f.TJP_146)])),
        f.dossier(f.vidhosp(taux_remb=None, nature_assurance="10", justif_exo_tm="9")),
    ]
    ctx = context(um_type=lambda um, on: "01A")
    for d in dossiers:
        pruned = replace(d, vidhosp=_pruned(d.vidhosp, fields), rums=tuple(_pruned(r, fields) for r in d.rums),
                         fichcomp={k: tuple(_pruned(x, fields) for x in v) for k, v in d.fichcomp.items()})
        assert len(pruned.vidhosp) < len(d.vidhosp)
        assert outputs(pruned, ctx) == outputs(d, ctx)


@pytest.mark.parametrize("stage", STAGES)
def test_every_field_name_a_stage_s_readers_mention_is_read(stage):
    """A field name written in a module of the stage (a `.get("…")`, a key of a loop) is in its
    set, even where no test dossier has the case that reads it."""
    fields, _, modules = STAGES[stage]
    said = {node.value for module in modules for node in ast.walk(ast.parse((FIDES / module).read_text("utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    assert said & _inputs() - fields == set()
    assert fields <= said  # none read for nothing


def _inputs() -> set[str]:
    return {fld.name for n in names() if n.split("_")[0] in ("vidhosp", "rss", "fichcomp") for fld in load(n).fields}


def test_every_field_name_the_readers_mention_is_read():
    """A field name written in a reading module is in FIELDS_READ, the union of the stages' sets."""
    said = {node.value for module in READERS for node in ast.walk(ast.parse((FIDES / module).read_text("utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    assert said & _inputs() - FIELDS_READ == set()
    assert FIELDS_READ == FIELDS_VALIDATED | FIELDS_BILLED <= _inputs()  # no name left from a field that is gone


def test_a_line_parsed_for_some_fields_has_their_values_only():
    line = synthetic.vidhosp_line(3)
    lay = load("vidhosp_V015")
    full = lay.parse(line)
    wanted = frozenset({"nir_assure", "date_sortie", "dmt_discipline", "no_such_field"})
    part = lay.parse(line, ZONES_READ, wanted)
    assert part == {"nir_assure": full["nir_assure"], "date_sortie": full["date_sortie"],
                    "DMT": [{"dmt_discipline": b["dmt_discipline"]} for b in full["DMT"]]}
    assert isinstance(part["date_sortie"], dt.date) and part["DMT"]

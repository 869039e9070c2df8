"""Dossiers read back parse only the repeated zones the rules read (`ZONES_READ`): the verdicts and
valorisations must be those of fully parsed lines, so a rule that starts reading another zone
(RSS diagnoses, acts) without listing it fails here."""

from __future__ import annotations

from fides.bench import synthetic
from fides.billing.valorisation import valorise
from fides.layouts import load
from fides.store import dossier_data
from fides.validation import validate

from dossier_factory import context

LAYOUTS = {"VIDHOSP": "vidhosp_V015", "RSS": "rss_grp_122", "FICHCOMP": "fichcomp_med"}


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


def test_rules_and_valorisation_read_no_zone_left_out(tmp_path, monkeypatch):
    synthetic.write_flows(tmp_path, 120, seed=7)
    rows = _rows(tmp_path)
    partial = dict(dossier_data.read(rows))
    monkeypatch.setattr(dossier_data, "ZONES_READ", None)  # every zone, as the layout gives them
    full = dict(dossier_data.read(rows))
    assert len(full) == 120 and full.keys() == partial.keys()
    assert all("ZA" in r and "ZA" not in p for i in full for r, p in zip(full[i].rums, partial[i].rums))
    ctx = context()
    for i in full:
        assert validate(partial[i], ctx) == validate(full[i], ctx)
        assert valorise(partial[i], ctx) == valorise(full[i], ctx)

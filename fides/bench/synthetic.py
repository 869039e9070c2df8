"""Synthetic, realistic input flows for the benchmark, from a fixed seed.

Each dossier is a short surgical or medical stay: a VIDHOSP V015 complet line with 1 to 3 DMT
blocks, 1 to 3 RSS groupé 122 lines (one per RUM, with diagnoses and acts) and, for some, a
FICHCOMP MED line. Lines are rendered once per shape by the project's codecs, then the fields
that vary (NIR and its key, N° administratif, dates) are written in place at the positions the
layout descriptions give: generation stays fast enough for a million lines.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Iterable

from fides.identifiers import nir_key
from fides.layouts import load

FINESS = "990000010"
FINESS_GEO = "990000028"
UMS = ("1201", "1202", "5001")
START = dt.date(2025, 3, 3)


def _d8(day: dt.date) -> str:
    return day.strftime("%d%m%Y")


class _Patcher:
    """Writes a field's text at its position, by field name (fixed part or n-th zone block)."""

    def __init__(self, layout_name: str) -> None:
        self.layout = load(layout_name)
        self.fixed = {f.name: (f.start - 1, f.length) for f in self.layout.fields if f.zone is None}
        self.zone = {f.name: (f.start - 1, f.length) for f in self.layout.fields if f.zone is not None}

    def put(self, chars: list[str], name: str, text: str, block: int = -1, zone_start: int = 0,
            block_len: int = 0) -> None:
        if block < 0:
            start, length = self.fixed[name]
        else:
            offset, length = self.zone[name]
            start = zone_start + block * block_len + offset
        chars[start:start + length] = list(text.ljust(length)[:length])


@dataclass(frozen=True)
class Sizes:
    vidhosp: int
    rss: int
    fichcomp: int


def _vidhosp_template(n_dmt: int) -> str:
    dmt = [{"dmt_discipline": "146", "dmt_mode_traitement": "03", "dmt_date_debut": START,
            "dmt_date_fin": START, "dmt_quantite": 1, "dmt_prix_unitaire": Decimal("0"),
            "dmt_base_remb": Decimal("0"), "dmt_taux": 0, "dmt_montant_remb": Decimal("0")} for _ in range(n_dmt)]
    return load("vidhosp_V015").render({
        "nir_assure": "1850578006084", "cle_nir_assure": "91", "code_grand_regime": "01", "code_gestion": "10",
        "date_naissance": dt.date(1985, 7, 14), "sexe": "1", "num_admin_sejour": "0", "num_format": "V015",
        "finess_epmsi": FINESS, "justif_exo_tm": "0", "code_pec_fj": "A", "nature_assurance": "10",
        "sejour_facturable_am": "1", "facturation_18e": "0", "nb_venues": 1, "taux_remb": 8000,
        "beneficiaire_cmu": "0", "date_hospitalisation": START, "num_entree": "250000101", "rang_naissance": 1,
        "rang_beneficiaire": "000", "caisse_gestionnaire": "751", "centre_gestionnaire": "0001",
        "nature_piece_justif": "1", "date_entree": START, "date_sortie": START, "rejet_amo": "0",
        "statut_ft_amo": "1", "statut_ft_amc": "9", "statut_ft_patient": "0", "pays_assurance": "100",
        "ipp": "00100234", "top_medecin_traitant": "O", "indicateur_parcours_soins": "T", "DMT": dmt,
        # Amounts at zero: fides values the stay itself (a warning says nothing was compared).
        **{f.name: Decimal("0") for f in load("vidhosp_V015").fields if f.name.startswith("mt_")},
    })


def _rss_template(n_da: int, n_za: int) -> str:
    return load("rss_grp_122").render({
        "gv_classification": "12", "ghm_cmd": "06", "ghm_suite": "C091", "version_rss": "122",
        "code_retour_groupage": "000", "finess_epmsi": FINESS, "version_rum": "022", "num_rss": "0",
        "num_admin_sejour": "0", "num_rum": "1", "date_naissance": dt.date(1985, 7, 14), "sexe": "1",
        "num_um": "1201", "date_entree_um": START, "mode_entree_um": "8", "date_sortie_um": START,
        "mode_sortie_um": "8", "code_postal": "69003", "poids_nn": 0, "nb_seances": 0, "dp": "K358",
        "DA": [{"da": "I10"}] * n_da, "DAD": [],
        "ZA": [{"za_date_realisation": START, "za_code_ccam": "HHFA016", "za_phase": "0", "za_activite": "1",
                "za_nb_realisations": 1}] * n_za,
    })


def _fichcomp_template() -> str:
    return load("fichcomp_med").render({
        "finess_epmsi": FINESS, "type_prestation": "06", "num_admin_sejour": "0", "date_administration": START,
        "code_ucd": "3400890000017", "nb_administre": Decimal("1.000"), "prix_achat_total": Decimal("512.340"),
        "code_indication": "I000123"})


def write_flows(directory: Path, dossiers: int, seed: int = 20250303) -> Sizes:
    """Write the VIDHOSP (one line per dossier), RSS (1 to 3 RUMs per dossier) and FICHCOMP (a MED
    line for one dossier in four) files of `dossiers` complete dossiers; returns the line counts."""
    rng = random.Random(seed)
    vid = _Patcher("vidhosp_V015")
    rss = _Patcher("rss_grp_122")
    med = _Patcher("fichcomp_med")
    vid_tpl = {n: _vidhosp_template(n) for n in (1, 2, 3)}
    rss_tpl = {(a, z): _rss_template(a, z) for a in (0, 2) for z in (1, 3)}
    med_tpl = _fichcomp_template()
    dmt_start = len(vid_tpl[1]) - 50
    names = {k: directory / f"{k}_{FINESS}_20250401000000_0001.txt" for k in ("VIDHOSP", "RSS", "FICHCOMP")}
    with names["VIDHOSP"].open("w", encoding="latin-1", newline="") as fv, \
            names["RSS"].open("w", encoding="latin-1", newline="") as fr, \
            names["FICHCOMP"].open("w", encoding="latin-1", newline="") as ff:
        v_n = r_n = f_n = 0
        i = 0
        while i < dossiers:
            i += 1
            nda = f"B{i:09d}"
            entry = START + dt.timedelta(days=i % 290)
            los = rng.choice((1, 2, 3, 4, 6, 9))
            exit_ = entry + dt.timedelta(days=los)
            n_dmt = min(rng.choice((1, 1, 2, 3)), los)
            c = list(vid_tpl[n_dmt])
            body = f"{1 + i % 2}{85 + i % 10:02d}{(i // 7) % 12 + 1:02d}75{i % 1000:03d}{i % 1000:03d}"
            vid.put(c, "nir_assure", body)
            vid.put(c, "cle_nir_assure", f"{nir_key(body):02d}")
            for name, value in (("num_admin_sejour", nda), ("date_entree", _d8(entry)),
                                ("date_sortie", _d8(exit_)), ("date_hospitalisation", _d8(entry))):
                vid.put(c, name, value)
            bounds = [entry + dt.timedelta(days=k * los // n_dmt) for k in range(n_dmt)] + [exit_]
            for b in range(n_dmt):
                last = bounds[b + 1] - dt.timedelta(days=1) if bounds[b + 1] > bounds[b] else bounds[b]
                vid.put(c, "dmt_date_debut", _d8(bounds[b]), b, dmt_start, 50)
                vid.put(c, "dmt_date_fin", _d8(last), b, dmt_start, 50)
            fv.write("".join(c) + "\r\n")
            v_n += 1
            n_rum = rng.choice((1, 1, 2, 3))
            cuts = sorted({entry + dt.timedelta(days=k * los // n_rum) for k in range(n_rum)} | {exit_})
            for k in range(len(cuts) - 1):
                shape = (rng.choice((0, 2)), rng.choice((1, 3)))
                c = list(rss_tpl[shape])
                for name, value in (("num_rss", f"R{i:09d}"), ("num_admin_sejour", nda), ("num_rum", str(k + 1)),
                                    ("num_um", UMS[k % len(UMS)]), ("date_entree_um", _d8(cuts[k])),
                                    ("date_sortie_um", _d8(cuts[k + 1]))):
                    rss.put(c, name, value)
                fr.write("".join(c) + "\r\n")
                r_n += 1
            if i % 4 == 0:
                c = list(med_tpl)
                med.put(c, "num_admin_sejour", nda)
                med.put(c, "date_administration", _d8(entry))
                ff.write("".join(c) + "\r\n")
                f_n += 1
    return Sizes(v_n, r_n, f_n)


def ium_lines() -> list[str]:
    layout = load("ium_2013")
    return [layout.render({"num_um": um, "finess_geo": FINESS_GEO, "type_autorisation": "53",
                           "date_effet": dt.date(2020, 1, 1), "nb_lits": 30, "mode_hospitalisation": "C"})
            for um in UMS]


def write_noemie_578(path: Path, invoices: Iterable[tuple[int, int, str, Decimal]], paid_on: dt.date) -> int:
    """Write a NOEMIE 578 (one entity per line, `@`-terminated) paying each (lot N°, titre n°,
    complément, AMO amount), grouped by lot as given: one 080 per lot, so that every invoice is
    paid (a return naming another lot than the invoice's is only a warning). 9 entities per
    invoice, the shape of the sample returns. Returns the number of entities written."""
    day = paid_on.strftime("%y%m%d")
    count = 0
    with path.open("w", encoding="latin-1", newline="") as f:
        def put(*ents: str) -> None:
            nonlocal count
            count += len(ents)
            f.write("".join(e + "@\r\n" for e in ents))

        put(f"000OR017810000     ES{FINESS}     {day}                    578", f"04002{FINESS_GEO}", f"07003{day}")
        for lot, group in itertools.groupby(invoices, key=lambda invoice: invoice[0]):
            put(f"08004{day}{lot:03d}")
            for _, numero, complement, amo in group:
                cents = f"{int(amo * 100):011d}"
                put(f"10005{numero:09d}", f"10505{complement}{numero:09d}",
                    "11005185057800608491 ASSURE                                             SYNTHETIQUE",
                    "120058505071ASSURE                   SYNTHETIQUE", "1500510",
                    "22006GHS  25030325030700100420210080          00336168",
                    "22006PH8  25030525030500100015000100          00015000",
                    f"25006{day}{cents}", f"99005000010                   {cents}")
        put(f"999{count - 3:08d}")
    return count


def vidhosp_line(i: int) -> str:
    """The VIDHOSP line of synthetic dossier `i` alone (one DMT block, a two-day stay)."""
    vid = _Patcher("vidhosp_V015")
    c = list(_vidhosp_template(1))
    body = f"{1 + i % 2}{85 + i % 10:02d}{(i // 7) % 12 + 1:02d}75{i % 1000:03d}{i % 1000:03d}"
    entry = START + dt.timedelta(days=i % 290)
    vid.put(c, "nir_assure", body)
    vid.put(c, "cle_nir_assure", f"{nir_key(body):02d}")
    for name, value in (("num_admin_sejour", f"L{i:09d}"), ("date_entree", _d8(entry)),
                        ("date_sortie", _d8(entry + dt.timedelta(days=2))), ("date_hospitalisation", _d8(entry))):
        vid.put(c, name, value)
    start = len(c) - 50
    vid.put(c, "dmt_date_debut", _d8(entry), 0, start, 50)
    vid.put(c, "dmt_date_fin", _d8(entry + dt.timedelta(days=1)), 0, start, 50)
    return "".join(c)

#!/usr/bin/env python3
"""One-off converter: the shared layout CSVs → interfaces/**/*.xml.

Kept for reproducibility only. Since the first import the XML files are the source of truth: edit
them by hand (a new VIDHOSP version = a copied and edited file), do not re-run this over them
unless you mean to throw the edits away.

    python tools/import_layouts.py --spec /work/shared/spec --out interfaces

What it adds to the CSVs, all of it written into the XML so that it can be reviewed there:
* check rules (`values`, `ref`, `check`, `placeholder`, ...) chosen field by field below, from the
  CSV `values`/`notes` text and the README notes (§3 restreint lengths, §4 V016 conflict);
* the layout-level provenance (status, confidence, source) of the formats README §2 tables;
* B2 / NOEMIE amounts: the CSVs type them N with the implied decimals in `values` ("6+2"); they are
  described here as M (Decimal) with `decimals`, the CSV text kept in <doc>.
"""

from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path

from lxml import etree

XSI = "http://www.w3.org/2001/XMLSchema-instance"
SPLIT = re.compile(r"(\d+)\s*\+\s*(\d+)")
QUOTED = re.compile(r"'([^']*)'")

# --- layout-level provenance (formats README §2) -------------------------------------------
VIDHOSP_META = {
    "V010": ("VERIFIED", "high for positions, medium for flags", "PX vidhosp-saisie-V010.ods + FAQ DEFIS v6.1 §3.2 (176 chars)"),
    "V011": ("OBSERVED", "medium-high (single source)", "PX hkara2/pmsixml vidhospV011.csv"),
    "V012": ("OBSERVED", "medium-high (single source)", "PX hkara2/pmsixml vidhospV012.csv"),
    "V013": ("OBSERVED", "medium-high (single source)", "PX hkara2/pmsixml vidhospV013.csv"),
    "V014": ("VERIFIED", "high (official; 3 sources agree)", "ATIH22 sheet 'VID-HOSP V014 pour 2022' + ATIH24; PX identical"),
    "V015": ("VERIFIED", "high", "ATIH26 sheet 'VID-HOSP V015 pour 2025 - A partir de M3 2025'; PX identical"),
    "V016": ("OBSERVED", "medium: CONFLICT on nb_dmt width (formats README §4)", "PX hkara2/pmsixml vidhospV016.csv (2026-02-20) + lespmsi.com"),
}
# restreint = positions 1..n (formats README §3): V010 FAQ, V014+ ATIH22 cell colours, V011-V013 by analogy
RESTREINT = {
    "V010": (176, "VERIFIED", "FAQ DEFIS v6.1 §3.2: restreint = 176 characters"),
    "V011": (290, "INFERRED", "by analogy with V014: the FIDES-only tail starts at 291 (formats README §3)"),
    "V012": (353, "INFERRED", "by analogy with V014: the FIDES-only tail starts at 354 (formats README §3)"),
    "V013": (373, "INFERRED", "by analogy with V014: the FIDES-only tail starts at 374 (formats README §3)"),
    "V014": (389, "VERIFIED", "ATIH22 sheet V014: fill colours mark positions 1-389 for non-FIDES establishments"),
    "V015": (389, "VERIFIED", "ATIH22 sheet V014 fill colours (unchanged positions 1-389 in V015)"),
    "V016": (389, "VERIFIED", "ATIH22 sheet V014 fill colours (unchanged positions 1-389 in V016)"),
}
RSS_META = {
    "116": ("VERIFIED", "high", "GENRSA12 'Formats de RSS groupé 116' (same in GENRSA13); PX rss116 identical"),
    "117": ("OBSERVED", "medium (single source)", "PX hkara2/pmsixml rss117"),
    "118": ("OBSERVED", "medium (single source)", "PX hkara2/pmsixml rss118"),
    "119": ("OBSERVED", "medium (single source)", "PX hkara2/pmsixml rss119"),
    "120": ("OBSERVED", "medium (single source)", "PX hkara2/pmsixml rss120"),
    "121": ("VERIFIED", "high", "ATIH22 sheet 'RSS groupé format 121'; PX identical; GENRSA22 §5.1"),
    "122": ("VERIFIED", "high", "ATIH24 sheet 'RSS groupé format 122'; PX identical"),
    "123": ("VERIFIED", "high for positions", "ATIH26 sheet 'RSS groupé format 123' (its length formula was not updated)"),
    "022": ("INFERRED", "high", "grouped RSS 122 without its first 15 chars; checked against ATIH24 'RSS non groupé' (typos noted in formats README §2)"),
    "023": ("INFERRED", "high", "grouped RSS 123 without its first 15 chars; checked against ATIH26 'RSS non groupé' (typos noted in formats README §2)"),
}
FICHCOMP_META = {  # stem: (source, priority)
    "med": ("ATIH26 'FICHCOMP LES'; ATIH22; PX fichcompmed2018/2020", 0),
    "med_apac": ("ATIH26 'FICHCOMP - MED AP-AC'", 0),
    "med_2012": ("GENRSA12 p.54 (types 06, 09, 10 without indication, 2012-2017); PX fichcompmed2017, fichcompatu2017", -1),
    "med_thrombo": ("ATIH22 (type 10, until 2022)", 0),
    "med_anticancereux_intraghs": ("ATIH26 (type 14, removed from M3 2025)", 0),
    "generic_92": ("GENRSA12 p.53, GENRSA22 §5.8 (generic layout 2008-2022)", -1),
    "dmi": ("ATIH26 'FICHCOMP DMI'; PX fichcompdmi2020", 0),
    "po": ("ATIH26", 0),
    "pie": ("ATIH26", 0),
    "dip": ("ATIH26", 0),
    "ivg": ("ATIH22; PX fichcompivg2017", 0),
    "transports": ("ATIH26; PX fctransp2020", 0),
    "maison_naissance": ("ATIH26", 0),
}

DMT_NOTE = ("fides: no format-level referential check: referentials/discipline_prestation_dmt.csv (SNDS "
            "IR_DDP_V) matches the B2 DMT list only by inference (referentials README) and lacks 216 / 203, "
            "the codes of the formats README examples; a blocking FMT006 would reject whole files.")
PARCOURS = "A B D H J M N O R S T U"  # B2 README §2.2: ATIH accepts {' ',A,B,D,H,J,M,N,O,R,S,T,U}

# --- field rules: name -> extra attributes ----------------------------------------------------
VIDHOSP_RULES = {
    "nir_assure": {"placeholder": "X"},
    "cle_nir_assure": {"check": "nir", "body": "nir_assure", "placeholder": "X"},
    "cle_nir_individuel": {"check": "nir", "body": "nir_individuel"},
    "code_grand_regime": {"ref": "regimes", "placeholder": "X"},
    "date_naissance": {"placeholder": "X"},
    "sexe": {"placeholder": "X"},
    "num_admin_sejour": {"missing": "FMT012"},
    "finess_epmsi": {"check": "finess"},
    "justif_exo_tm": {"ref": "exoneration_tm", "placeholder": "X"},
    "code_pec_fj": {"ref": "forfait_journalier_codes", "placeholder": "X"},
    "nature_assurance": {"ref": "nature_assurance", "placeholder": "X"},
    "type_contrat": {"ref": "type_contrat"},
    "sejour_facturable_am": {"ref": "sejour_facturable"},
    "motif_non_facturation": {"ref": "motif_non_facturation"},
    "facturation_18e": {"values": "0 1"},
    "beneficiaire_cmu": {"values": "0 1"},
    "nn_aupres_mere": {"values": "1"},
    "hospit_prelevement_organe": {"values": "1"},
    "conf_soins_urgents": {"values": "1"},
    "code_participation_assure": {"values": "A"},
    "top_eclatement": {"values": "F"},
    "rejet_amo": {"values": "0 1 2 3 4 5 6 7 8 9"},
    "statut_ft_amo": {"values": "0 1 2 3 9"},
    "statut_ft_amc": {"values": "0 1 2 3 9"},
    "statut_ft_patient": {"values": "0 1 2 3 9"},
    "ins": {"check": "nir"},
    "art51": {"values": "1"},
    "top_medecin_traitant": {"values": "O N"},
    "indicateur_parcours_soins": {"values": PARCOURS},
    "cmuc_gestion_unique": {"values": "0 1"},
    "etab_transfert": {"check": "finess"},
    "etab_retour": {"check": "finess"},
    # Not ref="discipline_prestation_dmt": that table (SNDS IR_DDP_V) matches the B2 DMT list only
    # by inference, and it lacks 216 / 203, the codes of the spec's own examples.
    "dmt_discipline": {"_note": DMT_NOTE},
    "dmt_mode_traitement": {"ref": "mode_traitement"},
    # An anonymous / AME dossier ('X' régime) has no caisse or rights: these O fields stay blank
    # in the spec's own example (vidhosp_V015.txt line 3).
    "code_gestion": {"blank_if_unknown": "code_grand_regime"},
    "caisse_gestionnaire": {"blank_if_unknown": "code_grand_regime"},
    "centre_gestionnaire": {"blank_if_unknown": "code_grand_regime"},
    "nature_piece_justif": {"blank_if_unknown": "code_grand_regime"},
}
PMSI_RULES = {  # RSS, FICHCOMP, IUM, HOSP-PMSI
    "finess_epmsi": {"check": "finess"},
    "finess_geo": {"check": "finess"},
    "num_admin_sejour": {"missing": "FMT012"},
    "validation_centre_reference": {"values": "1 2"},
    "code_forfait": {"values": "TDE TSE"},
    "classe_distance": {"values": "00 01 02 03 04 05 06 07 08 09"},
    "mode_hospitalisation": {"values": "C P M"},
}
B2_RULES = {
    "finess_geographique": {"check": "finess", "required": "O"},
    "nir_assure": {"required": "O"},
    "cle_nir_assure": {"check": "nir", "body": "nir_assure", "required": "O"},
    "cle_nir_individuel": {"check": "nir", "body": "nir_individuel"},
    "rang_beneficiaire": {"required": "O"},
    "num_facture": {"required": "O"},
    "code_grand_regime": {"ref": "regimes"},
    "nature_assurance": {"ref": "nature_assurance"},
    "justif_exo_tm": {"ref": "exoneration_tm"},
    "justif_exo_tm_ligne": {"ref": "exoneration_tm"},
    "code_pec_fj": {"ref": "forfait_journalier_codes"},
    "type_contrat": {"ref": "type_contrat"},
    "mode_traitement": {"ref": "mode_traitement"},
    "discipline_prestation": {"_note": DMT_NOTE},
    "top_eclatement": {"values": "F"},
    "top_medecin_traitant": {"values": "O N"},
    "indicateur_parcours_soins": {"values": PARCOURS},
    "code_participation_assure": {"values": "A"},
    "norme": {"values": "B2"},
    "variante_norme": {"values": "CP"},
    "type_emetteur": {"values": "ES"},
    "type_destinataire": {"values": "OR"},
    "type_flux": {"values": "R T D"},
}
NOEMIE_RULES = {
    "reference": {"values": "578 908 930 580 572 576 531 900"},
    "statut_acquittement": {"values": "P N"},
    "type_retour": {"values": "R S"},
}
CONTROL_RULES = {  # (flow, field) -> attributes; required flags are PROPOSED with the layouts
    ("MANAGEREJECT", "action"): {"values": "A C", "required": "O"},
    ("MANAGEREJECT", "num_admin_sejour"): {"required": "C"},
    ("CANCELPAIDREQUEST", "num_admin_sejour"): {"required": "C"},
    ("CANCELPAIDREQUEST", "date_demande"): {"required": "O"},
    ("NOEMIEARLNEGATIF", "finess_geographique"): {"required": "O", "check": "finess"},
    ("NOEMIEARLNEGATIF", "num_lot"): {"required": "O"},
    ("NOEMIEARLNEGATIF", "date_creation_lot"): {"required": "O"},
    ("NOEMIEARLNEGATIF", "organisme_destinataire"): {"required": "O"},
    ("STATEREQUEST", "num_admin_sejour"): {"required": "O", "missing": "FMT012"},
    ("EXTRACTEPMSI", "annee"): {"required": "O"},
    ("EXTRACTEPMSI", "mois"): {"required": "O", "values": " ".join(f"{m:02d}" for m in range(1, 13))},
}
STATUS_ORDER = ["VERIFIED", "VERIFIED-POS", "OBSERVED", "INFERRED", "PROPOSED", "UNKNOWN"]
B2_STATUS = {"2B": "VERIFIED-POS", "2C": "VERIFIED-POS"}  # b2_record_types.csv says "1 zone connue"


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def doc_text(row: dict[str, str], *keys: str) -> str:
    return " | ".join(f"{k}: {row[k]}" for k in keys if row.get(k))


def field_el(parent, row, *, name=None, start=None, ftype=None, extra=(), doc_keys=("values", "notes")):
    attrs = {
        "name": name or row["field"],
        "start": str(start or row["start"]),
        "length": row["length"],
        "type": ftype or row["type"],
    }
    length = int(row["length"])
    if attrs["type"] == "N" and row.get("_amounts"):
        m = SPLIT.search(row.get("values", ""))
        if m and int(m.group(1)) + int(m.group(2)) == length:
            attrs["type"] = "M"
    if attrs["type"] == "M":
        m = SPLIT.search(row.get("values", ""))
        if not m or int(m.group(1)) + int(m.group(2)) != length:
            raise SystemExit(f"no implied-decimal split for amount {attrs['name']}")
        attrs["decimals"] = m.group(2)
    req = row.get("required") or "F"
    attrs["required"] = req
    attrs["label"] = row["description"]
    extra = dict(extra)
    note = extra.pop("_note", None)
    attrs.update(extra)
    el = etree.SubElement(parent, "field", {k: v for k, v in attrs.items() if v is not None})
    text = " | ".join(t for t in (doc_text(row, *doc_keys), note) if t)
    if text:
        etree.SubElement(el, "doc").text = text
    return el


def new_layout(root, *, name, flux, version, record, status, confidence, source, short=None, doc=None):
    attrs = {"name": name, "flux": flux, "version": version, "record": record}
    if short:
        attrs["short"] = short
    attrs.update(status=status, source=source)
    if confidence:
        attrs["confidence"] = confidence
    lay = etree.SubElement(root, "layout", attrs)
    if doc:
        etree.SubElement(lay, "doc").text = doc
    return lay


def add_detect(lay, keys, priority=0):
    det = etree.SubElement(lay, "detect", {"priority": str(priority)} if priority else {})
    for start, length, values, unknown in keys:
        etree.SubElement(det, "key", {"start": str(start), "length": str(length), "values": values, "unknown": unknown})


def add_fields(lay, fields, rules, quoted_constant=()):
    """<fixed> and <zone> elements from format-CSV rows (zone column FIXED / block name)."""
    fixed = [r for r in fields if r["zone"] == "FIXED"]
    fixed_el = etree.SubElement(lay, "fixed", {"length": str(sum(int(r["length"]) for r in fixed))})
    zones: dict[str, list] = {}
    for r in fields:
        if r["zone"] != "FIXED":
            zones.setdefault(r["zone"], []).append(r)
    counters = {}
    for r in fixed:
        m = re.search(r"COUNTER of zone (\w+)", r["values"] + " " + r["notes"])
        if m:
            counters[m.group(1)] = r["field"]
    for r in fixed:
        extra = dict(rules.get(r["field"], {}))
        if r["field"] in quoted_constant:
            extra.setdefault("values", " ".join(v.strip() for v in QUOTED.findall(r["values"])[0].split("|")))
        field_el(fixed_el, r, extra=extra)
    for zname, zrows in zones.items():
        z = etree.SubElement(lay, "zone", {"name": zname, "counter": counters[zname],
                                           "length": str(sum(int(r["length"]) for r in zrows))})
        for r in zrows:
            field_el(z, r, extra=rules.get(r["field"], {}))
    return fixed_el


def write(root, path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    root.set(f"{{{XSI}}}noNamespaceSchemaLocation", "../layout.xsd")
    path.write_bytes(etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8"))


def new_root(family: str, doc: str):
    root = etree.Element("layouts", {"family": family}, nsmap={"xsi": XSI})
    etree.SubElement(root, "doc").text = doc
    return root


def import_vidhosp(spec: Path, out: Path):
    for version, (status, confidence, source) in VIDHOSP_META.items():
        fields = rows(spec / "formats" / f"vidhosp_{version}.csv")
        root = new_root("vidhosp", "VID-HOSP: one line per billing dossier; version at 49-52. Imported from "
                        f"shared spec formats/vidhosp_{version}.csv (formats README §2-§4).")
        lay = new_layout(root, name=f"vidhosp_{version}", flux="VIDHOSP", version=version, record=version,
                         status=status, confidence=confidence, source=source)
        add_detect(lay, [(49, 4, version, "FMT001")])
        length, rstatus, rsource = RESTREINT[version]
        etree.SubElement(lay, "part", {"name": "restreint", "length": str(length), "status": rstatus, "source": rsource})
        rules = dict(VIDHOSP_RULES)
        for r in fields:
            if r["field"] == "sexe":
                rules["sexe"] = {**rules["sexe"], "values": "1 2 3" if "3 indéterminé" in r["values"] else "1 2"}
            if r["field"] == "num_format":
                rules["num_format"] = {"values": version}
            if r["field"] == "nb_dmt" and "CONFLIT" in r["values"]:
                m = re.search(r"indique (\d+) positions", r["values"])
                rules["nb_dmt"] = {"alt_lengths": m.group(1), "status": "CONFLICT",
                                   "source": "width 4: hkara2/pmsixml vidhospV016.csv; width 3: lespmsi.com 'Evolutions du VID-HOSP en 2026'"}
        add_fields(lay, fields, rules)
        write(root, out / "vidhosp" / f"vidhosp_{version}.xml")


def import_rss(spec: Path, out: Path):
    for stem in [f"rss_grp_{v}" for v in range(116, 124)] + ["rss_nongroupe_022", "rss_nongroupe_023"]:
        version = stem.rsplit("_", 1)[1]
        status, confidence, source = RSS_META[version]
        fields = rows(spec / "formats" / f"{stem}.csv")
        root = new_root("rss", f"RSS (one line per RUM); version at 10-12. Imported from shared spec formats/{stem}.csv.")
        lay = new_layout(root, name=stem, flux="RSS", version=version, record=version,
                         status=status, confidence=confidence, source=source)
        add_detect(lay, [(10, 3, version, "FMT001")])
        rules = dict(PMSI_RULES)
        for r in fields:
            if r["field"] == "sexe":
                rules["sexe"] = {"values": "1 2 3" if "3 indéterminé" in r["values"] else "1 2"}
        add_fields(lay, fields, rules, quoted_constant=("version_rss", "version_rum"))
        write(root, out / "rss" / f"{stem}.xml")


def import_fichcomp(spec: Path, out: Path):
    for stem, (source, priority) in FICHCOMP_META.items():
        fields = rows(spec / "formats" / f"fichcomp_{stem}.csv")
        tp = next(r for r in fields if r["field"] == "type_prestation")
        if stem == "generic_92":
            types = re.findall(r"\b(\d\d) [A-Za-zé]", tp["values"])
        else:
            types = [t.strip() for t in QUOTED.findall(tp["values"])[0].split("|")]
        length = sum(int(r["length"]) for r in fields)
        root = new_root("fichcomp", f"FICHCOMP fixed-width (length {length}); type de prestation at 10-11. "
                        f"Imported from shared spec formats/fichcomp_{stem}.csv.")
        lay = new_layout(root, name=f"fichcomp_{stem}", flux="FICHCOMP", version="|".join(types), record=stem,
                         status="VERIFIED", confidence="high", source=source,
                         doc="Lower detection priority: chosen only when no current layout has this type." if priority else None)
        add_detect(lay, [(10, 2, " ".join(types), "FMT011")], priority)
        rules = dict(PMSI_RULES, type_prestation={"values": " ".join(types)})
        add_fields(lay, fields, rules)
        write(root, out / "fichcomp" / f"fichcomp_{stem}.xml")


def import_ium_hosp(spec: Path, out: Path):
    for version, status_src in (("2008", "GENRSA12 p.51 'Format 2008 d'importation du fichier d'information des UM'"),
                                ("2013", "ATIH26, ATIH24, ATIH22 'Fichier d'information des UM'; GENRSA13 §5.6; PX infoum1")):
        fields = rows(spec / "formats" / f"ium_{version}.csv")
        root = new_root("ium", "Fichier d'autorisation des UM (IUM), selected by line length (26 = 2008, 28 = 2013+).")
        lay = new_layout(root, name=f"ium_{version}", flux="IUM", version=version, record=version,
                         status="VERIFIED", confidence="high", source=status_src)
        add_fields(lay, fields, PMSI_RULES)
        write(root, out / "ium" / f"ium_{version}.xml")
    fields = rows(spec / "formats" / "hosp_pmsi.csv")
    root = new_root("hosp_pmsi", "HOSP-PMSI: N° RSS ↔ N° administratif de séjour (40 characters).")
    lay = new_layout(root, name="hosp_pmsi", flux="HOSP_PMSI", version="1", record="hosp_pmsi",
                     status="VERIFIED", confidence="high", source="GENRSA12, GENRSA22, ATIH26 'HOSP-PMSI'")
    add_fields(lay, fields, PMSI_RULES)
    write(root, out / "hosp_pmsi" / "hosp_pmsi.xml")


def weakest(statuses):
    known = [s for s in statuses if s in STATUS_ORDER]
    return max(known, key=STATUS_ORDER.index) if known else "PROPOSED"


def import_b2(spec: Path, out: Path):
    d = spec / "b2_noemie"
    types = {r["record_type"]: r for r in rows(d / "b2_record_types.csv")}
    root = new_root("b2", "Norme B2 (Juin 2005, addenda D, variant 'CP'): 128-character records. Imported from shared "
                    "spec b2_noemie/b2_records.csv; framing records 000/1/9/999 are PROPOSED (b2_noemie README §2.4). "
                    "Amounts typed N with 'p+d' in the CSV are described as M with `decimals`.")
    by_type: dict[str, list] = {}
    for r in rows(d / "b2_records.csv"):
        by_type.setdefault(r["record_type"], []).append(r)
    for rtype, fields in by_type.items():
        meta = types[rtype]
        status = B2_STATUS.get(rtype) or meta["status"].split()[0]
        lay = new_layout(root, name=f"b2_{rtype}", flux="B2", version="2005D", record=rtype, status=status,
                         confidence=None, source="b2_noemie/b2_records.csv; " + meta["status"],
                         doc=f"{meta['label']} ({meta['occurrence']}); {meta['defis_generates']}")
        add_detect(lay, [(1, 3 if len(rtype) == 3 else 2, rtype, "FMT001")])
        fixed = etree.SubElement(lay, "fixed", {"length": str(sum(int(r["length"]) for r in fields))})
        for r in fields:
            extra = dict(B2_RULES.get(r["field"], {}))
            if r["field"] == "type_enregistrement":
                extra.update(values=rtype, required="O")
            extra.update(status=r["status"], source=r["source"])
            field_el(fixed, dict(r, _amounts="1", required=extra.pop("required", "F")), extra=extra)
    write(root, out / "b2" / "b2.xml")


def import_noemie(spec: Path, out: Path):
    d = spec / "b2_noemie"
    names = {r["entity"]: r for r in rows(d / "noemie_entities.csv")}
    root = new_root("noemie", "NOEMIE PS returns (578, 908, 930 ...): entities separated by '@'; entity number at 1-3, "
                    "niveau at 4-5 (not for 000/999). Positions OBSERVED in noemie.psm1 or PROPOSED "
                    "(b2_noemie README §4). An entity may stop early: its missing trailing fields are absent.")
    by_entity: dict[str, list] = {}
    for r in rows(d / "noemie_records.csv"):
        by_entity.setdefault(r["entity"], []).append(r)
    for entity, fields in by_entity.items():
        meta = names[entity]
        content = [r["status"] for r in fields if r["field"] not in ("num_entite", "niveau") and not r["field"].startswith("filler")]
        lay = new_layout(root, name=f"noemie_{entity}", flux="NOEMIE", version="PS", record=entity, short="absent",
                         status=weakest(content or ["OBSERVED"]), confidence=None,
                         source="b2_noemie/noemie_records.csv", doc=f"{meta['nop_name']}: {meta['label']}")
        add_detect(lay, [(1, 3, entity, "FMT001")])
        fixed = etree.SubElement(lay, "fixed", {"length": str(sum(int(r["length"]) for r in fields))})
        for r in fields:
            extra = dict(NOEMIE_RULES.get(r["field"], {}))
            if r["field"] == "num_entite":
                extra["values"] = entity
            extra.update(status=r["status"], source=r["source"])
            field_el(fixed, dict(r, _amounts="1"), extra=extra)
    write(root, out / "noemie" / "noemie.xml")


def import_control(spec: Path, out: Path):
    d = spec / "b2_noemie"
    root = new_root("control", "DEFIS control flows, fixed width (all PROPOSED: the DEFIS 'Description des interfaces' "
                    "is not public; b2_noemie README §5.2). The CSV-style outputs (.arl, reports) are not described here. "
                    "A line may stop after its last filled field.")
    by_flow: dict[str, list] = {}
    for r in rows(d / "defis_control_flows.csv"):
        if r["type"] != "CSV":
            by_flow.setdefault(r["flow"], []).append(r)
    for flow, fields in by_flow.items():
        lay = new_layout(root, name=flow.lower(), flux=flow, version="1", record=flow, short="absent",
                         status=weakest([r["status"] for r in fields]), confidence=None,
                         source="b2_noemie/defis_control_flows.csv")
        fixed = etree.SubElement(lay, "fixed", {"length": str(sum(int(r["length"]) for r in fields))})
        for r in fields:
            extra = dict(CONTROL_RULES.get((flow, r["field"]), {}))
            extra["status"] = r["status"].split()[0] if r["status"].split()[0] in STATUS_ORDER else "PROPOSED"
            if extra["status"] != r["status"]:
                extra["source"] = r["status"]
            field_el(fixed, dict(r, required=extra.pop("required", "F")), extra=extra)
    write(root, out / "control" / "control_flows.xml")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", type=Path, default=Path("/work/shared/spec"))
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "interfaces")
    args = ap.parse_args()
    for step in (import_vidhosp, import_rss, import_fichcomp, import_ium_hosp, import_b2, import_noemie, import_control):
        step(args.spec, args.out)


if __name__ == "__main__":
    main()

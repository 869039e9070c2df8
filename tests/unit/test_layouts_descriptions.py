"""The XML descriptions themselves: schema-valid, tiling, lengths of the formats README, provenance."""

from pathlib import Path

import pytest
from lxml import etree

from fides.layouts import Layout, family, load, names
from fides.layouts.model import INTERFACES_DIR, DescriptionError, read_tree, schema

XML_FILES = sorted(INTERFACES_DIR.rglob("*.xml"))


def test_there_are_descriptions():
    assert len(XML_FILES) >= 35
    assert (INTERFACES_DIR / "layout.xsd").is_file()


@pytest.mark.parametrize("path", XML_FILES, ids=lambda p: str(p.relative_to(INTERFACES_DIR)))
def test_every_xml_validates_against_the_xsd(path: Path):
    xsd = schema()
    tree = etree.parse(str(path))
    assert xsd.validate(tree), xsd.error_log
    assert tree.getroot().get("{http://www.w3.org/2001/XMLSchema-instance}noNamespaceSchemaLocation") == "../layout.xsd"


@pytest.mark.parametrize("name", names())
def test_fields_tile_fixed_part_and_each_zone(name):
    lay = load(name)
    parts = [(lay.length, [f for f in lay.fields if f.zone is None])] + [(z.length, list(z.fields)) for z in lay.zones]
    for length, fields in parts:
        pos = 1
        for f in fields:
            assert f.start == pos, (name, f.name)
            assert f.length > 0
            pos = f.end + 1
        assert pos == length + 1, name
    assert len({f.name for f in lay.fields}) == len(lay.fields)


VIDHOSP = {  # version: (fixed part, DMT block, restreint = positions 1..n)  — formats README §2-§3
    "V010": (324, 47, 176), "V011": (369, 47, 290), "V012": (432, 47, 353), "V013": (452, 47, 373),
    "V014": (468, 47, 389), "V015": (468, 50, 389), "V016": (470, 50, 389),
}
RSS = {  # version: (fixed, DA, DAD, ZA)
    "116": (192, 8, 8, 26), "117": (192, 8, 8, 29), "118": (192, 8, 8, 29), "119": (192, 8, 8, 29),
    "120": (192, 8, 8, 29), "121": (192, 8, 8, 29), "122": (192, 8, 8, 29), "123": (205, 8, 8, 32),
    "022": (177, 8, 8, 29), "023": (190, 8, 8, 32),
}
FIXED = {
    "fichcomp_med": 105, "fichcomp_med_apac": 105, "fichcomp_med_2012": 105, "fichcomp_med_thrombo": 105,
    "fichcomp_med_anticancereux_intraghs": 105, "fichcomp_generic_92": 92, "fichcomp_dmi": 92, "fichcomp_po": 92,
    "fichcomp_pie": 92, "fichcomp_dip": 92, "fichcomp_ivg": 85, "fichcomp_transports": 63,
    "fichcomp_maison_naissance": 31, "ium_2008": 26, "ium_2013": 28, "hosp_pmsi": 40,
    "managereject": 49, "cancelpaidrequest": 143, "noemiearlnegatif": 42, "staterequest": 20,
    "extractepmsi": 6, "b2request": 20,
}


@pytest.mark.parametrize("version", VIDHOSP)
def test_vidhosp_lengths(version):
    fixed, block, restreint = VIDHOSP[version]
    lay = family("vidhosp")[version]
    assert (lay.name, lay.flux, lay.version) == (f"vidhosp_{version}", "VIDHOSP", version)
    assert lay.length == fixed and lay.restreint_length == restreint
    (dmt,) = lay.zones
    assert (dmt.name, dmt.counter, dmt.length) == ("DMT", "nb_dmt", block)
    by_name = {f.name: f for f in lay.fields}
    assert (by_name["num_format"].start, by_name["num_format"].length) == (49, 4)
    assert by_name["nb_dmt"].end == fixed  # the counter closes the fixed part, DMT blocks follow
    assert restreint in {f.end for f in lay.fields if f.zone is None}


@pytest.mark.parametrize("version", RSS)
def test_rss_lengths(version):
    fixed, da, dad, za = RSS[version]
    lay = family("rss")[version]
    assert lay.length == fixed
    assert [(z.name, z.counter, z.length) for z in lay.zones] == [("DA", "nb_da", da), ("DAD", "nb_dad", dad), ("ZA", "nb_za", za)]


@pytest.mark.parametrize("name,length", FIXED.items())
def test_fixed_lengths(name, length):
    lay = load(name)
    assert lay.length == length and not lay.zones


def test_b2_records_are_128_and_noemie_entities_start_with_their_number():
    b2 = family("b2")
    assert set(b2) == {"000", "1", "2", "2S", "2B", "2C", "3", "3S", "3H", "3F", "4", "4M", "4B", "5", "9", "999"}
    assert {lay.length for lay in b2.values()} == {128}
    noemie = family("noemie")
    assert set(noemie) == {"000", "010", "040", "070", "080", "100", "105", "110", "120", "150", "220", "250", "290", "990", "999"}
    for entity, lay in noemie.items():
        assert lay.fields[0].name == "num_entite" and lay.fields[0].values == {entity}
        assert lay.short == "absent"
    assert set(family("control")) == {"MANAGEREJECT", "CANCELPAIDREQUEST", "NOEMIEARLNEGATIF", "STATEREQUEST", "EXTRACTEPMSI", "B2REQUEST"}


def test_families_cover_every_layout():
    fams = ["vidhosp", "rss", "fichcomp", "ium", "hosp_pmsi", "b2", "noemie", "control"]
    assert sorted(lay.name for fam in fams for lay in family(fam).values()) == names()
    with pytest.raises(KeyError):
        family("nope")
    with pytest.raises(KeyError):
        load("vidhosp_V099")


def test_field_names_are_the_csv_names():
    v15 = {f.name for f in load("vidhosp_V015").fields}
    assert {"nir_assure", "cle_nir_assure", "date_entree", "date_sortie", "nb_dmt", "dmt_discipline", "dmt_quantite"} <= v15
    assert {"num_admin_sejour", "nb_da", "nb_za", "da", "za_code_ccam"} <= {f.name for f in load("rss_grp_122").fields}


def test_provenance_is_kept():
    for name in names():
        spec = load(name).spec
        assert spec.status in {"VERIFIED", "VERIFIED-POS", "INFERRED", "OBSERVED", "PROPOSED"} and spec.source, name
    v16 = {f.name: f for f in load("vidhosp_V016").fields}
    assert v16["nb_dmt"].status == "CONFLICT" and v16["nb_dmt"].alt_lengths == (3,)
    assert "lespmsi" in v16["nb_dmt"].source and "CONFLIT" in v16["nb_dmt"].doc
    assert load("vidhosp_V012").spec.provenance["restreint"]["status"] == "INFERRED"
    assert load("vidhosp_V014").spec.provenance["restreint"]["status"] == "VERIFIED"
    assert load("b2_000").status == "PROPOSED" and load("b2_3").status == "VERIFIED"
    assert {f.status for f in load("b2_2").fields} >= {"VERIFIED", "INFERRED", "PROPOSED", "UNKNOWN"}
    assert load("managereject").status == "PROPOSED"
    assert {f.name: f.status for f in load("noemie_105").fields}["num_titre"] == "PROPOSED"


def test_amounts_have_their_implied_decimals():
    v15 = {f.name: f for f in load("vidhosp_V015").fields}
    assert (v15["mt_tm"].type, v15["mt_tm"].decimals) == ("M", 2)
    assert (v15["dmt_prix_unitaire"].type, v15["dmt_prix_unitaire"].decimals, v15["dmt_prix_unitaire"].length) == ("M", 2, 7)
    assert v15["taux_remb"].type == "N"  # the CSV types the rate N (3+2 in its notes)
    med = {f.name: f for f in load("fichcomp_med").fields}
    assert (med["prix_achat_total"].type, med["prix_achat_total"].decimals) == ("M", 3)
    b3 = {f.name: f for f in load("b2_3").fields}  # B2: N with '6+2' in the CSV -> M
    assert (b3["base_remboursement"].type, b3["base_remboursement"].decimals) == ("M", 2)
    assert (b3["coefficient_mco"].type, b3["coefficient_mco"].decimals) == ("M", 4)
    assert b3["taux"].type == "N"


# --- a new version is a new file ------------------------------------------------------------
def _v016_as(version: str) -> bytes:
    text = (INTERFACES_DIR / "vidhosp" / "vidhosp_V016.xml").read_bytes()
    return text.replace(b"V016", version.encode())


def _v016_line() -> str:
    """The first line of the V016 example file."""
    return (Path(__file__).parents[1] / "data" / "examples" / "vidhosp_V016.txt").read_bytes().decode("latin-1").split("\r\n")[1]


def test_a_new_vidhosp_version_is_just_a_new_description():
    (spec,) = read_tree(etree.fromstring(_v016_as("V017")).getroottree(), schema())
    lay = Layout(spec)
    assert (lay.name, lay.version) == ("vidhosp_V017", "V017")
    line = _v016_line().replace("V016", "V017")
    rec = lay.parse(line)
    assert rec["num_format"] == "V017" and rec["nb_dmt"] == 1 and lay.render(rec) == line
    assert lay.check(line) == []


@pytest.mark.parametrize("edit,message", [
    (lambda t: t.replace(b'name="code_grand_regime" start="16"', b'name="code_grand_regime" start="17"'), "gap or overlap"),
    (lambda t: t.replace(b'name="sexe"', b'name="Sexe"', 1), "Sexe"),
    (lambda t: t.replace(b'counter="nb_dmt"', b'counter="nb_venues_x"'), "counter"),
    (lambda t: t.replace(b'<part name="restreint" length="389"', b'<part name="restreint" length="387"'), "restreint"),
    (lambda t: t.replace(b'type="M" decimals="2"', b'type="M"', 1), "decimals"),
    (lambda t: t.replace(b'type="D"', b'type="D6"', 1), r"\(D6\) needs 6 characters"),
])
def test_broken_descriptions_are_refused(edit, message):
    with pytest.raises(DescriptionError, match=message):
        read_tree(etree.fromstring(edit(_v016_as("V016"))).getroottree(), schema())


def test_parsing_alone_compiles_no_check():
    """A process that only parses lines (validation, billing and their helpers) does not compile
    the whole-line regexes (56 ms of a billing helper's start); the check compiles them on first
    use, from `check` or straight from `diagnose`."""
    (spec,) = read_tree(etree.fromstring(_v016_as("V016")).getroottree(), schema())
    line = _v016_line()
    lay = Layout(spec)
    assert lay.parse(line)["num_format"] == "V016"
    (shape,) = lay._shapes.values()
    assert not {"fast", "template", "spans"} & vars(shape).keys()
    assert shape.diagnose(line, None, 0, lay._sensitive) == []
    assert {"fast", "template", "spans"} <= vars(shape).keys()
    bad = line[:13] + "X" + line[14:]  # a NIR digit
    assert [f.code for f in Layout(spec).check(bad)] == [f.code for f in shape.diagnose(bad, None, 0, lay._sensitive)] != []

"""NOEMIE 930 / 908 / 578 read into values: no database, no disk beyond the spec samples."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from fides.layouts import family
from fides.returns import noemie_parse as np
from fides.returns.noemie import sniff

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples" / "b2_noemie"
L = family("noemie")


def sample(ref: str) -> list[str]:
    """The sample's entities, without their `@` (one per line in the file)."""
    text = (SAMPLES / f"NOEMIE_{ref}_sample.txt").read_bytes().decode("latin-1")
    return [line.rstrip("\r").rstrip("@") for line in text.split("\n") if line.strip()]


def as_lines(text: str) -> list[tuple[int, str]]:
    return [(i, line.rstrip("\r")) for i, line in enumerate(text.split("\n"), 1)]


def at_lines(entities: list[str]) -> list[tuple[int, str]]:
    """One entity then `@` per line: the usual layout."""
    return as_lines("".join(e + "@\r\n" for e in entities))


class Read:
    """A whole file read through `Reader.items`: its chunks, items and findings."""

    def __init__(self, lines: list[tuple[int, str]], size: int = np.CHUNK) -> None:
        reader = np.Reader(L)
        self.chunks = list(reader.items(lines, size))
        items = [item for chunk in self.chunks for item in chunk]
        self.acks = [i for i in items if isinstance(i, np.LotAck)]
        self.returns = [i for i in items if isinstance(i, np.InvoiceReturn)]
        self.findings = reader.take_findings()
        self.reference, self.header_at, self.entities = reader.reference, reader.header_at, reader.entities

    @property
    def refused_at(self) -> set[int]:
        return {f.line_no for f in self.findings if f.blocking}


def parse(entities: list[str]) -> Read:
    return Read(at_lines(entities))


def titre_entity(numero: str, complement: str = "202500") -> str:
    return f"10505{complement}{numero}"


# --- splitting entities ---------------------------------------------------------------------------

def test_entities_in_the_three_layouts_give_the_same_returns():
    ents = sample("578")
    per_line = parse(ents)
    one_line = Read([(1, "@".join(ents) + "@")])
    no_at = Read(as_lines("\n".join(ents)))
    assert per_line.returns == one_line.returns == no_at.returns
    assert per_line.findings == one_line.findings == no_at.findings == []
    assert per_line.entities == one_line.entities == no_at.entities == 15


def test_entities_cut_across_lines_are_joined():
    text = "@".join(sample("578")) + "@"
    wrapped = [(i + 1, text[k:k + 50]) for i, k in enumerate(range(0, len(text), 50))]
    assert Read(wrapped).returns == parse(sample("578")).returns


def test_entity_numbers_are_ordinals_or_line_numbers():
    ents = sample("908")
    assert [n for n, _ in np.entities([(1, "@".join(ents))])] == list(range(1, 14))
    spaced = as_lines(ents[0] + "\n\n" + "\n".join(ents[1:]))  # a blank line in the one-per-line form
    numbers = [n for n, _ in np.entities(spaced)]
    assert numbers[:2] == [1, 3] and len(numbers) == 13


# --- 578 payments ---------------------------------------------------------------------------------

def test_578_sample():
    p = parse(sample("578"))
    assert p.reference == 578 and p.header_at == 1 and p.acks == []
    (ret,) = p.returns
    assert (ret.at, ret.numero, ret.complement, ret.lot) == (6, 12345, "202500", 1)
    assert ret.amount == Decimal("3511.68")  # the 990 niveau 05 total
    assert ret.titre == "000012345 complément 202500"


def test_578_without_control_total_sums_the_220_amounts():
    ents = [e for e in sample("578") if not e.startswith("99005")]
    (ret,) = parse(ents).returns
    assert ret.amount == Decimal("3361.68") + Decimal("150.00")


def test_578_without_any_amount():
    ents = [e for e in sample("578") if not e.startswith(("99005", "220"))]
    (ret,) = parse(ents).returns
    assert ret.amount is None


def test_several_invoices_in_one_file():
    ents = sample("578")
    invoice = ents[4:13]  # 100 ... 990 niveau 05
    second = [e.replace("000012345", "000012346") for e in invoice]
    p = parse(ents[:13] + second + ents[13:])
    assert [(r.numero, r.at) for r in p.returns] == [(12345, 6), (12346, 15)]


def test_entity_longer_than_its_layout_is_cut_to_it():
    ents = sample("578")
    ents[5] = ents[5] + "ZONE NON DECRITE"
    (ret,) = parse(ents).returns
    assert ret.numero == 12345


# --- 908 rejects ----------------------------------------------------------------------------------

def test_908_sample_keeps_the_motifs():
    p = parse(sample("908"))
    (ret,) = p.returns
    assert ret.amount is None
    assert ret.motifs == (np.Motif("R", "XXXXX", "MOTIF DE REJET ILLUSTRATIF (CODES NON PUBLIES)"),)


# --- 930 ARL --------------------------------------------------------------------------------------

def test_930_sample_negative():
    p = parse(sample("930"))
    assert p.returns == []
    (ack,) = p.acks
    assert ack == np.LotAck(3, 1, dt.date(2025, 3, 10), "990000028", False, "XXXX", 12345)


def test_930_positive_and_two_lots():
    ents = sample("930")
    ents[2:3] = ["08004250310001P", "08004250310002N0012"]
    p = parse(ents)
    assert [(a.numero, a.positive, a.code) for a in p.acks] == [(1, True, ""), (2, False, "0012")]


def test_930_lot_without_acknowledgement_code():
    ents = sample("930")
    ents[2] = "08004250310001"
    p = parse(ents)
    assert p.acks == [] and [(f.code, f.line_no) for f in p.findings] == [("RET013", 3)]


# --- what cannot be read ------------------------------------------------------------------------

def test_malformed_titre_spoils_its_invoice_only():
    ents = sample("578")
    invoice = ents[4:13]
    bad = [e.replace("000012345", "0000123X5") if e.startswith("105") else e for e in invoice]
    good = [e.replace("000012345", "000012346") for e in invoice]
    p = parse(ents[:4] + bad + good + ents[13:])
    assert [r.numero for r in p.returns] == [12346]
    (f,) = p.findings
    assert (f.code, f.line_no, f.position) == ("RET003", 6, 12)
    assert "entité 105" in f.message and "n'est pas un nombre" in f.message
    assert p.refused_at == {6}


def test_unreadable_entity_number_spoils_the_invoice():
    ents = sample("578")
    ents.insert(7, "XY9 illisible")
    p = parse(ents)
    assert p.returns == []
    assert [(f.code, f.line_no) for f in p.findings] == [("RET003", 8)]


def test_malformed_amount_spoils_the_payment():
    ents = sample("578")
    ents[12] = ents[12][:-5] + "5116X"  # 990 niveau 05 montant
    p = parse(ents)
    assert p.returns == [] and p.findings[0].code == "RET003"


def test_invoice_without_titre_entity():
    ents = [e for e in sample("908") if not e.startswith("105")]
    p = parse(ents)
    assert p.returns == []
    (f,) = p.findings
    assert (f.code, f.line_no) == ("RET013", 5) and "n° 000012345" in f.message


def test_105_without_titre():
    ents = sample("908")
    ents[5] = "10505202500"
    p = parse(ents)
    assert p.returns == [] and p.findings[0].code == "RET003"


@pytest.mark.parametrize("entities, at", [([], 0), (["04002990000028", "99900000002"], 1)])
def test_no_header(entities, at):
    p = parse(entities)
    assert p.reference is None
    assert [(f.code, f.line_no) for f in p.findings] == [("RET001", at)]


def test_malformed_header_is_said_once():
    ents = sample("578")
    ents[0] = ents[0][:61] + "5X8"
    p = parse(ents)
    assert p.reference is None
    assert [f.code for f in p.findings] == ["RET003"]


def test_concatenated_file_of_another_reference_is_skipped():
    p = parse(sample("578") + sample("908"))
    assert [r.numero for r in p.returns] == [12345]
    assert [(f.code, f.line_no) for f in p.findings] == [("RET002", 16)]


# --- recognising NOEMIE by content ----------------------------------------------------------------

@pytest.mark.parametrize("ref", ["578", "908", "930"])
def test_sniff_recognises_the_samples(ref):
    head = (SAMPLES / f"NOEMIE_{ref}_sample.txt").read_bytes()[:128]
    assert sniff(head)
    assert sniff(("@".join(sample(ref))).encode("latin-1")[:128])


def test_sniff_a_file_wrapped_at_a_fixed_width():
    text = "@".join(sample("578")) + "@"
    wrapped = "\r\n".join(text[k:k + 50] for k in range(0, len(text), 50))
    assert sniff(wrapped.encode("latin-1")[:128])


@pytest.mark.parametrize("head", [
    b"",
    b"garbage",
    "@".join(sample("578")).replace("578", "580", 1).encode()[:128],  # RSP: not handled
    b"000" + b"X" * 125,
    (Path(__file__).resolve().parents[1] / "data" / "examples" / "vidhosp_V015.txt").read_bytes()[:128],
    b"\xff\xfe\x00\x01" * 32,
])
def test_sniff_refuses_the_rest(head):
    assert not sniff(head)


# --- chunks -----------------------------------------------------------------------------------------

def invoices(*numeros: str) -> list[str]:
    """The 578 sample with one invoice per N° (the sample's invoice, titre N° replaced)."""
    ents = sample("578")
    body = [e.replace("000012345", n) for n in numeros for e in ents[4:13]]
    return ents[:4] + body + ents[13:]


def test_returns_come_in_chunks_of_the_size_asked():
    lines = at_lines(invoices(*(f"{n:09d}" for n in range(1, 6))))
    chunked, whole = Read(lines, size=2), Read(lines)
    assert [len(c) for c in chunked.chunks] == [2, 2, 1]
    assert [r.numero for c in chunked.chunks for r in c] == [1, 2, 3, 4, 5]
    assert len(whole.chunks) == 1 and chunked.returns == whole.returns
    assert (chunked.entities, chunked.reference) == (whole.entities, whole.reference) == (51, 578)


def test_no_empty_chunk_when_the_size_divides_the_file():
    assert [len(c) for c in Read(at_lines(invoices("000000001", "000000002")), size=2).chunks] == [2]
    assert Read(at_lines(sample("930")), size=1).chunks == [[parse(sample("930")).acks[0]]]
    assert Read(at_lines(invoices()), size=1).chunks == []


def test_findings_taken_at_each_chunk_precede_the_next_chunk():
    """What the flow relies on to write the `.arl` in file order a chunk at a time."""
    bad_titre = "0000123X5"
    numeros = ["000000001", bad_titre, "000000002", "000000003", bad_titre, "000000004"]
    ents = invoices(*numeros)
    ents = [e for e in ents if not (e.startswith("105") and e.endswith("000000003"))]  # RET013
    reader = np.Reader(L)
    taken = []
    for chunk in reader.items(at_lines(ents), 1):
        taken.append(([f.line_no for f in reader.take_findings()], [r.at for r in chunk]))
    taken.append(([f.line_no for f in reader.take_findings()], []))
    assert [at for _, chunk in taken for at in chunk] == [6, 24, 50]
    # RET003 at the spoilt 100 and 105, RET013 (no 105), RET003 at the next spoilt 100 and 105
    assert [f for found, _ in taken for f in found] == [14, 15, 32, 40, 41]
    for (found, _), (_, next_chunk) in zip(taken, taken[1:]):
        assert all(f < at for f in found for at in next_chunk)

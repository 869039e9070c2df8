"""Layout descriptions: read interfaces/**/*.xml (validated by interfaces/layout.xsd) into plain,
immutable values. No codec logic here; see codec.py."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from fides.errors import Finding

INTERFACES_DIR = Path(os.environ.get("FIDES_INTERFACES_DIR") or Path(__file__).resolve().parents[2] / "interfaces")
_DATE_LENGTHS = {"D": 8, "D6": 6, "D8": 8}  # JJMMAAAA, AAMMJJ, AAAAMMJJ
PADDABLE = frozenset("A D D6 D8".split())  # types written with spaces when absent: a trimmed tail may hold only these


class LayoutError(ValueError):
    """A line (or record) that cannot be cut or written; `findings` says why, with positions."""

    def __init__(self, findings: list[Finding]):
        self.findings = list(findings)
        super().__init__("; ".join(f"{f.code} {f.message}" for f in self.findings))


class DescriptionError(ValueError):
    """An interfaces/*.xml file that is invalid or inconsistent (a bug in the data, not in a flow)."""


@dataclass(frozen=True)
class Field:
    name: str
    start: int  # 1-based; for a zone field, the offset inside one block
    length: int
    type: str  # A N M D D6 D8
    zone: str | None = None  # None = fixed part
    decimals: int = 0
    required: str = "F"
    label: str = ""
    values: frozenset[str] | None = None
    ref: str | None = None
    check: str | None = None
    body: str | None = None
    placeholder: str | None = None
    missing: str = "FMT005"
    blank_if_unknown: str | None = None
    alt_lengths: tuple[int, ...] = ()
    status: str | None = None
    source: str | None = None
    doc: str = ""

    @property
    def end(self) -> int:
        """Last position (1-based, inclusive)."""
        return self.start + self.length - 1


@dataclass(frozen=True)
class Zone:
    name: str
    counter: str
    length: int
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Key:
    start: int
    length: int
    values: frozenset[str]
    unknown: str


@dataclass(frozen=True)
class Spec:
    name: str
    flux: str
    version: str
    record: str
    family: str
    status: str
    source: str
    fields: tuple[Field, ...]  # fixed part
    length: int  # fixed part length
    zones: tuple[Zone, ...] = ()
    keys: tuple[Key, ...] = ()
    priority: int = 0
    restreint: int | None = None
    short: str = "pad"
    confidence: str | None = None
    doc: str = ""
    path: str = ""
    provenance: dict = field(default_factory=dict)


_SCHEMAS: dict[Path, etree.XMLSchema] = {}


def schema(directory: Path = INTERFACES_DIR) -> etree.XMLSchema:
    """The layout.xsd shipped beside the descriptions (parsed once per directory)."""
    if directory not in _SCHEMAS:
        _SCHEMAS[directory] = etree.XMLSchema(etree.parse(str(directory / "layout.xsd")))
    return _SCHEMAS[directory]


def _doc(el) -> str:
    d = el.find("doc")
    return d.text or "" if d is not None else ""


def _field(el, zone: str | None) -> Field:
    a = el.attrib
    return Field(
        name=a["name"], start=int(a["start"]), length=int(a["length"]), type=a["type"], zone=zone,
        decimals=int(a.get("decimals", 0)), required=a.get("required", "F"), label=a["label"],
        values=frozenset(a["values"].split()) if "values" in a else None, ref=a.get("ref"),
        check=a.get("check"), body=a.get("body"), placeholder=a.get("placeholder"),
        missing=a.get("missing", "FMT005"), blank_if_unknown=a.get("blank_if_unknown"),
        alt_lengths=tuple(int(w) for w in a.get("alt_lengths", "").split()),
        status=a.get("status"), source=a.get("source"), doc=_doc(el),
    )


def _tiles(fields: tuple[Field, ...], length: int, where: str) -> None:
    pos = 1
    for f in fields:
        if f.start != pos:
            raise DescriptionError(f"{where}: field {f.name} starts at {f.start}, expected {pos} (gap or overlap)")
        pos = f.end + 1
    if pos != length + 1:
        raise DescriptionError(f"{where}: fields end at {pos - 1}, declared length {length}")


def _validate(spec: Spec) -> None:
    """What the XSD cannot say: tiling, counters, cross-field references."""
    where = f"{spec.path}:{spec.name}"
    _tiles(spec.fields, spec.length, where)
    names = {f.name: f for f in spec.fields}
    for z in spec.zones:
        _tiles(z.fields, z.length, f"{where} zone {z.name}")
        c = names.get(z.counter)
        if c is None or c.type != "N":
            raise DescriptionError(f"{where}: counter {z.counter} of zone {z.name} is not a numeric fixed field")
        names.update({f.name: f for f in z.fields})
    for f in names.values():
        if f.type == "M" and not (0 < f.decimals < f.length):
            raise DescriptionError(f"{where}: amount {f.name} needs decimals")
        for other in (f.body, f.blank_if_unknown):
            if other and other not in names:
                raise DescriptionError(f"{where}: {f.name} refers to unknown field {other}")
        if f.type in _DATE_LENGTHS and f.length != _DATE_LENGTHS[f.type]:  # the fast path's regex says so
            raise DescriptionError(f"{where}: date {f.name} ({f.type}) needs {_DATE_LENGTHS[f.type]} characters")
        if f.check == "nir" and not f.body and f.length != 15:
            raise DescriptionError(f"{where}: {f.name}: check=nir without body needs 15 characters")
        if f.alt_lengths and f.zone:
            raise DescriptionError(f"{where}: {f.name}: alternative widths only in the fixed part")
    if spec.restreint is not None:
        if spec.restreint not in {f.end for f in spec.fields} or spec.restreint >= spec.length:
            raise DescriptionError(f"{where}: restreint length {spec.restreint} is not a field boundary")
        if any(f.alt_lengths and f.end <= spec.restreint for f in spec.fields):
            raise DescriptionError(f"{where}: alternative widths inside the restreint part")
    if spec.short == "absent" and spec.zones:
        raise DescriptionError(f"{where}: short='absent' records cannot have zones")


def read_file(path: Path, xsd: etree.XMLSchema) -> list[Spec]:
    return read_tree(etree.parse(str(path)), xsd, str(path))


def read_tree(tree, xsd: etree.XMLSchema, path: str = "<xml>") -> list[Spec]:
    """The layouts of one parsed description file, after XSD validation and the checks below."""
    if not xsd.validate(tree):
        first = xsd.error_log[0]
        raise DescriptionError(f"{path}:{first.line}: {first.message}")
    root = tree.getroot()
    specs = []
    for lay in root.iterfind("layout"):
        a = lay.attrib
        det = lay.find("detect")
        part = lay.find("part")
        fixed = lay.find("fixed")
        spec = Spec(
            name=a["name"], flux=a["flux"], version=a["version"], record=a["record"], family=root.get("family"),
            status=a["status"], source=a["source"], confidence=a.get("confidence"), doc=_doc(lay),
            short=a.get("short", "pad"), path=path,
            fields=tuple(_field(f, None) for f in fixed.iterfind("field")), length=int(fixed.get("length")),
            zones=tuple(
                Zone(z.get("name"), z.get("counter"), int(z.get("length")),
                     tuple(_field(f, z.get("name")) for f in z.iterfind("field")))
                for z in lay.iterfind("zone")
            ),
            keys=tuple(
                Key(int(k.get("start")), int(k.get("length")), frozenset(k.get("values").split()), k.get("unknown", "FMT001"))
                for k in (det.iterfind("key") if det is not None else ())
            ),
            priority=int(det.get("priority", 0)) if det is not None else 0,
            restreint=int(part.get("length")) if part is not None else None,
            provenance={"restreint": dict(part.attrib)} if part is not None else {},
        )
        _validate(spec)
        specs.append(spec)
    return specs


def read_all(directory: Path = INTERFACES_DIR) -> list[Spec]:
    """Every layout under `directory`, each file validated against its layout.xsd."""
    xsd = schema(directory)
    specs: list[Spec] = []
    for path in sorted(directory.rglob("*.xml")):
        specs.extend(read_file(path, xsd))
    seen: set[str] = set()
    for s in specs:
        if s.name in seen:
            raise DescriptionError(f"{s.path}: layout {s.name} described twice")
        seen.add(s.name)
    return specs

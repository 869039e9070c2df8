"""NOEMIE returns (930 ARL, 908 rejects, 578 payments) read into values. Pure: no database.

A NOEMIE file is a sequence of entities, each starting with its 3-digit number. Entities are
separated by `@` (line breaks between or inside entities are transport artefacts and are dropped);
a file without any `@` is read one entity per line. Errors name the entity by its ordinal in the
`@` form and by its line number in the one-per-line form: in the usual "one entity then `@` per
line" layout both are the same number.

Entity positions come from `interfaces/noemie/noemie.xml` (mostly PROPOSED, see b2_noemie/README
§4). Only the entities fides uses are checked; the others (assuré, malade: names and NIR) are
neither parsed nor echoed in messages. An entity longer than its described layout is cut to it:
real entities may carry trailing zones that nobody has published.

The hierarchy used (niveau in positions 4-5): 040 destinataire, 080 lot, then per invoice 100
facture and 105 titre (complément + N° titre), 220 frais hospitaliers, 290 motifs de rejet, and 990
at niveau 05 closing the invoice with its amount.

The file streams: `Reader.items` hands the acknowledgements or returns over a chunk at a time, so
that a file of any size is read and applied with the memory of one chunk.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable, Iterator, Mapping

from fides.errors import Finding

HEADER, TRAILER = "000", "999"
DESTINATAIRE, LOT, FACTURE, TITRE, FRAIS, MOTIF, CONTROLE = "040", "080", "100", "105", "220", "290", "990"
USED = frozenset({HEADER, TRAILER, DESTINATAIRE, LOT, FACTURE, TITRE, FRAIS, MOTIF, CONTROLE})
INVOICE_LEVEL = 5  # niveau of the 990 entity that closes one invoice
ARL, REJECTS, PAYMENTS = 930, 908, 578
HANDLED = frozenset({ARL, REJECTS, PAYMENTS})
CHUNK = 2_000  # acknowledgements or returns handed over at a time: memory holds one chunk, not the file


@dataclass(frozen=True)
class LotAck:
    """One lot acknowledged by a 930 (entity 080)."""

    at: int
    numero: int
    date: dt.date | None
    finess_geo: str | None  # from the preceding 040, when it is a 9-character FINESS
    positive: bool
    code: str
    first_invoice: int | None


@dataclass(frozen=True)
class Motif:
    kind: str  # R rejet, S signalement
    code: str
    label: str


@dataclass(frozen=True)
class InvoiceReturn:
    """One invoice named by a 908 or 578 (its 105 entity), with what the return says about it."""

    at: int  # the 105 entity: where errors about this return point
    numero: int
    complement: str
    lot: int | None  # N° of the B2 lot the caisse read it in (entity 080), if given
    amount: Decimal | None = None  # 578: 990 niveau 05 total, else the sum of the 220 amounts
    motifs: tuple[Motif, ...] = ()

    @property
    def titre(self) -> str:
        return f"{self.numero:09d} complément {self.complement}"


LOOKAHEAD = 16  # non-blank lines read before deciding there is no `@`: an entity is short


def entities(lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """(ordinal or line number, entity text) from the file's (line number, text) pairs.

    The form is decided on the first lines: a file wrapped at a fixed width shows an `@` within
    them, since no entity is longer than a few hundred characters."""
    it = iter(lines)
    head: list[tuple[int, str]] = []
    for line_no, text in it:
        if text.strip():
            head.append((line_no, text))
            if "@" in text or len(head) >= LOOKAHEAD:
                break
    if not any("@" in text for _, text in head):
        yield from head
        yield from ((n, t) for n, t in it if t.strip())
        return
    ordinal, pending = 0, ""
    for _, more in itertools.chain(head, it):
        *done, pending = (pending + more).split("@")
        for entity in done:
            if entity.strip():
                ordinal += 1
                yield ordinal, entity
    if pending.strip():
        yield ordinal + 1, pending


def _cut(layout, text: str, at: int) -> tuple[dict | None, list[Finding]]:
    """The entity's fields, or the findings that make it unusable (as RET003 at the entity)."""
    text = text[: layout.length]
    problems = [f for f in layout.check(text, None, at) if f.blocking]
    if problems:
        return None, [Finding("RET003", f"entité {text[:3]} : {p.text()}", at, p.position) for p in problems]
    return layout.parse(text), []


def reference_of(head: str, header_layout) -> int | None:
    """The NOEMIE reference of a first entity, or None when it is not a readable 000."""
    if "@" in head:  # line breaks are transport artefacts, as in `entities`
        first = head.split("@", 1)[0].replace("\r", "").replace("\n", "")
    else:
        first = head.split("\n", 1)[0].rstrip("\r")
    if first[:3] != HEADER or len(first) < header_layout.length:
        return None
    record, problems = _cut(header_layout, first, 1)
    return None if problems else record["reference"]


@dataclass
class _Invoice:
    start: int
    numero: int | None = None
    complement: str = ""
    titre_at: int = 0
    facture: int | None = None
    details: Decimal | None = None
    control: Decimal | None = None
    motifs: list[Motif] = field(default_factory=list)
    bad: bool = False


class Reader:
    """Walks the entities in order, keeping the current destinataire, lot and invoice.

    `items` hands the lot acknowledgements (930) or the invoice returns (908, 578) over a chunk at
    a time; what the file says about itself (reference, entities read) is kept here, and the
    findings met on the way wait in `findings` until the caller takes them (`take_findings`)."""

    def __init__(self, layouts: Mapping[str, object]) -> None:
        self.layouts = layouts
        self.reference: int | None = None
        self.header_at = 0
        self.entities = 0
        self.findings: list[Finding] = []
        self._items: list[LotAck] | list[InvoiceReturn] = []
        self.geo: str | None = None
        self.lot: int | None = None
        self.invoice: _Invoice | None = None
        self.skipping = False  # inside a concatenated file of another reference
        self.header_failed = False  # the 000 was there but unreadable: said once, as RET003

    def items(self, lines: Iterable[tuple[int, str]], size: int = CHUNK) -> Iterator[list]:
        """The file's acknowledgements or returns in file order, `size` at a time (the last
        chunk maybe fewer). When a chunk is handed over, every finding waiting names an entity
        before the next chunk's items and findings: taken then, findings stay in file order."""
        for at, text in entities(lines):
            self.feed(at, text)
            if len(self._items) >= size:
                yield self._take()
        self._finish()
        if self._items:
            yield self._take()

    def take_findings(self) -> list[Finding]:
        taken, self.findings = self.findings, []
        return taken

    def _take(self) -> list:
        taken, self._items = self._items, []
        return taken

    def feed(self, at: int, text: str) -> None:
        self.entities += 1
        number = text[:3]
        if not (number.isascii() and number.isdigit()):
            self.findings.append(Finding("RET003", f"numéro d'entité illisible « {number} »", at, 1))
            self._spoil()
            return
        if self.reference is None and number != HEADER:
            if not self.header_failed:
                self.findings.append(Finding("RET001", f"le fichier commence par l'entité {number}", at, 1))
                self.header_failed = True
            return
        if number not in USED or (self.skipping and number != HEADER):
            return
        record, problems = _cut(self.layouts[number], text, at)
        if problems:
            self.findings.extend(problems)
            if number == LOT:
                self.lot = None
            if number == HEADER and self.reference is None:
                self.header_failed = True
            self._spoil()
            return
        getattr(self, f"_e{number}")(at, record)

    def _spoil(self) -> None:
        if self.invoice is not None:
            self.invoice.bad = True

    # --- one method per entity used --------------------------------------------------------
    def _e000(self, at: int, r: dict) -> None:
        self._close()
        if self.reference is None:
            self.reference, self.header_at = r["reference"], at
        self.skipping = r["reference"] != self.reference
        if self.skipping:
            why = f"référence {r['reference']} dans un fichier {self.reference}"
            self.findings.append(Finding("RET002", why, at, 1))

    def _e999(self, at: int, r: dict) -> None:
        self._close()

    def _e040(self, at: int, r: dict) -> None:
        self._close()
        dest = (r["destinataire"] or "").strip()
        self.geo = dest if len(dest) == 9 else None
        self.lot = None

    def _e080(self, at: int, r: dict) -> None:
        self._close()
        self.lot = r["num_lot"]
        if self.reference != ARL:
            return
        status = r["statut_acquittement"]
        if status not in ("P", "N") or r["num_lot"] is None:
            missing = "N° de lot" if r["num_lot"] is None else "acquittement P ou N"
            self.findings.append(Finding("RET013", f"lot sans {missing}", at, 0))
            return
        self._items.append(LotAck(at, r["num_lot"], r["date_lot"], self.geo, status == "P",
                                  r["code_rejet_arl"] or "", r["num_premiere_facture_erronee"]))

    def _e100(self, at: int, r: dict) -> None:
        self._close()
        self.invoice = _Invoice(at, facture=r["num_facture"])

    def _e105(self, at: int, r: dict) -> None:
        if self.invoice is None or self.invoice.numero is not None:
            self._close()
            self.invoice = _Invoice(at)
        inv = self.invoice
        if r["num_titre"] is None or not r["complement_num_titre"]:
            self.findings.append(Finding("RET003", "entité 105 : N° de titre ou complément absent", at, 0))
            inv.bad = True
            return
        inv.numero, inv.complement, inv.titre_at = r["num_titre"], r["complement_num_titre"], at

    def _e220(self, at: int, r: dict) -> None:
        if self.invoice is not None and r["montant_rembourse"] is not None:
            self.invoice.details = (self.invoice.details or Decimal(0)) + r["montant_rembourse"]

    def _e290(self, at: int, r: dict) -> None:
        if self.invoice is not None:
            self.invoice.motifs.append(Motif(r["type_retour"] or "", r["code_motif"] or "", r["libelle_motif"] or ""))

    def _e990(self, at: int, r: dict) -> None:
        if r["niveau"] == INVOICE_LEVEL and self.invoice is not None:
            self.invoice.control = r["montant"]
            self._close()

    def _close(self) -> None:
        inv, self.invoice = self.invoice, None
        if inv is None or inv.bad or self.reference not in (REJECTS, PAYMENTS):
            return
        if inv.numero is None:
            named = f" n° {inv.facture:09d}" if inv.facture is not None else ""
            why = f"facture{named} sans entité 105 (titre et complément)"
            self.findings.append(Finding("RET013", why, inv.start, 0))
            return
        amount = inv.control if inv.control is not None else inv.details
        self._items.append(InvoiceReturn(inv.titre_at, inv.numero, inv.complement, self.lot,
                                         amount if self.reference == PAYMENTS else None, tuple(inv.motifs)))

    def _finish(self) -> None:
        self._close()
        if self.reference is None and not self.header_failed:
            self.findings.append(Finding("RET001", "aucune entité 000", 0, 0))

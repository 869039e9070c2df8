"""B2 invoice files: the writer and the reader (pure; layouts from `interfaces/b2/`).

One file holds one lot: 000, 1, then per invoice 2, 2S, 3 (each followed by its 3H/3F), 3S, 5,
then 9 and 999. Every record is exactly 128 characters, CRLF-terminated (accepted without CRLF on
read). The framing records 000/1/9/999 are PROPOSED layouts (no public source); every content
position used here is VERIFIED or VERIFIED-POS in `interfaces/b2/b2.xml`.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from fides.layouts import family
from fides.layouts.model import DescriptionError
from fides.layouts.values import Cache, EncodeError, encode

RECORD = 128
EOL = "\r\n"
_ONE = Decimal(1)


@dataclass(frozen=True)
class LotHeader:
    emetteur: str  # FINESS e-PMSI of the establishment
    finess_geo: str
    numero: int
    organisme: str  # grand régime (2) + caisse (3) + centre (4)
    exercice: int
    created: dt.datetime  # local time
    file_number: int
    type_flux: str = "R"


class Invoice(NamedTuple):  # one per billed dossier: a NamedTuple is built faster than a frozen dataclass
    titre: int
    complement: str
    finess_geo: str
    vidhosp: dict
    valorisation: object  # fides.billing.valorisation.Valorisation


def _layouts():
    return family("b2")


@functools.lru_cache(maxsize=None)
def _writer(kind: str):
    """The generated writer of a record type, `_writer(kind)(**values)`: a field left out, or
    None, is blank, a number zero (B2 zero-fills). An unknown field name is a TypeError."""
    lay = _layouts()[kind]
    if lay.length != RECORD:
        raise DescriptionError(f"{lay.name}: {lay.length} characters, {RECORD} expected")
    return lay.keyword_renderer({"type_enregistrement": kind,
                                 **{f.name: 0 for f in lay.fields if f.type in ("N", "M")}})


# Every record of an invoice starts with its type, then the invoice's key, then its number:
# the key is written once per invoice, and the number once titres are allocated (invoice_template).
NUMBER = "\0"  # where an invoice template takes its number: a character no record may hold
_KEY = ("finess_geographique", "nir_assure", "cle_nir_assure", "rang_beneficiaire")
_INVOICE_RECORDS = ("2", "2S", "3", "3H", "3F", "3S", "5")


@functools.lru_cache(maxsize=None)
def _slots() -> tuple[int, int, int]:
    """(a, b, c): every invoice record holds its invoice's key at [a:b], its number at [b:c]
    (checked against each record layout: the writer relies on it)."""
    layouts = _layouts()
    head = [(f.name, f.start, f.end, f.type) for f in layouts["2"].fields[1:len(_KEY) + 2]]
    for kind in _INVOICE_RECORDS:
        if [(f.name, f.start, f.end, f.type) for f in layouts[kind].fields[1:len(_KEY) + 2]] != head \
                or [name for name, *_ in head] != [*_KEY, "num_facture"]:
            raise DescriptionError(f"B2 {kind}: the invoice's key {head} expected after the record type")
    return head[0][1] - 1, head[-1][1] - 1, head[-1][2]


def _to_int(value) -> int:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else 0


# A number written from a text field (code régime, clé NIR, GHS…): `_int[value]`, the value a
# parsed text, None or an int; computed once per distinct value (~10 per invoice, few distinct).
_int = Cache(_to_int)


def b2_lines(lines) -> list:
    """B2 amounts are unsigned: an EXB line (negative: stay below the borne basse) is folded into
    the GHS line it reduces."""
    out: list = []
    for line in lines:
        if line.code_prestation == "EXB" and out and out[-1].code_prestation == "GHS":
            ghs = out[-1]
            out[-1] = ghs._replace(  # InvoiceLine is a NamedTuple (dataclasses.replace raised TypeError)
                base_remboursement=ghs.base_remboursement + line.base_remboursement,
                montant_amo=ghs.montant_amo + line.montant_amo, montant_total=ghs.montant_total + line.montant_total)
        else:
            out.append(line)
    return out


@functools.lru_cache(maxsize=None)
def _writers() -> tuple:
    """The writers of the invoice records, in `_INVOICE_RECORDS` order (looked up once per invoice)."""
    return tuple(_writer(kind) for kind in _INVOICE_RECORDS)


def _records(inv: Invoice) -> list[str]:
    """The invoice's records, numbered 0, its key written in the first one only (the others take
    it from there: `invoice_template`)."""
    vh = inv.vidhosp
    w2, w2s, w3, w3h, w3f, w3s, w5 = _writers()
    records = [
        w2(
            finess_geographique=inv.finess_geo, nir_assure=vh["nir_assure"],
            cle_nir_assure=_int[vh["cle_nir_assure"]], rang_beneficiaire=_int[vh["rang_beneficiaire"]],
            nature_operation="1", num_entree=vh["num_entree"], code_grand_regime=_int[vh["code_grand_regime"]],
            caisse_gestionnaire=_int[vh["caisse_gestionnaire"]], centre_gestionnaire=vh["centre_gestionnaire"],
            nature_piece_justificative=vh["nature_piece_justif"], date_prise_en_charge=vh["date_pec"],
            date_validite_droits=vh["date_validite_droits"], delivree_par=vh["delivree_par"],
            regime_prestation=vh["regime_prestation"], nature_assurance=_int[vh["nature_assurance"]],
            justif_exo_tm=vh["justif_exo_tm"], date_hospitalisation=vh["date_hospitalisation"],
            num_at_ou_date_accident=vh["num_at_date_accident"], top_eclatement=vh["top_eclatement"],
            date_naissance=vh["date_naissance"], rang_naissance=vh["rang_naissance"] or 0,
            date_entree=vh["date_entree"], date_sortie=vh["date_sortie"], type_contrat=vh["type_contrat"],
            num_organisme_complementaire=vh["num_organisme_complementaire"]),
        w2s(
            complement_num_titre=inv.complement, nir_individuel=vh.get("nir_individuel", ""),
            cle_nir_individuel=_int[vh.get("cle_nir_individuel")], top_medecin_traitant=vh.get("top_medecin_traitant", ""),
            nom_medecin_traitant=vh.get("nom_medecin_traitant", ""),
            prenom_medecin_traitant=vh.get("prenom_medecin_traitant", ""),
            indicateur_parcours_soins=vh.get("indicateur_parcours_soins", "")),
    ]
    for line in b2_lines(inv.valorisation.lines):
        records.append(w3(
            mode_traitement=line.mode_traitement, discipline_prestation=line.discipline, date_debut=line.date_debut,
            date_fin=line.date_fin, code_acte=line.code_prestation, quantite=line.quantite,
            justif_exo_tm_ligne=line.justif_exo_tm, coefficient=_ONE, code_pec_fj=line.code_pec_fj,
            coefficient_mco=line.coefficient, prix_unitaire=line.prix_unitaire,
            base_remboursement=line.base_remboursement, taux=line.taux, montant_remboursable_amo=line.montant_amo,
            montant_total_depense=line.montant_total, num_ghs=_int[line.num_ghs],
            code_participation_assure=line.code_participation))
        if line.ucd is not None:
            u = line.ucd
            records.append(w3h(
                # B2 carries the 7-digit UCD: the tail of a UCD13 (340089 + UCD7).
                code_ucd=_int[u.code[-7:]], coef_fractionnement=u.fractionnement,
                prix_achat_unitaire_ttc=u.prix_achat, quantite=u.quantite, montant_total_facture_ttc=u.montant))
        if line.lpp is not None:
            p = line.lpp
            records.append(w3f(
                code_lpp=p.code, quantite=p.quantite, tarif_reference=p.tarif, montant_total_facture=p.montant,
                prix_achat_unitaire=p.prix_achat))
    transfer = (vh.get("etab_transfert") or vh.get("etab_retour") or "").strip()
    if transfer:
        records.append(w3s(date_debut=vh["date_entree"], date_fin=vh["date_sortie"],
                           etablissement_transfert_retour=transfer))
    v = inv.valorisation
    base = sum((line.base_remboursement for line in v.lines if not line.informative), Decimal(0))
    records.append(w5(total_base_remb_ph=base, total_remboursable_amo_ph=v.total_amo,
                      total_participation_assure_avant_oc=v.total - v.total_amo,
                      montant_total_facture_ph=v.total))
    return records


def invoice_records(inv: Invoice) -> list[str]:
    """The invoice's records, numbered `inv.titre`."""
    text = numbered(invoice_template(inv), inv.titre)
    return [text[i:i + RECORD] for i in range(0, len(text), RECORD + len(EOL))]


def invoice_template(inv: Invoice) -> str:
    """The invoice's records, CRLF-terminated, with NUMBER where each record carries the invoice
    number: `numbered(template, t)` is the invoice numbered t (`inv.titre` is not used). Titres are
    numbered in the transaction that bills, after the invoices are valued and rendered, possibly
    by another process (fides.billing.run): one string crosses the pipe, not one per record."""
    records = _records(inv)
    a, b, c = _slots()
    head = records[0][a:b]
    template = "".join([f"{record[:a]}{head}{NUMBER}{record[c:]}{EOL}" for record in records])
    if template.count(NUMBER) != len(records):  # a value holding NUMBER (refused at integration)
        raise EncodeError("FMT014", f"caractère NUL dans la facture du séjour {inv.vidhosp['num_entree']!r}")
    return template


def numbered(template: str, titre: int) -> str:
    """An invoice template (`invoice_template`) numbered `titre`."""
    return template.replace(NUMBER, titre_text(titre))


@functools.lru_cache(maxsize=None)
def _num_facture(kind: str):
    """The invoice number field of a record type (looked up once: a billing run asks per invoice)."""
    return next(f for f in _layouts()[kind].fields if f.name == "num_facture")


def titre_text(titre: int) -> str:
    """The invoice number as every record writes it (EncodeError if it does not fit)."""
    f = _num_facture("2")
    return encode(f.type, f.length, f.decimals or 0, titre)


def render_lot(header: LotHeader, invoices: list[Invoice]) -> tuple[bytes, list[int]]:
    """The B2 file of one lot, and the number of records of each invoice (in titre order)."""
    ordered = sorted(invoices, key=lambda i: i.titre)
    templates = [invoice_template(inv) for inv in ordered]  # as a billing run writes them
    total = sum((i.valorisation.total for i in invoices), Decimal(0))
    total_amo = sum((i.valorisation.total_amo for i in invoices), Decimal(0))
    counts = [t.count(NUMBER) for t in templates]
    content = lot_file(header, [numbered(t, inv.titre) for inv, t in zip(ordered, templates)], sum(counts),
                       total, total_amo)
    return content, counts


def lot_file(header: LotHeader, bodies: list[str], records: int, total: Decimal, total_amo: Decimal) -> bytes:
    """A lot's file around its invoices already rendered: `bodies` are each invoice's records,
    CRLF-terminated, in titre order; `records` is how many records they hold in all."""
    regime, caisse, centre = header.organisme[:2], header.organisme[2:5], header.organisme[5:9]
    head = _writer("000")(type_emetteur="ES", num_emetteur=header.emetteur, type_destinataire="OR",
                          num_destinataire=header.organisme, date_creation=header.created.date(),
                          heure_creation=int(header.created.strftime("%H%M%S")), num_fichier=header.file_number,
                          norme="B2", variante_norme="CP", type_flux=header.type_flux)
    lot = _writer("1")(finess_geographique=header.finess_geo, num_lot=header.numero,
                       date_creation_lot=header.created.date(), code_grand_regime_dest=_int[regime],
                       caisse_dest=_int[caisse], centre_dest=centre, type_flux=header.type_flux,
                       exercice=header.exercice)
    # 9 counts the lot's records (1, the invoices', 9); 999 every record of the file
    trailer = _writer("9")(finess_geographique=header.finess_geo, num_lot=header.numero,
                           nb_factures=len(bodies), nb_enregistrements=records + 2, total_facture=total,
                           total_remboursable_amo=total_amo)
    end = _writer("999")(nb_lots=1, nb_enregistrements=records + 4)
    return "".join((head, EOL, lot, EOL, *bodies, trailer, EOL, end, EOL)).encode("latin-1")


# --- reader --------------------------------------------------------------------------------

@dataclass
class ReadInvoice:
    records: list[tuple[str, dict]] = field(default_factory=list)

    def first(self, kind: str) -> dict:
        return next(rec for k, rec in self.records if k == kind)

    def all(self, kind: str) -> list[dict]:
        return [rec for k, rec in self.records if k == kind]


@dataclass
class ReadLot:
    header: dict
    invoices: list[ReadInvoice] = field(default_factory=list)
    trailer: dict | None = None


@dataclass
class ReadFile:
    header: dict
    lots: list[ReadLot] = field(default_factory=list)
    trailer: dict | None = None
    record_count: int = 0


class B2FormatError(ValueError):
    pass


def _kind(record: str) -> str:
    if record[:3] in ("000", "999"):
        return record[:3]
    return record[:2].rstrip()


def read(data: bytes) -> ReadFile:
    """Parse a B2 file back into lots and invoices (records of 128 characters, CRLF optional)."""
    text = data.decode("latin-1").replace("\r\n", "").replace("\n", "")
    if len(text) % RECORD:
        raise B2FormatError(f"length {len(text)} is not a multiple of {RECORD}")
    layouts = _layouts()
    parsed: ReadFile | None = None
    lot: ReadLot | None = None
    invoice: ReadInvoice | None = None
    for i in range(0, len(text), RECORD):
        record = text[i:i + RECORD]
        kind = _kind(record)
        if kind not in layouts:
            raise B2FormatError(f"record {i // RECORD + 1}: unknown type {kind!r}")
        rec = layouts[kind].parse(record)
        if kind == "000":
            parsed = ReadFile(rec)
        elif parsed is None:
            raise B2FormatError("file does not start with a 000 record")
        elif kind == "1":
            lot = ReadLot(rec)
            parsed.lots.append(lot)
            invoice = None
        elif kind == "999":
            parsed.trailer = rec
        elif lot is None:
            raise B2FormatError(f"record {i // RECORD + 1}: {kind!r} before any lot (1) record")
        elif kind == "9":
            lot.trailer = rec
        else:
            if kind == "2":
                invoice = ReadInvoice()
                lot.invoices.append(invoice)
            elif invoice is None:
                raise B2FormatError(f"record {i // RECORD + 1}: {kind!r} before its invoice (2) record")
            invoice.records.append((kind, rec))
        parsed.record_count += 1
    if parsed is None or parsed.trailer is None:
        raise B2FormatError("file does not end with a 999 record")
    return parsed


# A FACT_SYNT.TXT line (b2_noemie/defis_control_flows.csv), amounts in euros with a point: the
# invoice's head, its lot's fields, the invoice's tail, the B2 file. An invoice waits for its lot
# as head and tail; the lot's fields are written once per lot.

def synthesis_head(nda: str, titre: int, complement: str, finess_geo: str) -> str:
    return f"FAC;{nda};{titre:09d};{complement};{finess_geo}"


def synthesis_tail(inv: Invoice) -> str:
    """The part of the FACT_SYNT line that the invoice number does not change."""
    vh, v = inv.vidhosp, inv.valorisation
    return (f"{vh['nir_assure']}{vh['cle_nir_assure']};{_d8(vh['date_entree'])};{_d8(vh['date_sortie'])};"
            f"{v.total:.2f};{v.total_amo:.2f};{v.total - v.total_amo:.2f}")


def synthesis_lot_fields(header: LotHeader) -> str:
    """The lot's fields of the FACT_SYNT lines of its invoices."""
    return f"{header.numero:03d};{_d8(header.created)};{header.organisme.strip()}"


def synthesis_in_lot(parts: tuple[str, str], lot_fields: str, b2_file: str) -> str:
    return f"{parts[0]};{lot_fields};{parts[1]};{b2_file}"


def _d8(value) -> str:
    """AAAAMMJJ of a date or a datetime (isoformat: a fifth of strftime's time, twice per line)."""
    return value.isoformat()[:10].replace("-", "") if value else ""

"""Valorisation of a validated dossier into B2 type 3 invoice lines: pure, no I/O.

Every rule is written down, with its source and a worked example, in docs/valorisation.md.
Amounts are Decimal euros, rounded half-up to the cent line by line.

Lines, in this order:
  GHS        1 line (quantity = séances for CMD 28), tariff of the campaign in force at the exit
             date × coefficient (prudentiel × MCO × géographique)
  EXB        below the borne basse: the forfait EXB, or tarif_exb per missing day (negative amounts:
             a deduction from the GHS)
  EXH        tarif_exh per day above the borne haute
  supplements PO1..POA (FICHCOMP 03), REA/SRC/STF/NN1-3 (FICHCOMP 04, or the RSS when the UM
             types are known), DIP (FICHCOMP 07)
  FJA/FJR/FJL forfait journalier per period of equal daily amount, by payer (code de prise en
             charge du FJ); none for a same-day stay; exit day included except death or transfer
  TJC        one line per DMT block, informative (the base of the ticket modérateur), never on
             the last GHS day; none for IVG and organ retrieval forfaits
  PH8 + 3H   one line per FICHCOMP MED (06) / AP-AC (09) line, 100 %, no TM
  PII + 3F   one line per FICHCOMP DMI (02) line, 100 %, no TM
Then the amounts VIDHOSP carries (mt_total_amo, mt_base_remb, mt_fj, mt_tm) are recomputed with
the FAQ §3.2 definitions and compared within `params.tolerance`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import NamedTuple

from fides.errors import CODES, Finding
from fides.validation import DossierData, ValidationContext
from fides.validation.facts import facts_of, money

__all__ = [
    "InvoiceLine",
    "UcdDetail",
    "LppDetail",
    "Valorisation",
    "valorise",
    "REFERENTIAL_ERROR_CODES",
    "GHS_CODES",
    "FJ_CODES",
]

CENT = Decimal("0.01")
_COEF_Q = Decimal("0.0001")
_ZERO = Decimal("0.00")
_ONE = Decimal(1)
_HUNDRED = Decimal(100)
_ONE_DAY = timedelta(days=1)
_COEFS: dict[tuple[Decimal, Decimal, Decimal], Decimal] = {}


def _coefficient(prud: Decimal, mco: Decimal, geo: Decimal) -> Decimal:
    """prudentiel × MCO × géographique, rounded to 4 decimals (the B2 1+4 coefficient)."""
    key = (prud, mco, geo)
    coef = _COEFS.get(key)
    if coef is None:
        coef = _COEFS[key] = (prud * mco * geo).quantize(_COEF_Q, ROUND_HALF_UP)
    return coef

# Referential (or parameter) errors: the billing step sends the dossier back to EN_COURS.
REFERENTIAL_ERROR_CODES = frozenset(
    {"FAC001", "FAC002", "FAC003", "FAC004", "FAC005", "FAC006", "FAC007", "FAC008"}
)
GHS_CODES = frozenset({"GHS", "EXB", "EXH"})
FJ_CODES = {"A": "FJA", "R": "FJR", "L": "FJL"}
_EXIT_WITHOUT_FJ = frozenset({"9", "7", "0"})  # death, definitive or provisional transfer
_NN_BY_UM_TYPE = {"04": "NN1", "05": "NN2", "06": "NN3"}
_NO_FJ_MODE_TYPES = frozenset({"EXTERNE", "DOMICILE"})


class UcdDetail(NamedTuple):
    """B2 type 3H: the drug of a PH8 line."""

    code: str  # UCD as sent in FICHCOMP (UCD13 or UCD7)
    fractionnement: Decimal  # 1 for whole units, else the administered fraction
    prix_achat: Decimal  # unit purchase price (€, 2 decimals)
    quantite: int
    montant: Decimal  # purchase price × number administered


class LppDetail(NamedTuple):
    """B2 type 3F: the device of a DMI line."""

    code: str  # LPP code
    quantite: int
    tarif: Decimal  # unit price used as tarif de référence (purchase price: no LPP list shipped)
    prix_achat: Decimal  # unit purchase price
    montant: Decimal  # purchase price × number implanted


class InvoiceLine(NamedTuple):
    """What a B2 type 3 line (and its 3H/3F) needs. Amounts in euros. (An immutable NamedTuple:
    cheap to build, read by attribute name.)"""

    code_prestation: str
    mode_traitement: str
    discipline: str
    date_debut: date
    date_fin: date
    quantite: int
    prix_unitaire: Decimal
    coefficient: Decimal  # tariff coefficient applied (prudentiel × MCO × géographique), 4 dp
    base_remboursement: Decimal
    taux: int  # percent
    montant_amo: Decimal
    montant_total: Decimal
    num_ghs: str = ""
    justif_exo_tm: str = ""
    code_pec_fj: str = ""
    code_participation: str = ""  # 'A' when the participation forfaitaire applies
    informative: bool = False  # TJC lines: carried on the invoice, not in its totals
    ucd: UcdDetail | None = None
    lpp: LppDetail | None = None


class Valorisation(NamedTuple):
    lines: tuple[InvoiceLine, ...]
    total: Decimal
    total_amo: Decimal
    findings: tuple[Finding, ...]
    ghs: str | None = None
    campaign: int | None = None
    finess_geo: str | None = None  # FINESS géographique of the UM of the last RUM
    ticket_moderateur: Decimal = _ZERO  # TM computed on the TJC lines (before FJ imputation)
    participation_forfaitaire: Decimal = _ZERO
    expected_vidhosp: Mapping[str, Decimal] = MappingProxyType({})  # mt_* recomputed

    @property
    def blocking(self) -> bool:
        return any(CODES[f.code].severity == "E" for f in self.findings)

    @property
    def referential_error(self) -> bool:
        return any(f.code in REFERENTIAL_ERROR_CODES for f in self.findings)


def _q2(x: Decimal) -> Decimal:
    return x.quantize(CENT, ROUND_HALF_UP)


def _money3(value) -> Decimal:
    """M 7+3 fields (FICHCOMP): Decimal as given; a raw int is in thousandths."""
    if isinstance(value, int):
        return Decimal(value) / 1000
    return money(value)


def _d(x: date) -> str:
    return x.strftime("%d/%m/%Y")


class _Blocks:
    """The DMT blocks of the VIDHOSP with valid dates, to find the block of a day."""

    __slots__ = ("blocks", "main")

    def __init__(self, v: dict, sortie: date, nights: int) -> None:
        self.blocks = [
            b for b in (v.get("DMT") or ())
            if isinstance(b.get("dmt_date_debut"), date) and isinstance(b.get("dmt_date_fin"), date)
        ]
        main = None
        last_day = sortie - _ONE_DAY if nights > 0 else sortie
        for b in self.blocks:  # the block of the last billed day, else the last block
            if b["dmt_date_debut"] <= last_day <= b["dmt_date_fin"]:
                main = b
        self.main = main or (self.blocks[-1] if self.blocks else None)

    def at(self, day: date):
        for b in reversed(self.blocks):  # a shared mutation day belongs to the later block
            if b["dmt_date_debut"] <= day <= b["dmt_date_fin"]:
                return b
        return None

    @staticmethod
    def mode_disc(b, default_mode: str) -> tuple[str, str]:
        if b is None:
            return default_mode, ""
        return (b.get("dmt_mode_traitement") or "") or default_mode, (b.get("dmt_discipline") or "")


def valorise(d: DossierData, ctx: ValidationContext) -> Valorisation:
    refs, params = ctx.refs, ctx.params
    f = facts_of(d)
    v = d.vidhosp or {}
    findings: list[Finding] = []
    add = findings.append

    if not f.complete or f.entree is None or f.sortie is None or f.nights is None or f.nights < 0:
        add(Finding("FAC009", "dossier incomplet ou dates de séjour absentes"))
        return Valorisation((), _ZERO, _ZERO, tuple(findings))
    entree, sortie, nights = f.entree, f.sortie, f.nights
    if f.taux is None:
        add(Finding("FAC009", "taux de remboursement absent et non déductible (exonération, nature)"))
        return Valorisation((), _ZERO, _ZERO, tuple(findings))

    # FINESS géographique: every UM must have one; the invoice takes the last RUM's
    finess_geo = None
    for r in d.rums:
        um = r.get("num_um") or ""
        day = r.get("date_sortie_um") or r.get("date_entree_um") or sortie
        geo = ctx.um_finess_geo(um, day) if um else None
        if geo is None:
            add(Finding("FAC003", f"UM {um or '(vide)'} au {_d(day)}"))
        finess_geo = geo

    exo = f.exo
    pec_fj = v.get("code_pec_fj") or ""
    blocks = _Blocks(v, sortie, nights)
    default_mode = "03" if nights > 0 else "04"
    main_mode, main_disc = _Blocks.mode_disc(blocks.main, default_mode)

    # coefficient = prudentiel × MCO × géographique
    prud = params.coefficient_prudentiel
    if prud is None:
        prud = refs.coefficient_prudentiel(sortie)
        if prud is None:
            add(Finding("FAC006", f"campagne de la sortie du {_d(sortie)}"))
            prud = _ONE
    coef = _coefficient(prud, params.coefficient_mco, params.coefficient_geographique)

    # participation forfaitaire ("facturation du 18 €", 24 € since 2019)
    pf = _ZERO
    if (v.get("facturation_18e") or "") == "1":
        if f.nature in ("30", "41") or f.newborn:
            add(Finding("FAC017", f"nature d'assurance {f.nature}" + (", nouveau-né" if f.newborn else "")))
        else:
            amount = refs.participation_forfaitaire(sortie)
            if amount is None:
                add(Finding("FAC008", f"au {_d(sortie)}"))
            else:
                pf = amount
    taux = 100 if pf else f.taux
    lines: list[InvoiceLine] = []

    # --- GHS, EXB, EXH ------------------------------------------------------------------------
    ghs = refs.ghs_of_ghm(f.ghm, sortie)
    campaign = None
    if ghs is None:
        add(Finding("FAC001", f"GHM {f.ghm or '(vide)'} au {_d(sortie)}"))
    else:
        tariff = refs.ghs_tariff(ghs, sortie) if ghs != "9999" else None
        if tariff is None:
            add(Finding("FAC002", f"GHS {ghs} (GHM {f.ghm}) au {_d(sortie)}"))
        else:
            campaign = tariff.campaign
            qty = 1
            if f.ghm.startswith("28"):  # séances: one GHS per séance
                qty = sum((r.get("nb_seances") or 0) for r in d.rums) or 1
            base = _q2(tariff.tarif_base * qty * coef)
            amo = base - pf if pf else _q2(base * taux / _HUNDRED)
            lines.append(InvoiceLine(
                "GHS", main_mode, main_disc, entree, sortie, qty, tariff.tarif_base, coef, base,
                taux, amo, base, ghs, exo, pec_fj, "A" if pf else "",
            ))
            bb, bh = tariff.borne_basse, tariff.borne_haute
            if nights < bb and (tariff.forfait_exb > 0 or tariff.tarif_exb > 0):
                if tariff.forfait_exb > 0:
                    q, pu = 1, tariff.forfait_exb
                else:
                    q, pu = bb - nights, tariff.tarif_exb
                base = -_q2(pu * q * coef)
                lines.append(InvoiceLine(
                    "EXB", main_mode, main_disc, entree, sortie, q, pu, coef, base, taux,
                    -_q2(-base * taux / _HUNDRED), base, ghs, exo,
                ))
            if tariff.tarif_exh > 0 and nights > bh:
                q = nights - bh
                base = _q2(tariff.tarif_exh * q * coef)
                lines.append(InvoiceLine(
                    "EXH", main_mode, main_disc, entree + timedelta(days=bh), sortie, q,
                    tariff.tarif_exh, coef, base, taux, _q2(base * taux / _HUNDRED), base, ghs, exo,
                ))
    ghs_lines_total = ghs_lines_amo = _ZERO
    for ln in lines:
        ghs_lines_total += ln.base_remboursement
        ghs_lines_amo += ln.montant_amo

    # --- supplements ----------------------------------------------------------------------------
    fichcomp = d.fichcomp or {}

    def supplement(code: str, qty: int, start: date, end: date, rate_taux: int) -> None:
        if qty <= 0:
            return
        pu = refs.supplement_tariff(code, sortie)
        if pu is None:
            add(Finding("FAC005", f"{code} au {_d(sortie)}"))
            return
        base = _q2(pu * qty * coef)
        mode, disc = _Blocks.mode_disc(blocks.at(start) or blocks.main, default_mode)
        lines.append(InvoiceLine(
            code, mode, disc, start, end, qty, pu, coef, base, rate_taux,
            _q2(base * rate_taux / _HUNDRED), base, "", exo,
        ))

    for line in fichcomp.get("03", ()):  # prélèvements d'organes: 100 %
        start = line.get("date_debut") or sortie
        supplement((line.get("code") or ""), line.get("nombre") or 1, start, start, 100)
    for ftype in ("04", "07"):  # PIE (REA, SRC, STF, NN1-3), DIP
        for line in fichcomp.get(ftype, ()):
            start = line.get("date_debut") or entree
            end = line.get("date_fin") or start
            supplement((line.get("code") or ""), line.get("nombre") or 0, start, end, taux)
    if ctx.um_type is not None:
        for r in d.rums:
            din, dout = r.get("date_entree_um"), r.get("date_sortie_um")
            if not isinstance(din, date) or not isinstance(dout, date):
                continue
            um_type = ctx.um_type((r.get("num_um") or ""), din)
            code = _rss_supplement(refs, um_type, r)
            if code:
                days = (dout - din).days + (1 if (r.get("mode_sortie_um") or "") == "9" else 0)
                supplement(code, days, din, dout, taux)

    # --- forfait journalier ----------------------------------------------------------------------
    fj_total = fj_exit = _ZERO
    payer = pec_fj if pec_fj in FJ_CODES else "A"
    if nights > 0:
        if f.nature in ("30", "41") or f.newborn:
            if payer == "A":
                add(Finding("FAC018", f"code {pec_fj or '(vide)'} ; FJ à la charge du régime "
                                      f"(nature {f.nature}{', nouveau-né' if f.newborn else ''})"))
                payer = "R"
        fj_code = FJ_CODES[payer]
        fj_taux = 0 if payer == "A" else 100
        last_day = sortie if f.exit_mode not in _EXIT_WITHOUT_FJ else sortie - timedelta(days=1)
        for start, end, block, due, psy in _fj_segments(refs, blocks, entree, last_day):
            if not due:
                continue
            day = start
            while day <= end:
                period = refs.fj_period(day)
                if period is None:
                    add(Finding("FAC004", f"au {_d(day)}"))
                    break
                amount = period[1] if psy else period[0]
                stop = end if period[2] is None or period[2] >= end else period[2]
                days = (stop - day).days + 1
                _fj_line(lines, day, stop, amount, days, block, fj_code, fj_taux, payer, exo, default_mode)
                if stop == sortie:
                    fj_exit = amount
                day = stop + timedelta(days=1)
                fj_total += lines[-1].montant_total
    fj_excl_exit = fj_total - fj_exit

    # --- TJC (one per DMT block) and ticket modérateur -------------------------------------------
    tm_total = _ZERO
    if not f.ivg_or_po:
        hosp_start = f.hosp_start or entree
        starts = {b["dmt_date_debut"] for b in blocks.blocks}
        for i, b in enumerate(blocks.blocks, start=1):
            deb, fin = b["dmt_date_debut"], b["dmt_date_fin"]
            if fin in starts and fin > deb:
                fin = fin - _ONE_DAY  # the mutation day is billed in the next block
            if nights > 0 and fin >= sortie:
                if fin == sortie:
                    add(Finding("FAC016", f"DMT {i} ({_d(deb)}–{_d(fin)})"))
                fin = sortie - timedelta(days=1)
            qty = (fin - deb).days + 1
            if qty <= 0:
                continue
            disc = b.get("dmt_discipline") or ""
            dmt_pu = money(b.get("dmt_prix_unitaire"))
            rate = params.daily_rate(disc)
            if rate is None:
                if dmt_pu > 0:
                    rate = dmt_pu
                else:
                    add(Finding("FAC007", f"discipline {disc or '(vide)'}"))
                    continue
            elif dmt_pu > 0 and dmt_pu != rate:
                add(Finding("FAC015", f"DMT {i} discipline {disc} : {dmt_pu} € au VIDHOSP, {rate} € paramétré"))
            base = _q2(rate * qty)
            lines.append(InvoiceLine(
                "TJC", (b.get("dmt_mode_traitement") or "") or default_mode, disc, deb, fin, qty, rate,
                _ONE, base, 0, _ZERO, base, "", exo, "", "", True,
            ))
            if taux < 100:
                # the TM covers the first 30 days of the hospitalisation (FAQ §5.5, fiche RAC)
                limit = hosp_start + timedelta(days=29)
                tm_days = (min(fin, limit) - deb).days + 1
                if tm_days > 0:
                    tm_total += _q2(rate * tm_days * (100 - taux) / _HUNDRED)

    # --- MED en sus (06, 09) and DMI (02): 100 %, no TM ------------------------------------------
    for ftype in ("06", "09"):
        for line in fichcomp.get(ftype, ()):
            nb = _money3(line.get("nb_administre"))
            amount = _q2(_money3(line.get("prix_achat_total")))
            day = line.get("date_administration") or sortie
            ucd = line.get("code_ucd") or ""
            if nb <= 0 or amount <= 0:
                add(Finding("FAC019", f"MED {ucd} du {_d(day)} : nombre {nb}, montant {amount}"))
                continue
            if not entree <= day <= sortie:
                add(Finding("FAC020", f"MED {ucd} administré le {_d(day)}"))
            whole = nb == nb.to_integral_value()
            detail = UcdDetail(
                ucd, _ONE if whole else nb, _q2(amount / nb), int(nb) if whole else 1, amount,
            )
            mode, disc = _Blocks.mode_disc(blocks.at(day) or blocks.main, default_mode)
            lines.append(InvoiceLine(
                "PH8", mode, disc, day, day, 1, amount, _ONE, amount, 100, amount, amount, "", exo,
                ucd=detail,
            ))
    for line in fichcomp.get("02", ()):
        count = line.get("nombre") or 0
        amount = _q2(_money3(line.get("montant")))
        day = line.get("date_debut") or sortie
        lpp = line.get("code") or ""
        if count <= 0 or amount <= 0:
            add(Finding("FAC019", f"DMI {lpp} du {_d(day)} : nombre {count}, montant {amount}"))
            continue
        if not entree <= day <= sortie:
            add(Finding("FAC020", f"DMI {lpp} posé le {_d(day)}"))
        unit = _q2(amount / count)
        mode, disc = _Blocks.mode_disc(blocks.at(day) or blocks.main, default_mode)
        lines.append(InvoiceLine(
            "PII", mode, disc, day, day, 1, amount, _ONE, amount, 100, amount, amount, "", exo,
            lpp=LppDetail(lpp, count, unit, unit, amount),
        ))

    total = total_amo = _ZERO
    for ln in lines:
        total_amo += ln.montant_amo
        if not ln.informative:
            total += ln.montant_total

    # --- cross-check with the VIDHOSP amounts (FAQ §3.2 definitions) ----------------------------
    exonerated = taux >= 100
    if exonerated:
        exp_amo = ghs_lines_total - pf + (fj_total if payer in ("R", "L") else _ZERO)
        exp_tm = _ZERO
    else:
        exp_amo = ghs_lines_amo + fj_excl_exit
        exp_tm = max(_ZERO, tm_total - fj_excl_exit)
    expected = {
        "mt_total_amo": exp_amo,
        "mt_base_remb": ghs_lines_total,
        "mt_fj": fj_total,
        "mt_tm": exp_tm,
    }
    if lines and not any(x.code in ("FAC001", "FAC002") for x in findings):
        _cross_check(v, expected, params.tolerance, findings)

    return Valorisation(
        tuple(lines), total, total_amo, tuple(findings), ghs, campaign, finess_geo, tm_total, pf,
        MappingProxyType(expected),
    )


_CHECKS = (
    ("mt_total_amo", "FAC010", "montant AMO"),
    ("mt_base_remb", "FAC011", "base de remboursement"),
    ("mt_fj", "FAC012", "forfait journalier"),
    ("mt_tm", "FAC013", "ticket modérateur"),
)


def _cross_check(v: dict, expected: dict[str, Decimal], tolerance: Decimal, findings: list) -> None:
    if not money(v.get("mt_total_amo")) and not money(v.get("mt_base_remb")):
        findings.append(Finding("FAC014", "mt_total_amo et mt_base_remb à zéro"))
        return
    for key, code, label in _CHECKS:
        given = money(v.get(key))
        diff = given - expected[key]
        if diff > tolerance or -diff > tolerance:
            findings.append(Finding(code, f"{label} : VIDHOSP {given} €, calculé {expected[key]} € "
                                          f"(écart {diff:+} €, tolérance {tolerance} €)"))


def _fj_line(lines: list, start: date, end: date, amount: Decimal, days: int, block, code: str,
             taux: int, payer: str, exo: str, default_mode: str) -> None:
    base = _q2(amount * days)
    mode, disc = _Blocks.mode_disc(block, default_mode)
    lines.append(InvoiceLine(
        code, mode, disc, start, end, days, amount, _ONE, base, taux,
        base if taux == 100 else _ZERO, base, "", exo, payer,
    ))


def _fj_segments(refs, blocks: _Blocks, first: date, last: date):
    """(start, end, DMT block, FJ due, psychiatry) runs covering first..last. A day outside every
    DMT block goes with the block before it (the exit day after a block ending at sortie - 1)."""
    if last < first:
        return []
    spans = [(b["dmt_date_debut"].toordinal(), b["dmt_date_fin"].toordinal(), b) for b in blocks.blocks]
    runs = _runs(spans, first.toordinal(), last.toordinal())
    out = []
    for lo, hi, b in runs:
        if b is None:
            due, psy = True, False
        else:
            due = refs.mode_traitement_type((b.get("dmt_mode_traitement") or "")) not in _NO_FJ_MODE_TYPES
            psy = refs.is_psychiatry_discipline((b.get("dmt_discipline") or ""))
        out.append((date.fromordinal(lo), date.fromordinal(hi), b, due, psy))
    return out


def _runs(spans: list[tuple[int, int, dict]], first: int, last: int) -> list[list]:
    """[start, end, block] runs of the days first..last (ordinals), each day with the last of
    the `spans` (start, end, block) holding it, else with the block of the day before (None)."""
    if len(spans) == 1 and spans[0][0] <= first <= spans[0][1]:
        return [[first, last, spans[0][2]]]  # the common case: one block from the first day on, and after it
    runs: list[list] = []
    current = None
    for o in range(first, last + 1):
        b = current
        for lo, hi, blk in reversed(spans):  # a shared mutation day belongs to the later block
            if lo <= o <= hi:
                b = blk
                break
        if runs and b is current:
            runs[-1][1] = o
        else:
            runs.append([o, o, b])
            current = b
    return runs


def _rss_supplement(refs, um_type: str | None, rum: dict) -> str | None:
    """Daily supplement of a RUM from its UM's authorisation type (PROPOSED simplification)."""
    if not um_type:
        return None
    um_type = um_type.strip()
    if um_type in _NN_BY_UM_TYPE:
        return _NN_BY_UM_TYPE[um_type]
    row = refs.um_type(um_type)
    if row is None:
        return None
    if row.get("flag_rea") == "1":
        if um_type.startswith("13"):
            return "REP"
        igs2 = rum.get("igs2") or 0
        return "REA" if igs2 >= 15 else "SRC"
    if row.get("flag_si") == "1":
        return "STF"
    if row.get("flag_sc") == "1":
        return "SRC"
    return None

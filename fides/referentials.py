"""Referential tables: the pure loader of the shipped CSVs and the in-memory lookups.

`read_shipped(directory)` yields every row of every table listed in `<directory>/manifest.toml`
as a `RefRow` (table, key, validity dates, raw string data). `Referentials.from_rows(rows)` builds
the lookups from those rows, whatever their origin: the shipped files, or the rows the database
adapter reads back from PostgreSQL. Every lookup used per dossier is a dict access prepared at
construction, so validation and valorisation stay cheap.

Table names are the CSV file stems (`regimes`, `nature_assurance`, `exoneration_tm`, ...), except
`ghs_tarifs`, whose rows come from one file per tariff campaign. A composite key joins its columns
with `|` (`caisses_01_02`: "01|751"; `ghm_ghs_mapping`: "06C091|1955").

Tariff campaigns start on 1 March: `campaign_of(date(2025, 2, 28)) == 2024` and
`campaign_of(date(2025, 3, 1)) == 2025`.
"""

from __future__ import annotations

import csv
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

__all__ = [
    "RefRow",
    "GhsTariff",
    "Referentials",
    "ReferentialError",
    "read_shipped",
    "load_shipped",
    "default_directory",
    "campaign_of",
    "campaign_bounds",
    "KEY_SEPARATOR",
]

KEY_SEPARATOR = "|"


class ReferentialError(ValueError):
    """The manifest or a shipped file is malformed (a packaging error, never a data error)."""


@dataclass(frozen=True, slots=True)
class RefRow:
    table: str
    key: str
    valid_from: date | None
    valid_to: date | None
    data: dict[str, str]


@dataclass(frozen=True, slots=True)
class GhsTariff:
    """One GHS of one campaign. Amounts in euros; bornes in days (nights)."""

    ghs: str
    ghm: str
    campaign: int
    tarif_base: Decimal
    borne_basse: int
    borne_haute: int
    forfait_exb: Decimal  # one-off EXB deduction (0 when EXB is per day)
    tarif_exb: Decimal  # EXB per day below the borne basse
    tarif_exh: Decimal  # EXH per day above the borne haute
    date_effet: date | None
    libelle: str = ""


# --- campaigns --------------------------------------------------------------------------------


def campaign_of(on: date) -> int:
    """The tariff campaign in force on a date: campaigns start on 1 March."""
    return on.year if on.month >= 3 else on.year - 1


def campaign_bounds(year: int) -> tuple[date, date]:
    """First and last day of campaign `year` (N-03-01 .. N+1-02-28/29)."""
    return date(year, 3, 1), date(year + 1, 3, 1) - timedelta(days=1)


# --- reading the shipped files ----------------------------------------------------------------


def default_directory() -> Path:
    """`referentials/` at the root of the source tree (beside the `fides` package)."""
    return Path(__file__).resolve().parent.parent / "referentials"


def _date(value: object, where: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ReferentialError(f"{where}: date ISO attendue, reçu {value!r}") from None


def _campaign_year(value: str, where: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ReferentialError(f"{where}: année de campagne attendue, reçu {value!r}") from None


def read_shipped(directory: Path) -> Iterator[RefRow]:
    """Every row of every table listed in `directory/manifest.toml`, in manifest then file order."""
    directory = Path(directory)
    manifest_path = directory / "manifest.toml"
    try:
        manifest = tomllib.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ReferentialError(f"{manifest_path}: {exc}") from None
    for entry in manifest.get("table", []):
        yield from _read_entry(directory, entry)


def _read_entry(directory: Path, entry: dict) -> Iterator[RefRow]:
    name = entry["name"]
    path = directory / entry["file"]
    where = f"{entry['file']}"
    key_cols = entry["key"]
    validity = entry.get("validity", "always")
    fixed_from = _date(entry.get("valid_from"), where)
    fixed_to = _date(entry.get("valid_to"), where)
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in key_cols if c not in (reader.fieldnames or ())]
        if missing:
            raise ReferentialError(f"{where}: colonnes clés absentes {missing}")
        for line_no, rec in enumerate(reader, start=2):
            loc = f"{where}:{line_no}"
            key = KEY_SEPARATOR.join(rec[c].strip() for c in key_cols)
            if validity == "always":
                vf, vt = None, None
            elif validity == "dates":
                vf, vt = fixed_from, fixed_to
            elif validity == "campaign":
                year = _campaign_year(rec[entry["campaign_column"]], loc)
                vf, vt = campaign_bounds(year)
            elif validity == "campaign_range":
                first = _campaign_year(rec[entry["first_campaign_column"]], loc)
                last = _campaign_year(rec[entry["last_campaign_column"]], loc)
                vf, vt = campaign_bounds(first)[0], campaign_bounds(last)[1]
            elif validity == "columns":
                vf = _date(rec.get(entry["from_column"]), loc)
                vt = _date(rec.get(entry["to_column"]), loc)
            else:
                raise ReferentialError(f"{where}: validité inconnue {validity!r}")
            data = {k: (v if v is not None else "") for k, v in rec.items() if k is not None}
            yield RefRow(name, key, vf, vt, data)


def load_shipped(directory: Path | None = None) -> Referentials:
    """Convenience for tests and tools: the shipped tables, straight from the files."""
    return Referentials.from_rows(read_shipped(directory or default_directory()))


# --- lookups ----------------------------------------------------------------------------------

_MIN = date.min.toordinal()
_MAX = date.max.toordinal()


def _dec(value: str | None) -> Decimal:
    if value is None or value.strip() == "":
        return Decimal(0)
    try:
        return Decimal(value.strip())
    except InvalidOperation:
        return Decimal(0)


def _int(value: str | None) -> int:
    try:
        return int((value or "0").strip() or 0)
    except ValueError:
        return 0


class _Dated:
    """key -> list of (from ordinal, to ordinal, value), scanned on lookup (lists are tiny)."""

    __slots__ = ("by_key",)

    def __init__(self) -> None:
        self.by_key: dict[str, list[tuple[int, int, object]]] = {}

    def add(self, key: str, vf: date | None, vt: date | None, value: object) -> None:
        lo = vf.toordinal() if vf else _MIN
        hi = vt.toordinal() if vt else _MAX
        self.by_key.setdefault(key, []).append((lo, hi, value))

    def sort(self) -> None:
        for periods in self.by_key.values():
            periods.sort(key=lambda p: p[0])

    def get(self, key: str, on: date | None):
        periods = self.by_key.get(key)
        if not periods:
            return None
        if on is None:
            return periods[-1][2]
        o = on.toordinal()
        for lo, hi, value in reversed(periods):  # the most recent period wins on overlap
            if lo <= o <= hi:
                return value
        return None

    def keys_on(self, on: date) -> frozenset[str]:
        o = on.toordinal()
        return frozenset(k for k, ps in self.by_key.items() if any(lo <= o <= hi for lo, hi, _ in ps))


class Referentials:
    """In-memory referential lookups. Build with `from_rows`; immutable afterwards."""

    def __init__(self) -> None:  # use from_rows
        self._tables: dict[str, _Dated] = {}
        self._all_codes: dict[str, frozenset[str]] = {}
        self._codes_on: dict[tuple[str, date], frozenset[str]] = {}
        self._ghs: _Dated = _Dated()
        self._ghm_ghs: dict[str, list[tuple[int, int, str]]] = {}
        self._ghs_of_ghm_cache: dict[tuple[str, int], str | None] = {}
        self._dialysis: frozenset[str] = frozenset()
        self._innovation: dict[str, Decimal] = {}
        self._ghs_9999: dict[str, str] = {}
        self._regimes_ok: frozenset[str] = frozenset()
        self._supplements: _Dated = _Dated()
        self._fj: list[tuple[int, int, Decimal, Decimal]] = []
        self._pf: list[tuple[int, int, Decimal]] = []
        self._coef_prud: dict[int, Decimal] = {}
        self._mode_type: dict[str, str] = {}
        self._psy_disciplines: frozenset[str] = frozenset()
        self._um_types: dict[str, dict[str, str]] = {}

    # construction -------------------------------------------------------------------------

    @classmethod
    def from_rows(cls, rows: Iterable[RefRow]) -> Referentials:
        self = cls()
        for r in rows:
            t = self._tables.get(r.table)
            if t is None:
                t = self._tables[r.table] = _Dated()
            t.add(r.key, r.valid_from, r.valid_to, r.data)
            self._index(r)
        for t in self._tables.values():
            t.sort()
        self._ghs.sort()
        self._supplements.sort()
        for periods in self._ghm_ghs.values():
            periods.sort()
        self._fj.sort()
        self._pf.sort()
        self._all_codes = {name: frozenset(t.by_key) for name, t in self._tables.items()}
        return self

    def _index(self, r: RefRow) -> None:
        d = r.data
        table = r.table
        if table == "ghs_tarifs":
            ghs = d.get("ghs", r.key).strip()
            campaign = _int(d.get("anseqta")) or (campaign_of(r.valid_from) if r.valid_from else 0)
            tariff = GhsTariff(
                ghs=ghs,
                ghm=d.get("ghm", "").strip(),
                campaign=campaign,
                tarif_base=_dec(d.get("tarif_base")),
                borne_basse=_int(d.get("borne_basse")),
                borne_haute=_int(d.get("borne_haute")),
                forfait_exb=_dec(d.get("forfait_exb")),
                tarif_exb=_dec(d.get("tarif_exb")),
                tarif_exh=_dec(d.get("tarif_exh")),
                date_effet=_safe_date(d.get("date_effet")),
                libelle=d.get("libelle_ghm", ""),
            )
            self._ghs.add(ghs, r.valid_from, r.valid_to, tariff)
            ghm = tariff.ghm
            if ghm:  # the tariff rows also say which GHM a GHS belongs to
                self._add_ghm_ghs(ghm, ghs, r.valid_from, r.valid_to)
        elif table == "ghm_ghs_mapping":
            self._add_ghm_ghs(d.get("ghm", "").strip(), d.get("ghs", "").strip(), r.valid_from, r.valid_to)
        elif table == "forfaits_dialyse":
            if d.get("est_forfait", "").strip() == "1":
                self._dialysis = self._dialysis | {r.key}
        elif table == "forfaits_innovation":
            self._innovation[r.key] = _dec(d.get("tarif"))
        elif table == "ghs_9999_non_valorises":
            self._ghs_9999[r.key] = d.get("categorie", "").strip() or "non_valorise"
        elif table == "regimes":
            if d.get("accepte_fides", "").strip() == "1":
                self._regimes_ok = self._regimes_ok | {r.key}
        elif table == "supplements_mco_tarifs":
            self._supplements.add(r.key, r.valid_from, r.valid_to, _dec(d.get("tarif")))
        elif table == "forfait_journalier_montants":
            lo = r.valid_from.toordinal() if r.valid_from else _MIN
            hi = r.valid_to.toordinal() if r.valid_to else _MAX
            self._fj.append((lo, hi, _dec(d.get("montant_hopital")), _dec(d.get("montant_psychiatrie"))))
        elif table == "participation_forfaitaire":
            lo = r.valid_from.toordinal() if r.valid_from else _MIN
            hi = r.valid_to.toordinal() if r.valid_to else _MAX
            self._pf.append((lo, hi, _dec(d.get("montant"))))
        elif table == "coefficient_prudentiel":
            year = _int(d.get("anseqta")) or (campaign_of(r.valid_from) if r.valid_from else 0)
            self._coef_prud[year] = _dec(d.get("coef_prudentiel"))
        elif table == "mode_traitement":
            self._mode_type[r.key] = d.get("type", "").strip()
        elif table == "discipline_prestation_dmt":
            if d.get("grande_discipline", "").strip() == "6":
                self._psy_disciplines = self._psy_disciplines | {r.key}
        elif table == "um_types_autorisation":
            self._um_types[r.key] = d

    def _add_ghm_ghs(self, ghm: str, ghs: str, vf: date | None, vt: date | None) -> None:
        if not ghm or not ghs:
            return
        lo = vf.toordinal() if vf else _MIN
        hi = vt.toordinal() if vt else _MAX
        periods = self._ghm_ghs.setdefault(ghm, [])
        if (lo, hi, ghs) not in periods:
            periods.append((lo, hi, ghs))

    # generic ------------------------------------------------------------------------------

    def tables(self) -> frozenset[str]:
        return frozenset(self._tables)

    def codes(self, table: str, on: date | None = None) -> frozenset[str]:
        """Keys of `table` (valid on `on` when given); empty for an unknown table."""
        if on is None:
            return self._all_codes.get(table, frozenset())
        k = (table, on)
        found = self._codes_on.get(k)
        if found is None:
            t = self._tables.get(table)
            found = t.keys_on(on) if t else frozenset()
            if len(self._codes_on) > 4096:
                self._codes_on.clear()
            self._codes_on[k] = found
        return found

    def row(self, table: str, key: str, on: date | None = None) -> dict[str, str] | None:
        """The row of `table` with `key` valid on `on` (the latest one when `on` is None)."""
        t = self._tables.get(table)
        return t.get(key, on) if t else None

    # GHS ------------------------------------------------------------------------------------

    def ghs_tariff(self, ghs: str, on: date) -> GhsTariff | None:
        """Tariff of `ghs` for the campaign in force on `on`."""
        return self._ghs.get(ghs, on)

    def ghs_candidates(self, ghm: str, on: date) -> tuple[str, ...]:
        """Every GHS of `ghm` in the campaign in force on `on`, in GHS order."""
        periods = self._ghm_ghs.get(ghm)
        if not periods:
            return ()
        o = on.toordinal()
        return tuple(sorted({ghs for lo, hi, ghs in periods if lo <= o <= hi}))

    def ghs_of_ghm(self, ghm: str, on: date) -> str | None:
        """The GHS billed for `ghm` in the campaign in force on `on`.

        When a GHM has several GHS (minorated 5xxx GHS, GHS reserved to some acts or units), the
        RSS groupé does not say which applies: fides takes the lowest GHS number below 5000, else
        the lowest one (PROPOSED, see docs/valorisation.md). A GHM of `ghs_9999_non_valorises`
        gives "9999"."""
        k = (ghm, campaign_of(on))
        if k in self._ghs_of_ghm_cache:
            return self._ghs_of_ghm_cache[k]
        candidates = self.ghs_candidates(ghm, on)
        main = [g for g in candidates if g < "5000"]
        chosen = (main or list(candidates) or [None])[0]
        if chosen is None and ghm in self._ghs_9999:
            chosen = "9999"  # esthétique, confort, IVG < 3 jours, mort-nés, erreurs: no tariff
        self._ghs_of_ghm_cache[k] = chosen
        return chosen

    def ghs_9999_category(self, ghm: str) -> str | None:
        """'esthetique', 'confort_non_pris_en_charge_AMO', 'non_valorise' or None."""
        return self._ghs_9999.get(ghm)

    # forfaits -----------------------------------------------------------------------------

    def is_dialysis_forfait(self, code: str) -> bool:
        return code in self._dialysis

    def dialysis_forfait_codes(self) -> frozenset[str]:
        return self._dialysis

    def is_innovation_forfait(self, code: str) -> bool:
        return code in self._innovation

    def innovation_tariff(self, code: str) -> Decimal | None:
        return self._innovation.get(code)

    # amounts by date ----------------------------------------------------------------------

    def fj_amount(self, on: date, psychiatry: bool = False) -> Decimal | None:
        """Forfait journalier per day on `on` (hospital, or psychiatry)."""
        o = on.toordinal()
        for lo, hi, hosp, psy in reversed(self._fj):
            if lo <= o <= hi:
                return psy if psychiatry else hosp
        return None

    def fj_period(self, on: date) -> tuple[Decimal, Decimal, date | None] | None:
        """(hospital amount, psychiatry amount, last day of that amount or None) on `on`."""
        o = on.toordinal()
        for lo, hi, hosp, psy in reversed(self._fj):
            if lo <= o <= hi:
                return hosp, psy, (date.fromordinal(hi) if hi != _MAX else None)
        return None

    def participation_forfaitaire(self, on: date) -> Decimal | None:
        """The 'forfait 18 €' (24 € since 2019-01-01) in force on `on`."""
        o = on.toordinal()
        for lo, hi, amount in reversed(self._pf):
            if lo <= o <= hi:
                return amount
        return None

    def coefficient_prudentiel(self, on: date) -> Decimal | None:
        """Coefficient prudentiel of the campaign in force on `on` (0.993 since 2017)."""
        return self._coef_prud.get(campaign_of(on))

    def supplement_tariff(self, code: str, on: date) -> Decimal | None:
        """Tariff of a supplement or hors-GHS item (REA, SRC, STF, NN1-3, PO1-POA, DIP...)."""
        return self._supplements.get(code, on)

    # code lists ---------------------------------------------------------------------------

    def regime_accepted(self, code: str) -> bool:
        """True for the régimes FIDES bills in B2 (01 and 02)."""
        return code in self._regimes_ok

    def mode_traitement_type(self, code: str) -> str | None:
        """'SEJOURNE', 'EXTERNE', 'DOMICILE' or None for an unknown mode."""
        return self._mode_type.get(code)

    def is_psychiatry_discipline(self, code: str) -> bool:
        return code in self._psy_disciplines

    def um_type(self, code: str) -> dict[str, str] | None:
        """The UM authorisation type row (flags flag_rea, flag_si, flag_sc, flag_ped)."""
        return self._um_types.get(code.strip())


def _safe_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value and value.strip() else None
    except ValueError:
        return None

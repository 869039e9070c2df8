"""Billing parameters of the establishment, filled by the configuration layer (no file reading)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import MappingProxyType

__all__ = ["BillingParams"]


def _decimal(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass(frozen=True)
class BillingParams:
    """What valorisation and validation need from `fides.toml`.

    tjp / tjc: discipline de prestation (3-character DMT code, e.g. "101") -> € per day.
    The TJC of a discipline is used when given, else its TJP, else the unit price the VIDHOSP DMT
    block carries. coefficient_prudentiel None = the referential value of the campaign.
    tolerance: accepted difference (€) between computed and VIDHOSP amounts.
    """

    finess: str
    date_bascule: date
    budget_code: str = "00"
    tjp: Mapping[str, Decimal] = field(default_factory=dict)
    tjc: Mapping[str, Decimal] = field(default_factory=dict)
    coefficient_mco: Decimal = Decimal(1)
    coefficient_geographique: Decimal = Decimal(1)
    coefficient_prudentiel: Decimal | None = None
    tolerance: Decimal = Decimal("0.05")
    closed_exercices: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "tjp", MappingProxyType({str(k): _decimal(v) for k, v in dict(self.tjp).items()}))
        put(self, "tjc", MappingProxyType({str(k): _decimal(v) for k, v in dict(self.tjc).items()}))
        put(self, "coefficient_mco", _decimal(self.coefficient_mco))
        put(self, "coefficient_geographique", _decimal(self.coefficient_geographique))
        if self.coefficient_prudentiel is not None:
            put(self, "coefficient_prudentiel", _decimal(self.coefficient_prudentiel))
        put(self, "tolerance", _decimal(self.tolerance))
        put(self, "closed_exercices", frozenset(int(y) for y in self.closed_exercices))

    def daily_rate(self, discipline: str) -> Decimal | None:
        """TJC of the discipline, else its TJP, else None."""
        rate = self.tjc.get(discipline)
        return rate if rate is not None else self.tjp.get(discipline)

    def __hash__(self) -> int:  # mappings are not hashable: hash on the scalar fields
        return hash((self.finess, self.date_bascule, self.budget_code, self.coefficient_mco,
                     self.coefficient_geographique, self.coefficient_prudentiel, self.tolerance,
                     self.closed_exercices))

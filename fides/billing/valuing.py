"""Where a billing run values its dossiers and renders their invoices: in its own process, or, for
a large run, in helper processes (`billing.workers`).

Valuing (fides.billing.valorisation) and rendering (fides.billing.b2) are pure and take most of a
run's time; numbering titres, closing lots and every write stay with the run, in its one
transaction. A helper reads the dossiers of a chunk on its own connection: the run has locked them
(FOR UPDATE), so they cannot change until it commits and the helper reads what the run would. It
sends back each invoice rendered without its number (b2.invoice_template), which the run writes in
once the titre is allocated: the same bytes as a run in one process. Chunks are handed out in
order and their results applied in that order, a few ahead, so titres are numbered in dossier
order as before; the first is valued in the run's own process while the helpers start.
"""

from __future__ import annotations

import datetime as dt
import gc
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

import psycopg

from fides import helpers
from fides.billing import b2, numbering
from fides.billing.valorisation import REFERENTIAL_ERROR_CODES, valorise
from fides.config import Config
from fides.engine.validation import billing_params
from fides.store import dossier_data
from fides.store.db import helper_dsn
from fides.validation import FIELDS_BILLED, DossierData, ValidationContext


class Valued(NamedTuple):
    """A dossier valued, its invoice rendered without its number (b2.invoice_template), or the
    referential error (code, text) that sends it back to EN_COURS: what `Valuer.value` gives."""

    dossier_id: int
    nda: str
    problem: tuple[str, str] | None
    finess_geo: str = ""
    organisme: str = ""
    exercice: int = 0
    complement: str = ""  # of the titre the dossier holds, or of a new one of its exercice
    total: Decimal = Decimal(0)
    total_amo: Decimal = Decimal(0)
    invoice: str = ""  # its B2 records, b2.NUMBER where the titre's number goes (b2.numbered)
    synthesis_tail: str = ""

    def __reduce__(self):
        # across the helpers' pipe as a plain tuple, the amounts as text: a chunk is pickled in
        # half the time (a NamedTuple and its Decimals each cost a Python call)
        return _valued, (*self[:7], str(self.total), str(self.total_amo), *self[9:])


def _valued(*fields) -> Valued:
    return Valued(*fields[:7], Decimal(fields[7]), Decimal(fields[8]), *fields[9:])


@dataclass(frozen=True)
class Valuer:
    """Values dossiers and renders their invoices: pure, the same in the billing run's process or
    in a helper process (its own connection gave `unites`)."""

    ctx: ValidationContext
    unites: dossier_data.UnitesMedicales
    budget: str
    closed: frozenset[int]

    @classmethod
    def of(cls, conn, config: Config, refs, now: dt.datetime) -> "Valuer":
        unites = dossier_data.UnitesMedicales(conn, config.finess)
        ctx = ValidationContext(billing_params(config), refs, unites.finess_geo, now.date(), unites.type_autorisation)
        return cls(ctx, unites, config["establishment.budget_code"], frozenset(config["numbering.closed_exercices"]))

    def value(self, data: dict[int, DossierData], complements: dict[int, str]) -> list[Valued]:
        """Each dossier in id order; `complements`: those of the titres some dossiers already hold
        (ARL négatif, MANAGEREJECT C), kept on their invoice."""
        out = []
        for dossier_id in sorted(data):
            d = data[dossier_id]
            v = valorise(d, self.ctx)
            last_rum = d.rums[-1] if d.rums else {}
            geo = v.finess_geo or self.unites.finess_geo(last_rum.get("num_um", ""), last_rum.get("date_entree_um"))
            problem = None
            if geo is None:
                problem = ("LOT003", f"UM {last_rum.get('num_um', '?')}")
            elif v.findings:
                referential = [f for f in v.findings if f.code in REFERENTIAL_ERROR_CODES]
                blocking = referential[0] if referential else next((f for f in v.findings if f.blocking), None)
                if blocking is not None:
                    problem = (blocking.code, blocking.text())
            if problem is not None:
                out.append(Valued(dossier_id, d.nda, problem))
                continue
            vh = d.vidhosp
            exercice = numbering.exercice_of(vh["date_sortie"], self.ctx.today, self.closed)
            complement = complements.get(dossier_id) or numbering.complement(exercice, self.budget)
            inv = b2.Invoice(0, complement, geo, vh, v)
            out.append(Valued(dossier_id, d.nda, None, geo,
                              f"{vh['code_grand_regime']}{vh['caisse_gestionnaire']}{vh['centre_gestionnaire']:<4}",
                              exercice, complement, v.total, v.total_amo, b2.invoice_template(inv), b2.synthesis_tail(inv)))
        return out


class _Done:
    """A chunk valued here, at once: the interface of a helper's pending result (a Future)."""

    def __init__(self, valued: list[Valued]) -> None:
        self._valued = valued

    def result(self) -> list[Valued]:
        return self._valued


class InProcess:
    """Values each chunk in the run's own process, when it is handed out."""

    ahead = 0  # chunks handed out before the first result is applied

    def __init__(self, conn, valuer: Valuer) -> None:
        self.conn, self.valuer = conn, valuer

    def submit(self, ids: list[int], complements: dict[int, str]) -> _Done:
        return _Done(self.valuer.value(dossier_data.load(self.conn, ids, FIELDS_BILLED), complements))

    def close(self) -> None:
        pass


class Helpers:
    """Values chunks in `workers` helper processes (fides.helpers), each with its own connection
    and its own Valuer. A helper that dies (killed, out of memory) fails every pending result
    (BrokenProcessPool), hence the run: a multiprocessing.Pool would wait for the lost chunk for
    ever."""

    def __init__(self, conn, config: Config, now: dt.datetime, workers: int, first: InProcess) -> None:
        self.ahead = workers
        self.pool = ProcessPoolExecutor(workers, mp_context=helpers.CONTEXT,
                                        initializer=_start, initargs=(helper_dsn(conn), config, now))
        self.first: InProcess | None = first

    def submit(self, ids: list[int], complements: dict[int, str]) -> "_Pending | _Later":
        if self.first is not None:  # the run's first chunk: valued here while the helpers start
            first, self.first = self.first, None
            return _Later(first, ids, complements)
        return _Pending(self.pool.submit(_value, ids, complements))

    def close(self) -> None:
        # every result was taken, or the run failed and is rolled back: drop what is queued
        self.pool.shutdown(wait=True, cancel_futures=True)


class _Later:
    """A chunk valued in the run's process when its result is asked for, that is once the next
    chunks are handed to the helpers: it uses the ~0.25 s the helpers take to fork, connect and
    value their first chunk, when the run would only wait."""

    def __init__(self, valuer: InProcess, ids: list[int], complements: dict[int, str]) -> None:
        self.valuer, self.ids, self.complements = valuer, ids, complements

    def result(self) -> list[Valued]:
        return self.valuer.submit(self.ids, self.complements).result()


class _Pending:
    """A chunk handed to a helper: its result, once what the helper used is counted."""

    def __init__(self, future) -> None:
        self.future = future

    def result(self) -> list[Valued]:
        valued, used = self.future.result()
        helpers.account(*used)
        return valued


_helper: tuple | BaseException = ()  # in a helper process: (connection, Valuer), or why it has none


def _start(dsn: str, config: Config, now: dt.datetime) -> None:
    """A helper's start. The failure, if any, is kept and raised by the first chunk, with its
    reason (a failing initializer only says that the pool broke)."""
    from fides.store import referentials

    global _helper
    gc.disable()  # as dossier_data.gc_paused: the chunks make no reference cycle
    try:
        conn = psycopg.connect(dsn, autocommit=True, application_name="fides-billing")
        _helper = (conn, Valuer.of(conn, config, referentials.read(conn), now))
    except Exception as exc:
        _helper = exc


def _value(ids: list[int], complements: dict[int, str]) -> tuple[list[Valued], tuple[int, float]]:
    """A chunk valued in a helper, with what the helper used meanwhile (fides.helpers.usage)."""
    if isinstance(_helper, BaseException):
        raise RuntimeError(f"billing helper could not start: {_helper}") from None  # libpq never says a password
    conn, valuer = _helper
    return valuer.value(dossier_data.load(conn, ids, FIELDS_BILLED), complements), helpers.usage()

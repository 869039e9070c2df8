"""Billing: pure valorisation of validated dossiers (this package's `params` and `valorisation`),
then numbering, lots and the B2 writer (their own modules)."""

from fides.billing.params import BillingParams
from fides.billing.valorisation import (
    REFERENTIAL_ERROR_CODES,
    InvoiceLine,
    LppDetail,
    UcdDetail,
    Valorisation,
    valorise,
)

__all__ = [
    "BillingParams",
    "InvoiceLine",
    "LppDetail",
    "UcdDetail",
    "Valorisation",
    "valorise",
    "REFERENTIAL_ERROR_CODES",
]

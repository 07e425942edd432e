"""External systems the debt app talks to, as small ports (the adapters are chosen in settings).

- ``ShopperEmailLookup``: the shopper's email from Amazon's Get Shopper Identity (contract §3.6),
  asked at send time so no address is kept.
- ``BalanceBook``: Amazon's outstanding-balance book per shopper. Amazon offers no API for it;
  the simulator does (``GET /_sim/v1/balances/{id}``), so reconciliation can compare against it
  in tests and rehearsals.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class LookupRetryable(Exception):
    """The lookup may succeed later (timeout, 5xx, 429): ``retry_after`` seconds, if known."""

    def __init__(self, reason: str, *, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class LookupFailed(Exception):
    """The lookup can never succeed as asked (400, 403): give up on this notice."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ShopperEmailLookup(Protocol):
    def shopper_email(self, *, store_id: str, identity_id: str) -> str | None: ...


@dataclass(frozen=True)
class BookBalance:
    currency: str
    amount: Decimal
    trips: int


class BalanceBook(Protocol):
    def balances(self, *, identity_id: str) -> list[BookBalance]: ...


def shopper_email_lookup() -> ShopperEmailLookup:
    path = getattr(
        settings, "DEBT_SHOPPER_EMAIL_LOOKUP", "debt.adapters.identity.PaymentServiceEmailLookup"
    )
    return import_string(path)()


def balance_book(base_url: str | None = None) -> BalanceBook | None:
    """The balance book to reconcile against, or None when there is none (production)."""
    url = base_url or getattr(settings, "DEBT_BALANCE_BOOK_URL", None)
    if not url:
        return None
    from .adapters.balance_book import SimulatorBalanceBook

    return SimulatorBalanceBook(base_url=url)

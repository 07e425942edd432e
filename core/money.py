"""Money: exact decimals with their currency, and one rounding rule per call site, always explicit.

Floats never touch money. Amounts are ``Decimal``; the currency travels beside them. Minor units
appear only at an adapter's edge (Stripe).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from django.db import models

from jwo_client.wire import CURRENCY_EXPONENTS

ZERO = Decimal("0")
# Database columns: 9 integer digits as the contract allows (§0.5), 2 decimals for amounts.
AMOUNT_MAX_DIGITS = 11
AMOUNT_DECIMAL_PLACES = 2
ROUNDING_MODES = {"HALF_UP": ROUND_HALF_UP, "HALF_EVEN": ROUND_HALF_EVEN}


class CurrencyMismatch(ValueError):
    pass


def currency_exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise ValueError(f"unsupported currency {currency!r}") from None


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-currency_exponent(currency))


def round_money(amount: Decimal, currency: str, rounding: str = ROUND_HALF_UP) -> Decimal:
    """Round to the currency's minor unit; half-up unless the caller says otherwise."""
    if not isinstance(amount, Decimal):
        raise TypeError("money must be a Decimal")
    return amount.quantize(quantum(currency), rounding=rounding)


def to_minor_units(amount: Decimal, currency: str) -> int:
    rounded = round_money(amount, currency)
    if rounded != amount:
        raise ValueError("amount has more decimals than the currency allows")
    return int(rounded.scaleb(currency_exponent(currency)))


def from_minor_units(units: int, currency: str) -> Decimal:
    return Decimal(units).scaleb(-currency_exponent(currency))


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self):
        if not isinstance(self.amount, Decimal):
            raise TypeError("Money.amount must be a Decimal")
        currency_exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(round_money(ZERO, currency), currency)

    def _check(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def rounded(self, rounding: str = ROUND_HALF_UP) -> Money:
        return Money(round_money(self.amount, self.currency, rounding), self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def AmountField(**kwargs) -> models.DecimalField:
    """A money amount column (the currency lives in its own column on the same row)."""
    kwargs.setdefault("max_digits", AMOUNT_MAX_DIGITS)
    kwargs.setdefault("decimal_places", AMOUNT_DECIMAL_PLACES)
    return models.DecimalField(**kwargs)


def CurrencyField(**kwargs) -> models.CharField:
    kwargs.setdefault("max_length", 3)
    kwargs.setdefault("choices", [(code, code) for code in CURRENCY_EXPONENTS])
    return models.CharField(**kwargs)

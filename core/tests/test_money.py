from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import CurrencyMismatch, Money, from_minor_units, round_money, to_minor_units


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("2.2185", "USD", "2.22"),  # CC-7c.1: 0.742 kg at 2.99/kg = 2.21858 → 2.22
        ("2.215", "USD", "2.22"),  # half-up, not Python's default half-even
        ("2.225", "USD", "2.23"),
        ("1500.5", "JPY", "1501"),
        ("0.005", "EUR", "0.01"),
    ],
)
def test_round_money_is_half_up_at_the_currency_minor_unit(amount, currency, expected):
    assert str(round_money(Decimal(amount), currency)) == expected


def test_round_money_refuses_floats():
    with pytest.raises(TypeError):
        round_money(2.5, "USD")


def test_money_refuses_mixed_currencies_and_unknown_codes():
    with pytest.raises(CurrencyMismatch):
        Money(Decimal("1"), "USD") + Money(Decimal("1"), "EUR")
    with pytest.raises(ValueError):
        Money(Decimal("1"), "XXX")


@given(st.integers(min_value=0, max_value=10**11 - 1), st.sampled_from(["USD", "EUR", "JPY"]))
def test_minor_units_round_trip(units, currency):
    assert to_minor_units(from_minor_units(units, currency), currency) == units


def test_minor_units_refuse_sub_cent_amounts():
    with pytest.raises(ValueError):
        to_minor_units(Decimal("1.001"), "USD")

"""Wire helpers: decimals in and out, money checks (contract §0.5), timestamps, identifiers."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jwo_client import wire


def test_loads_parses_fractions_as_decimal_and_integers_as_int():
    parsed = wire.loads(b'{"amount": 15.90, "n": 3, "big": 1e2}')
    assert parsed["amount"] == Decimal("15.90")
    assert str(parsed["amount"]) == "15.90"
    assert isinstance(parsed["n"], int)
    assert isinstance(parsed["big"], Decimal)


@pytest.mark.parametrize("body", [b"", b"{", b"not json", b"\xff\xfe", b"NaN", b'{"a": Infinity}'])
def test_loads_raises_value_error_on_bad_json(body):
    with pytest.raises(ValueError):
        wire.loads(body)


def test_dumps_writes_decimal_as_exact_number_never_string():
    body = wire.dumps({"amount": Decimal("25.50"), "code": "USD", "zero": Decimal("0")})
    assert body == b'{"amount":25.50,"code":"USD","zero":0}'


def test_dumps_keeps_non_ascii_as_utf8():
    assert wire.dumps({"name": "café"}) == '{"name":"café"}'.encode()


@given(st.decimals(min_value=0, max_value=Decimal("999999999.99"), places=2, allow_nan=False))
def test_dumps_loads_round_trip_is_exact(amount):
    assert wire.loads(wire.dumps({"a": amount}))["a"] == amount


def test_money_to_wire_quantizes_to_the_exponent():
    assert str(wire.money_to_wire(Decimal("25.5"), "USD")["amount"]) == "25.50"
    assert str(wire.money_to_wire(Decimal("1500"), "JPY")["amount"]) == "1500"
    assert wire.dumps(wire.money_to_wire(Decimal("0"), "EUR")) == b'{"amount":0.00,"code":"EUR"}'


@pytest.mark.parametrize(
    ("value", "code", "allow_zero", "problem"),
    [
        (Decimal("15.90"), "USD", False, None),
        (Decimal("1500.00"), "JPY", False, None),
        (1500, "JPY", False, None),
        (0, "USD", True, None),
        (Decimal("0.00"), "USD", True, None),
        (Decimal("999999999.99"), "USD", False, None),
        (True, "USD", False, "WRONG_TYPE"),
        ("15.99", "USD", False, "WRONG_TYPE"),
        (None, "USD", False, "WRONG_TYPE"),
        (Decimal("15.999"), "USD", False, "BAD_FORMAT"),
        (Decimal("2.219"), "USD", False, "BAD_FORMAT"),
        (Decimal("1500.5"), "JPY", False, "BAD_FORMAT"),
        (Decimal("-1.00"), "USD", True, "OUT_OF_RANGE"),
        (0, "USD", False, "OUT_OF_RANGE"),
        (Decimal("1000000000.00"), "USD", False, "OUT_OF_RANGE"),
        (Decimal("10.00"), "XXX", False, "NOT_ALLOWED"),
        (Decimal("10.00"), "usd", False, "BAD_FORMAT"),
        (Decimal("10.00"), "USDX", False, "BAD_FORMAT"),
        (Decimal("10.00"), 840, False, "WRONG_TYPE"),
    ],
)
def test_wire_amount_problem_follows_contract_0_5(value, code, allow_zero, problem):
    """CC-7c.1 / FB-TC009: decimals beyond the exponent fail; trailing zeros do not count."""
    assert wire.wire_amount_problem(value, code, allow_zero=allow_zero) == problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-05-02T17:00:00Z", dt.datetime(2025, 5, 2, 17, 0, tzinfo=dt.UTC)),
        ("2025-05-02T17:00:00+00:00", dt.datetime(2025, 5, 2, 17, 0, tzinfo=dt.UTC)),
        ("2025-05-02T17:12:03.412Z", dt.datetime(2025, 5, 2, 17, 12, 3, 412000, tzinfo=dt.UTC)),
    ],
)
def test_parse_timestamp_accepts_z_offset_and_fraction(text, expected):
    assert wire.parse_timestamp(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2025-05-02 17:00:00Z",
        "2025-05-02T17:00:00",
        "2025-05-02T17:00:00+01:00",
        "",
        "2025-13-02T17:00:00Z",
        "x",
    ],
)
def test_parse_timestamp_rejects_other_forms(text):
    with pytest.raises(ValueError):
        wire.parse_timestamp(text)


def test_format_timestamp_seconds_and_millis():
    moment = dt.datetime(2025, 5, 2, 17, 12, 3, 412999, tzinfo=dt.UTC)
    assert wire.format_timestamp(moment) == "2025-05-02T17:12:03Z"
    assert wire.format_timestamp(moment, millis=True) == "2025-05-02T17:12:03.412Z"
    with pytest.raises(ValueError):
        wire.format_timestamp(dt.datetime(2025, 5, 2))


def test_identifier_patterns():
    assert wire.ID_PATTERN.fullmatch("STORE-001_a")
    assert not wire.ID_PATTERN.fullmatch("INVALID@STORE#ID")
    assert not wire.ID_PATTERN.fullmatch("")
    assert not wire.ID_PATTERN.fullmatch("abc\n")
    assert wire.SHOPPER_ID_PATTERN.fullmatch("pat.smith-1_x")
    assert wire.REFUND_REQUEST_ID_PATTERN.fullmatch("550e8400-e29b-41d4-a716-446655440000")
    assert not wire.REFUND_REQUEST_ID_PATTERN.fullmatch("550E8400-E29B-41D4-A716-446655440000")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, "MISSING"),
        (12345, "WRONG_TYPE"),
        (True, "WRONG_TYPE"),
        ("", "EMPTY"),
        ("  ", "EMPTY"),
        ("a" * 256, "TOO_LONG"),
        ("a" * 255, None),
        ("INVALID@STORE#ID", "BAD_FORMAT"),
    ],
)
def test_string_problem(value, problem):
    assert wire.string_problem(value, pattern=wire.ID_PATTERN) == problem


# Robustness of the shared parser: any malformed body is a ValueError (→ 400), never another
# exception that a view would turn into a 500 (contract §0.4, §0.5).
@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b"1e9999999999999999999999",
        b'{"amount": 1e-9999999999999999999999}',
        b'{"a": -Infinity}',
        b'{"a": 1, "a": 2}',
        b'{"outer": {"x": "1", "x": "2"}}',
    ],
    ids=["nested-arrays", "nested-objects", "huge-exp", "tiny-exp", "-inf", "dup", "dup2"],
)
def test_loads_turns_every_malformed_body_into_value_error(body):
    """§0.4: deep nesting, exponents beyond Decimal's range, non-finite constants and duplicate
    keys (ambiguous once signed) are all malformed JSON."""
    with pytest.raises(ValueError):
        wire.loads(body)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (Decimal("1e-999999999"), "BAD_FORMAT"),
        (Decimal("1e-1000000"), "BAD_FORMAT"),
        (Decimal("1e999999999"), "OUT_OF_RANGE"),
        (Decimal("1e-999999999999999999"), "BAD_FORMAT"),
        (Decimal("999999999.99"), None),
        (Decimal("1." + "0" * 60 + "1"), "BAD_FORMAT"),
        (Decimal("1500." + "0" * 60), None),
        (Decimal("0E-1000000"), None),
    ],
)
def test_wire_amount_problem_is_exact_whatever_the_exponent(value, problem):
    """§0.5 rules 3–4, exactly: a tiny positive amount is never rounded to zero and accepted,
    a huge one never overflows into an exception; Decimal's context plays no part."""
    assert wire.wire_amount_problem(value, "USD", allow_zero=True) == problem


def test_parse_timestamp_takes_ascii_digits_only():
    """§0.4: ``YYYY-MM-DDTHH:MM:SSZ`` means ASCII digits; other Unicode digits are refused."""
    with pytest.raises(ValueError):
        wire.parse_timestamp("２０２５-05-02T17:00:00Z")
    with pytest.raises(ValueError):
        wire.parse_timestamp("2025-05-02T17:00:00.٣Z")

"""Wire helpers shared by the retailer app and the simulator (contract §0.4–§0.6).

Plain Python, no Django. Money travels as JSON numbers in major units and is parsed as
``Decimal``; timestamps are ISO-8601 UTC; identifiers follow fixed patterns.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from decimal import Decimal
from typing import Any

import simplejson

CURRENCY_EXPONENTS: dict[str, int] = {"USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "JPY": 0}
CURRENCY_CODE_PATTERN = re.compile(r"^[A-Z]{3}$")
MAX_INTEGER_DIGITS = 9

# Identifier patterns (contract §0.6). Use ``.fullmatch`` so a trailing newline never passes.
ID_PATTERN = re.compile(r"^[0-9a-zA-Z_-]+$")  # storeId, shoppingTripId
SHOPPER_ID_PATTERN = re.compile(r"^[0-9a-zA-Z_.-]+$")  # shopperId.id of §3.6
REFUND_REQUEST_ID_PATTERN = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-5][0-9a-f]{3}-[089ab][0-9a-f]{3}-[0-9a-f]{12}$"
)
ID_MAX_LENGTH = 255
REFUND_REQUEST_ID_MAX_LENGTH = 36

# Problem codes (contract §1.3).
MISSING = "MISSING"
WRONG_TYPE = "WRONG_TYPE"
EMPTY = "EMPTY"
TOO_LONG = "TOO_LONG"
BAD_FORMAT = "BAD_FORMAT"
NOT_ALLOWED = "NOT_ALLOWED"
OUT_OF_RANGE = "OUT_OF_RANGE"

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|\+00:00)$",
    re.ASCII,  # ASCII digits only: int() would also read other Unicode digits
)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose names are unique: a repeated name is ambiguous, so it is refused."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        repeated = next(name for name, _ in pairs if name in seen or seen.add(name))
        raise ValueError(f"duplicate key {repeated!r}")
    return obj


def loads(body: bytes | str) -> Any:
    """Parse JSON with decimals for fractional numbers; raise ``ValueError`` on bad input.

    Every malformed input is a ``ValueError``: bad UTF-8, bad syntax, ``NaN``/``Infinity``,
    a repeated object key, nesting too deep for the parser, or a number whose exponent is
    beyond ``Decimal``'s range.
    """
    if isinstance(body, bytes | bytearray):
        body = bytes(body).decode("utf-8")  # UnicodeDecodeError is a ValueError
    try:
        return json.loads(
            body,
            parse_float=Decimal,
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_object,
        )
    except RecursionError as error:
        raise ValueError("JSON nested too deeply") from error
    except ArithmeticError as error:  # decimal.InvalidOperation for an out-of-range exponent
        raise ValueError("JSON number out of range") from error


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON; ``Decimal`` is written as a number with its exact text."""
    return simplejson.dumps(
        obj, use_decimal=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def money_to_wire(amount: Decimal, code: str) -> dict[str, Any]:
    """``{"amount": <Decimal with the currency's decimals>, "code": code}``."""
    exponent = CURRENCY_EXPONENTS[code]
    quantum = Decimal(1).scaleb(-exponent)
    return {
        "amount": Decimal(amount).quantize(quantum, rounding=decimal.ROUND_HALF_UP),
        "code": code,
    }


def format_amount(amount: Decimal, code: str) -> str:
    """Decimal text with exactly the currency's decimals (CSV, logs)."""
    return str(money_to_wire(amount, code)["amount"])


def wire_amount_problem(value: Any, code: Any, *, allow_zero: bool) -> str | None:
    """The problem code for a wire amount, or ``None`` when it is acceptable (contract §0.5).

    ``value`` is the parsed JSON number (int or Decimal), ``code`` the ISO-4217 code.
    """
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        return WRONG_TYPE
    if not isinstance(code, str):
        return WRONG_TYPE
    if not CURRENCY_CODE_PATTERN.fullmatch(code):
        return BAD_FORMAT
    if code not in CURRENCY_EXPONENTS:
        return NOT_ALLOWED
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        return BAD_FORMAT
    if number < 0 or (number == 0 and not allow_zero):
        return OUT_OF_RANGE
    if number == 0:
        return None
    # Exact digit arithmetic on the tuple: no Decimal context (precision 28, Emax 999999) may
    # round a long or tiny amount into an acceptable one, or overflow into an exception.
    _sign, digits, exponent = number.as_tuple()
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    decimals = max(0, -(int(exponent) + trailing_zeros))
    if decimals > CURRENCY_EXPONENTS[code]:
        return BAD_FORMAT
    if number.adjusted() >= MAX_INTEGER_DIGITS:
        return OUT_OF_RANGE
    return None


def parse_timestamp(text: str) -> dt.datetime:
    """Parse ``YYYY-MM-DDTHH:MM:SS[.fff]Z`` or ``…+00:00`` into an aware UTC datetime."""
    if not isinstance(text, str):
        raise ValueError("timestamp must be a string")
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise ValueError(f"not an ISO-8601 UTC timestamp: {text!r}")
    year, month, day, hour, minute, second, fraction, _zone = match.groups()
    micros = int((fraction or "0").ljust(6, "0")[:6])
    return dt.datetime(
        int(year),
        int(month),
        int(day),
        int(hour),
        int(minute),
        int(second),
        micros,
        tzinfo=dt.UTC,
    )


def format_timestamp(moment: dt.datetime, millis: bool = False) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` (or ``.mmmZ`` with ``millis``) in UTC; naive is refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime")
    moment = moment.astimezone(dt.UTC)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def string_problem(
    value: Any,
    *,
    pattern: re.Pattern[str] | None = None,
    max_length: int = ID_MAX_LENGTH,
) -> str | None:
    """Problem code for a required string field (contract §0.4, §0.6), or ``None``."""
    if value is None:
        return MISSING
    if not isinstance(value, str):
        return WRONG_TYPE
    if not value.strip():
        return EMPTY
    if len(value) > max_length:
        return TOO_LONG
    if pattern is not None and not pattern.fullmatch(value):
        return BAD_FORMAT
    return None

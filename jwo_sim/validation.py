"""Field checks of the Payment Service requests (contract §0.4–§0.6, §3, §4) and API errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from jwo_client import wire


class ApiError(Exception):
    """An answer other than the operation's success: status, JSON body, extra headers."""

    def __init__(self, status: int, body: dict | None, headers: dict[str, str] | None = None):
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def error(status: int, message: str, **extra: Any) -> ApiError:
    return ApiError(status, {"errorMsg": message, **extra})


def bad_request(details: list[dict] | None = None) -> ApiError:
    body: dict[str, Any] = {"errorMsg": "BadRequestException"}
    if details:
        body["details"] = details
    return ApiError(400, body)


def unknown_trip() -> ApiError:
    return error(400, "UnknownShoppingTrip")


def trip_expired() -> ApiError:
    return error(400, "ShoppingTripExpiredException")


def refund_window_expired() -> ApiError:
    return error(400, "RefundWindowExpiredException")


REFUND_REASONS = ("DAMAGED_ITEM", "EXPIRED_ITEM", "UNWANTED_ITEM", "JWO_TECH_ERROR", "OTHER")


class Checker:
    """Collects ``{"field", "problem"}`` entries; ``done()`` raises the 400 if any."""

    def __init__(self, body: dict, database: Any):
        self.body = body
        self.database = database
        self.details: list[dict] = []
        self.store: dict | None = None

    def problem(self, field: str, problem: str) -> None:
        self.details.append({"field": field, "problem": problem})

    def string(self, field: str, value: Any, pattern=wire.ID_PATTERN, max_length=255) -> Any:
        problem = wire.string_problem(value, pattern=pattern, max_length=max_length)
        if problem:
            self.problem(field, problem)
            return None
        return value

    def store_id(self) -> str | None:
        store_id = self.string("storeId", self.body.get("storeId"))
        if store_id is not None:
            self.store = self.database.get_store(store_id)
            if self.store is None:
                self.problem("storeId", "UNKNOWN")
        return store_id

    def trip_id(self) -> str | None:
        return self.string("shoppingTripId", self.body.get("shoppingTripId"))

    def money(self, field: str, *, allow_zero: bool) -> tuple[Decimal, str] | None:
        value = self.body.get(field)
        if value is None:
            self.problem(field, wire.MISSING)
            return None
        if not isinstance(value, dict):
            self.problem(field, wire.WRONG_TYPE)
            return None
        amount, code = value.get("amount"), value.get("code")
        ok = True
        if amount is None:
            self.problem(f"{field}.amount", wire.MISSING)
            ok = False
        if code is None:
            self.problem(f"{field}.code", wire.MISSING)
            return None
        if not isinstance(code, str):
            self.problem(f"{field}.code", wire.WRONG_TYPE)
            return None
        if not wire.CURRENCY_CODE_PATTERN.fullmatch(code):
            self.problem(f"{field}.code", wire.TOO_LONG if len(code) > 3 else wire.BAD_FORMAT)
            return None
        if code not in wire.CURRENCY_EXPONENTS:
            self.problem(f"{field}.code", wire.NOT_ALLOWED)
            return None
        if self.store is not None and code != self.store["currency"]:
            self.problem(f"{field}.code", wire.NOT_ALLOWED)
            ok = False
        if amount is None:
            return None
        problem = wire.wire_amount_problem(amount, code, allow_zero=allow_zero)
        if problem:
            self.problem(f"{field}.amount", problem)
            return None
        return (Decimal(amount), code) if ok else None

    def done(self) -> None:
        if self.details:
            raise bad_request(self.details)


def trip_request(body: dict, database: Any) -> tuple[Checker, str, str]:
    """``storeId`` + ``shoppingTripId`` (cancel, transactional data)."""
    check = Checker(body, database)
    store_id = check.store_id()
    trip_id = check.trip_id()
    check.done()
    return check, store_id, trip_id


def amount_request(body: dict, database: Any) -> tuple[Checker, str, str, Decimal]:
    """Adjust and capture: ids plus ``amount`` > 0 in the store currency."""
    check = Checker(body, database)
    store_id = check.store_id()
    trip_id = check.trip_id()
    money = check.money("amount", allow_zero=False)
    check.done()
    assert money is not None
    return check, store_id, trip_id, money[0]


def refund_request(body: dict, database: Any) -> tuple[Checker, str, str, Decimal, str, str]:
    check = Checker(body, database)
    store_id = check.store_id()
    trip_id = check.trip_id()
    money = check.money("amount", allow_zero=False)
    refund_id = check.string(
        "refundRequestId",
        body.get("refundRequestId"),
        pattern=wire.REFUND_REQUEST_ID_PATTERN,
        max_length=wire.REFUND_REQUEST_ID_MAX_LENGTH,
    )
    reason = body.get("refundReasonCode")
    if check.string("refundReasonCode", reason, pattern=None) is not None and (
        reason not in REFUND_REASONS
    ):
        check.problem("refundReasonCode", wire.NOT_ALLOWED)
    check.done()
    assert money is not None
    return check, store_id, trip_id, money[0], refund_id, reason


def identity_request(body: dict, database: Any) -> tuple[Checker, str, str]:
    check = Checker(body, database)
    store_id = check.store_id()
    shopper = body.get("shopperId")
    shopper_id = None
    if shopper is None:
        check.problem("shopperId", wire.MISSING)
    elif not isinstance(shopper, dict):
        check.problem("shopperId", wire.WRONG_TYPE)
    else:
        shopper_id = check.string(
            "shopperId.id", shopper.get("id"), pattern=wire.SHOPPER_ID_PATTERN
        )
    check.done()
    return check, store_id, shopper_id

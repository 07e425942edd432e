"""Typed requests and results of the Payment Service (contract §3, §4). Plain dataclasses.

Amounts are ``Decimal`` with their ISO-4217 code beside them; ``to_wire`` builds the exact body
(numbers in major units via ``jwo_client.wire``), ``from_wire`` reads an answer and ignores any
field it does not know (contract §0.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from . import wire


class AdjustStatus(StrEnum):
    APPROVED = "APPROVED"
    DECLINED = "DECLINED"
    PENDING = "PENDING"


class ReportStatus(StrEnum):
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"


class RefundReason(StrEnum):
    DAMAGED_ITEM = "DAMAGED_ITEM"
    EXPIRED_ITEM = "EXPIRED_ITEM"
    UNWANTED_ITEM = "UNWANTED_ITEM"
    JWO_TECH_ERROR = "JWO_TECH_ERROR"
    OTHER = "OTHER"


class ResponseShapeError(ValueError):
    """An answer whose shape breaks the contract (a 2xx we cannot use)."""


def _trip(store_id: str, shopping_trip_id: str) -> dict[str, Any]:
    return {"storeId": store_id, "shoppingTripId": shopping_trip_id}


def read_money(value: Any, field: str) -> tuple[Decimal, str]:
    if not isinstance(value, dict):
        raise ResponseShapeError(f"{field} is not an object")
    amount, code = value.get("amount"), value.get("code")
    if isinstance(amount, bool) or not isinstance(amount, int | Decimal | float):
        raise ResponseShapeError(f"{field}.amount is not a number")
    if not isinstance(code, str):
        raise ResponseShapeError(f"{field}.code is not a string")
    try:
        number = Decimal(str(amount)) if isinstance(amount, float) else Decimal(amount)
    except InvalidOperation as error:
        raise ResponseShapeError(f"{field}.amount is not a decimal") from error
    return number, code


# --- Adjust Charge (§3.1) ----------------------------------------------------------------------
@dataclass(frozen=True)
class AdjustChargeRequest:
    store_id: str
    shopping_trip_id: str
    amount: Decimal
    currency: str

    def to_wire(self) -> dict[str, Any]:
        return {
            **_trip(self.store_id, self.shopping_trip_id),
            "amount": wire.money_to_wire(self.amount, self.currency),
        }


@dataclass(frozen=True)
class AdjustChargeResult:
    status: AdjustStatus
    authorized_amount: Decimal
    currency: str

    @classmethod
    def from_wire(cls, body: Any) -> AdjustChargeResult:
        if not isinstance(body, dict):
            raise ResponseShapeError("adjust answer is not an object")
        try:
            status = AdjustStatus(body.get("status"))
        except ValueError as error:
            raise ResponseShapeError(f"unknown adjust status {body.get('status')!r}") from error
        amount, code = read_money(body.get("authorizedAmount"), "authorizedAmount")
        return cls(status=status, authorized_amount=amount, currency=code)

    @property
    def approved(self) -> bool:
        return self.status == AdjustStatus.APPROVED

    @property
    def declined(self) -> bool:
        return self.status == AdjustStatus.DECLINED

    @property
    def pending(self) -> bool:
        return self.status == AdjustStatus.PENDING


# --- Cancel and Capture (§3.2, §3.3): 200 means "initiated" --------------------------------------
@dataclass(frozen=True)
class CancelChargeRequest:
    store_id: str
    shopping_trip_id: str

    def to_wire(self) -> dict[str, Any]:
        return _trip(self.store_id, self.shopping_trip_id)


@dataclass(frozen=True)
class CaptureChargeRequest:
    store_id: str
    shopping_trip_id: str
    amount: Decimal
    currency: str

    def to_wire(self) -> dict[str, Any]:
        return {
            **_trip(self.store_id, self.shopping_trip_id),
            "amount": wire.money_to_wire(self.amount, self.currency),
        }


@dataclass(frozen=True)
class Initiated:
    """An asynchronous operation was accepted; its outcome arrives as an event (§5)."""

    initiated: bool = True


# --- Refund (§3.4) -----------------------------------------------------------------------------
@dataclass(frozen=True)
class RefundRequest:
    store_id: str
    shopping_trip_id: str
    amount: Decimal
    currency: str
    refund_request_id: str
    reason_code: str

    def to_wire(self) -> dict[str, Any]:
        return {
            **_trip(self.store_id, self.shopping_trip_id),
            "amount": wire.money_to_wire(self.amount, self.currency),
            "refundRequestId": self.refund_request_id,
            "refundReasonCode": self.reason_code,
        }


@dataclass(frozen=True)
class RefundResult:
    reconciliation_id: str | None

    @classmethod
    def from_wire(cls, body: Any) -> RefundResult:
        # C2: an empty 200 and {"reconciliationId": ...} are both valid.
        if isinstance(body, dict) and isinstance(body.get("reconciliationId"), str):
            return cls(reconciliation_id=body["reconciliationId"])
        return cls(reconciliation_id=None)


# --- Get Transactional Data (§3.5) -------------------------------------------------------------
@dataclass(frozen=True)
class TransactionalDataRequest:
    store_id: str
    shopping_trip_id: str

    def to_wire(self) -> dict[str, Any]:
        return _trip(self.store_id, self.shopping_trip_id)


_TXD_FIELDS = {
    "brand": "brand",
    "pos_entry_mode": "posEntryMode",
    "currency": "currency",
    "authorization_response_code": "authorizationResponseCode",
    "cryptogram_information_data": "cryptogramInformationData",
    "tail": "tail",
    "pan_sequence_number": "panSequenceNumber",
    "application_id": "applicationId",
    "cardholder_verification_method_result": "cardholderVerificationMethodResult",
    "terminal_id": "terminalId",
    "reconciliation_id": "reconciliationId",
    "card_statement_transaction_id": "cardStatementTransactionId",
}


@dataclass(frozen=True)
class TransactionalData:
    brand: str = ""
    pos_entry_mode: str = ""
    currency: str = ""
    authorization_response_code: str = ""
    cryptogram_information_data: str = ""
    tail: str = ""
    pan_sequence_number: str = ""
    application_id: str = ""
    cardholder_verification_method_result: str = ""
    terminal_id: str = ""
    reconciliation_id: str = ""
    card_statement_transaction_id: str = ""
    expiration_year: str = ""
    expiration_month: str = ""

    @classmethod
    def from_wire(cls, body: Any) -> TransactionalData:
        if not isinstance(body, dict):
            raise ResponseShapeError("transactional data is not an object")
        values = {name: _text(body.get(key)) for name, key in _TXD_FIELDS.items()}
        expiration = body.get("expirationDate")
        if isinstance(expiration, dict):
            values["expiration_year"] = _text(expiration.get("expirationYear"))
            values["expiration_month"] = _text(expiration.get("expirationMonth"))
        return cls(**values)


def _text(value: Any) -> str:
    if value is None or isinstance(value, dict | list | bool):
        return ""
    return str(value)[:255]


# --- Get Shopper Identity (§3.6) ---------------------------------------------------------------
@dataclass(frozen=True)
class ShopperIdentityRequest:
    store_id: str
    shopper_id: str

    def to_wire(self) -> dict[str, Any]:
        return {"storeId": self.store_id, "shopperId": {"id": self.shopper_id}}


@dataclass(frozen=True)
class ShopperIdentity:
    email: str | None

    @classmethod
    def from_wire(cls, body: Any) -> ShopperIdentity:
        if isinstance(body, dict) and isinstance(body.get("shopperEmail"), str):
            email = body["shopperEmail"].strip()
            return cls(email=email or None)
        return cls(email=None)

    def __repr__(self) -> str:  # never print the address
        return f"ShopperIdentity(email={'<set>' if self.email else None})"


# --- Report Payment Status (§4) ----------------------------------------------------------------
@dataclass(frozen=True)
class PaymentStatusReport:
    store_id: str
    shopping_trip_id: str
    total_amount: Decimal
    settled_amount: Decimal
    currency: str
    payment_status_time_ms: int

    def to_wire(self) -> dict[str, Any]:
        return {
            **_trip(self.store_id, self.shopping_trip_id),
            "totalAmount": wire.money_to_wire(self.total_amount, self.currency),
            "settledAmount": wire.money_to_wire(self.settled_amount, self.currency),
            "paymentStatusTime": int(self.payment_status_time_ms),
        }


@dataclass(frozen=True)
class PaymentStatusResult:
    status: ReportStatus

    @classmethod
    def from_wire(cls, body: Any) -> PaymentStatusResult:
        if not isinstance(body, dict):
            raise ResponseShapeError("report answer is not an object")
        try:
            return cls(status=ReportStatus(body.get("status")))
        except ValueError as error:
            raise ResponseShapeError(f"unknown report status {body.get('status')!r}") from error

    @property
    def accepted(self) -> bool:
        return self.status == ReportStatus.ACCEPTED

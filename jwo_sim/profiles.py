"""Card profiles (contract §8.2): gate pre-auth and adjust outcomes per simulated shopper."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from jwo_client import wire

PROFILES = (
    "APPROVE_ALL",
    "DECLINE_OVER_LIMIT",
    "PARTIAL",
    "PENDING_THEN",
    "EXPIRED_CARD",
    "INVALID_CARD",
)
FLAGS = ("declineCapture", "declineRefund")
TEXT_KEYS = ("email", "brand", "tail", "interactionType", "expirationYear", "expirationMonth")
KNOWN_RISKS = ("InvalidCard", "CustomerFraud", "BadDebt", "ExpiredCard", "NonpaymentHighRisk")
DEFAULT_PROFILE = {"profile": "APPROVE_ALL"}


def normalize(raw: Any) -> dict:
    """Validate a ``PUT /_sim/v1/shoppers/{id}`` body; raise ``ValueError`` naming the problem."""
    if not isinstance(raw, dict):
        raise ValueError("body must be a JSON object")
    profile = dict(raw)
    name = profile.setdefault("profile", "APPROVE_ALL")
    if name not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}")
    if name == "DECLINE_OVER_LIMIT":
        profile["limit"] = _amount(profile.get("limit"), "limit")
    if name == "PARTIAL":
        profile["available"] = _amount(profile.get("available"), "available")
    if name == "PENDING_THEN":
        count = profile.get("n", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError("n must be a non-negative integer")
        profile["n"] = count
        then = profile.setdefault("then", "APPROVE")
        if then not in ("APPROVE", "DECLINE"):
            raise ValueError("then must be APPROVE or DECLINE")
    for flag in FLAGS:
        if not isinstance(profile.setdefault(flag, False), bool):
            raise ValueError(f"{flag} must be a boolean")
    for key in TEXT_KEYS:
        if key in profile and profile[key] is not None and not isinstance(profile[key], str):
            raise ValueError(f"{key} must be a string")
    if profile.get("email") is not None and len(profile["email"]) > 128:
        raise ValueError("email must be at most 128 characters")
    risks = profile.get("recommendationRisks", [])
    if not isinstance(risks, list) or not all(isinstance(risk, str) for risk in risks):
        raise ValueError("recommendationRisks must be a list of strings")
    return profile


def _amount(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError(f"{name} must be a number")
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return Decimal(value)


def preauth(profile: dict, amount: Decimal) -> tuple[bool, str | None]:
    """Gate pre-auth: ``(approved, declineReason)``."""
    name = profile["profile"]
    if name == "DECLINE_OVER_LIMIT" and amount > profile["limit"]:
        return False, "INSUFFICIENT_FUNDS"
    if name == "PARTIAL" and amount > profile["available"]:
        return False, "INSUFFICIENT_FUNDS"
    if name == "EXPIRED_CARD":
        return False, "EXPIRED_CARD"
    if name == "INVALID_CARD":
        return False, "CARD_DECLINED"
    return True, None


def card_risks(profile: dict) -> list[str]:
    """Risks Amazon knows from the card itself (recommendation ``false`` when not empty)."""
    risks = list(profile.get("recommendationRisks", []))
    if profile["profile"] == "EXPIRED_CARD":
        risks.append("ExpiredCard")
    if profile["profile"] == "INVALID_CARD":
        risks.append("InvalidCard")
    return risks


def start_adjust(profile: dict, amount: Decimal) -> dict:
    """A new adjustment for ``amount``; returns the adjust record (status, authorized…)."""
    record = {"amount": amount, "pendingLeft": 0}
    if profile["profile"] == "PENDING_THEN":
        record["pendingLeft"] = profile["n"]
    return _answer(profile, record)


def poll_adjust(profile: dict, record: dict) -> dict:
    """A poll (same amount) of a PENDING adjustment."""
    return _answer(profile, dict(record))


def _answer(profile: dict, record: dict) -> dict:
    amount = Decimal(record["amount"])
    name = profile["profile"]
    record["declineReason"] = None
    if name == "PENDING_THEN":
        if record["pendingLeft"] > 0:
            record["pendingLeft"] -= 1
            record.update(status="PENDING", authorized=amount)
            return record
        if profile["then"] == "APPROVE":
            record.update(status="APPROVED", authorized=amount)
        else:
            record.update(status="DECLINED", authorized=Decimal(0), declineReason="CARD_DECLINED")
        return record
    if name == "DECLINE_OVER_LIMIT" and amount > profile["limit"]:
        record.update(status="DECLINED", authorized=Decimal(0), declineReason="INSUFFICIENT_FUNDS")
    elif name == "PARTIAL":
        available = profile["available"]
        if available == 0:
            record.update(
                status="DECLINED", authorized=Decimal(0), declineReason="INSUFFICIENT_FUNDS"
            )
        else:
            record.update(status="APPROVED", authorized=min(amount, available))
    elif name == "EXPIRED_CARD":
        record.update(status="DECLINED", authorized=Decimal(0), declineReason="EXPIRED_CARD")
    elif name == "INVALID_CARD":
        record.update(status="DECLINED", authorized=Decimal(0), declineReason="CARD_DECLINED")
    else:
        record.update(status="APPROVED", authorized=amount)
    return record


def pos_entry_mode(interaction_type: str | None) -> str:
    code = {"TAP": "07", "INSERT": "05", "SWIPE": "90"}.get(interaction_type or "", "07")
    return f"EMV_9F39_{code}"


def transactional_data(profile: dict, trip: dict) -> dict:
    """The §3.5 answer: every value a string, ``expirationDate`` an object."""
    interaction = profile.get("interactionType") or trip.get("interactionType")
    return {
        "brand": profile.get("brand") or "VISA",
        "posEntryMode": pos_entry_mode(interaction),
        "currency": trip["currency"],
        "authorizationResponseCode": "00",
        "cryptogramInformationData": "80",
        "tail": profile.get("tail") or "1234",
        "panSequenceNumber": "01",
        "applicationId": "A0000000031010",
        "expirationDate": {
            "expirationYear": profile.get("expirationYear") or "2027",
            "expirationMonth": profile.get("expirationMonth") or "12",
        },
        "cardholderVerificationMethodResult": "420300",
        "terminalId": "12345678",
        "reconciliationId": trip["reconciliationId"],
        "cardStatementTransactionId": trip["cardStatementTransactionId"],
    }


def to_wire(profile: dict) -> dict:
    return wire.loads(wire.dumps(profile))

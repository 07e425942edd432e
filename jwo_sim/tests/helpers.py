"""Small helpers for the simulator's contract tests."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from jwo_client import wire

STORE = "STORE-001"


def D(text: str) -> Decimal:
    return Decimal(text)


def money(amount: str, code: str = "USD") -> dict:
    return {"amount": Decimal(amount), "code": code}


def body_of(response) -> Any:
    return wire.loads(response.content) if response.content else None


def error_of(response) -> str | None:
    body = body_of(response)
    return body.get("errorMsg") if isinstance(body, dict) else None


def new_trip(sim, shopper: str = "shopper-001", store: str = STORE, **extra: Any) -> str:
    answer = sim.gate(store, shopper, **extra)
    assert answer["gateOpen"], answer
    return answer["shoppingTripId"]


def adjust(sim, trip: str, amount: str, store: str = STORE, code: str = "USD"):
    return sim.call(
        "/v1/adjust/charge",
        {"storeId": store, "shoppingTripId": trip, "amount": money(amount, code)},
    )


def capture(sim, trip: str, amount: str, store: str = STORE, code: str = "USD"):
    return sim.call(
        "/v1/capture/charge",
        {"storeId": store, "shoppingTripId": trip, "amount": money(amount, code)},
    )


def cancel(sim, trip: str, store: str = STORE):
    return sim.call("/v1/cancel/charge", {"storeId": store, "shoppingTripId": trip})


def refund_body(
    trip: str,
    amount: str,
    refund_id: str | None = None,
    reason: str = "DAMAGED_ITEM",
    store: str = STORE,
) -> dict:
    return {
        "storeId": store,
        "shoppingTripId": trip,
        "amount": money(amount),
        "refundRequestId": refund_id or str(uuid.uuid4()),
        "refundReasonCode": reason,
    }


def refund(sim, trip: str, amount: str, refund_id: str | None = None, **extra: Any):
    return sim.call("/v1/refund", refund_body(trip, amount, refund_id, **extra))


def txd(sim, trip: str, store: str = STORE):
    return sim.call("/v1/payment/transactional-data", {"storeId": store, "shoppingTripId": trip})


def report(
    sim, trip: str, total: str, settled: str, at_ms: int, store: str = STORE, code: str = "USD"
):
    return sim.call(
        "/v1/feedback/payment-status",
        {
            "storeId": store,
            "shoppingTripId": trip,
            "totalAmount": money(total, code),
            "settledAmount": money(settled, code),
            "paymentStatusTime": at_ms,
        },
    )


def captured_trip(sim, amount: str = "25.99", shopper: str = "shopper-001") -> str:
    trip = new_trip(sim, shopper)
    assert adjust(sim, trip, amount).status_code == 200
    assert capture(sim, trip, amount).status_code == 200
    return trip

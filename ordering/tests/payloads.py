"""Create Purchases request bodies for tests (contract §1.1)."""

from __future__ import annotations

import uuid

PATH = "/v1/order/purchases"


def item(item_id: str, value: str = "1", unit: str = "unit", **extra) -> dict:
    body = {"id": item_id, "type": "SKU", "quantity": {"value": value, "unit": unit}}
    body.update(extra)
    return body


def auth_event(event_id: str = "ae-1", **extra) -> dict:
    body = {
        "id": event_id,
        "timestamp": "2025-05-02T17:00:00Z",
        "location": "ENTRY",
        "payloadType": "FINANCIAL",
        "scanResult": {"id": "shopper-001", "type": "SHOPPER"},
    }
    body.update(extra)
    return body


def cart(
    store_id: str,
    items: list[dict] | None = None,
    *,
    trip_id: str | None = None,
    start: str = "2025-05-02T17:00:00Z",
    end: str = "2025-05-02T17:09:39Z",
    auth_events: list[dict] | None = None,
    shopper_id: str | None = "shopper-001",
    **extra,
) -> dict:
    body = {
        "requestId": str(uuid.uuid4()),
        "idempotentShoppingTripId": trip_id or str(uuid.uuid4()),
        "storeId": store_id,
        "shoppingTrip": {
            "startTime": start,
            "endTime": end,
            "authEvents": auth_events if auth_events is not None else [auth_event()],
        },
        "cartItems": items if items is not None else [item("SKU-001")],
    }
    if shopper_id is not None:
        body["shopperIdentity"] = {"id": shopper_id}
    body.update(extra)
    return body

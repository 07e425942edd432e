"""Cart delivery to the retailer's Create Purchases connector (contract §1.6).

10 s timeout; 429, 5xx, timeouts and connection errors are retried with a fresh ``requestId``
and backoff 2, 4, 8 … s capped at 300 s (or a longer ``Retry-After``), until the pre-auth
deadline; 400, 403 and 409 mark the trip ``ORDER_REJECTED`` (an operator may re-drive it).
Retries are job rows on the business clock, run by the worker.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from jwo_client import wire

from . import csv_reports, events
from .clock import from_epoch
from .connector_calls import (
    ORDER_MAX_BACKOFF,
    ORDER_PATH,
    ORDER_TIMEOUT,
    ControlError,
    _unwrap,
    post_signed,
)

FINAL_REJECT = {400, 403, 409}  # named by §1.6; any other 4xx but 429 is final as well


def _is_final_rejection(status: int | None) -> bool:
    """§1.6 retries 429, 5xx, timeouts and connection errors only."""
    return status is not None and 400 <= status < 500 and status != 429


def _auth_events(trip: dict, body: dict, start: str) -> list[dict]:
    given = body.get("authEvents")
    if isinstance(given, list):
        return given
    count = given if isinstance(given, int) and not isinstance(given, bool) and given > 0 else 1
    shopper = trip["shopperId"]
    return [
        {
            "id": f"ae-{trip['tripId'][:8]}-{index + 1}",
            "timestamp": start,
            "location": "ENTRY",
            "payloadType": "FINANCIAL",
            "scanResult": {"id": shopper, "type": "SHOPPER"},
        }
        for index in range(count)
    ]


def exit_trip(sim: Any, trip_id: str, body: Any, *, redrive: bool = False) -> dict:
    if not isinstance(body, dict):
        raise ControlError(400, "body must be a JSON object")
    with sim.lock:
        trip = sim.database.get_trip(trip_id)
        if trip is None:
            raise ControlError(404, f"unknown trip {trip_id}")
        if not trip.get("exists"):
            raise ControlError(409, f"trip {trip_id} has no pre-auth ({trip['state']})")
        order = trip.get("order")
        if redrive:
            if not order or order["status"] not in ("ORDER_REJECTED", "GAVE_UP"):
                raise ControlError(
                    409, "only ORDER_REJECTED or GAVE_UP trips can be re-driven", order=order
                )
            if isinstance(body.get("cartItems"), list):
                order["payload"]["cartItems"] = body["cartItems"]
        elif order and not body.get("redeliver"):
            raise ControlError(
                409, "trip already exited; send redeliver: true to resend", order=_public(order)
            )
        elif not order:
            cart = body.get("cartItems")
            if not isinstance(cart, list):
                raise ControlError(400, "cartItems must be a list (it may be empty)")
            now = sim.now()
            start = body.get("startTime") or trip["createdAt"]
            end = body.get("endTime") or wire.format_timestamp(now)
            payload = {
                "idempotentShoppingTripId": trip_id,
                "storeId": trip["storeId"],
                "shoppingTrip": {
                    "startTime": start,
                    "endTime": end,
                    "authEvents": _auth_events(trip, body, start),
                },
                "cartItems": cart,
            }
            for key in ("shopperIdentity", "shopperDeviceId", "paymentSource"):
                if body.get(key) is not None:
                    payload[key] = body[key]
            if "shopperIdentity" not in body:
                payload["shopperIdentity"] = {"id": trip["shopperId"]}
            order = {
                "payload": payload,
                "attempts": 0,
                "status": "DELIVERING",
                "purchaseId": None,
                "httpStatus": None,
            }
            trip["order"] = order
            trip["startTime"], trip["endTime"] = start, end
            events.emit_optional(sim, trip, "SHOPPER", "GateExit", now)
            events.emit_optional(sim, trip, "ORDERING", "CartCreated", now)
        order["status"] = "DELIVERING"
        order["nextAttemptAt"] = None
        sim.database.put_trip(trip)
    return deliver(sim, trip_id)


def _public(order: dict) -> dict:
    public = {
        key: order.get(key)
        for key in ("httpStatus", "purchaseId", "attempts", "nextAttemptAt", "lastError")
    }
    public["orderStatus"] = order.get("status")
    return public


def deliver(sim: Any, trip_id: str, at: dt.datetime | None = None) -> dict:
    """One delivery attempt at business time ``at`` (default now); schedules the next one when
    it failed transiently."""
    with sim.lock:
        trip = sim.database.get_trip(trip_id)
        store = sim.store(trip["storeId"]) or {}
        payload = {"requestId": sim.new_uuid(), **trip["order"]["payload"]}
    base_url = store.get("retailerBaseUrl")
    if base_url:
        status, answer, error, latency = post_signed(
            sim, base_url, ORDER_PATH, payload, ORDER_TIMEOUT
        )
    else:
        status, answer, error, latency = None, None, "no retailerBaseUrl configured", 0.0
    answer, retry_after = _unwrap(answer)
    with sim.lock:
        trip = sim.database.get_trip(trip_id)
        order = trip["order"]
        now = at or sim.now()
        order["attempts"] += 1
        order["httpStatus"] = status
        order["lastError"] = error
        sim.history(
            trip,
            "order",
            now,
            requestId=payload["requestId"],
            status=status,
            error=error,
            latencyMs=round(latency, 2),
            response=answer,
        )
        if status == 201 and isinstance(answer, dict) and isinstance(answer.get("purchaseId"), str):
            first = order.get("purchaseId") is None
            order.update(status="DELIVERED", purchaseId=answer["purchaseId"], nextAttemptAt=None)
            if first:
                csv_reports.cart_rows(sim, trip, order["payload"]["cartItems"], now)
                purchase_id = answer["purchaseId"]
                if purchase_id:
                    events.emit_optional(
                        sim, trip, "ORDERING", "PurchaseCreated", now, purchaseId=purchase_id
                    )
        elif _is_final_rejection(status):
            order.update(status="ORDER_REJECTED", nextAttemptAt=None)
            trip["orderRejected"] = True
        else:
            if status == 201:
                order["lastError"] = "201 without a purchaseId string"
            backoff = min(ORDER_MAX_BACKOFF, 2 ** order["attempts"])
            wait = max(backoff, retry_after or 0)
            due = now + dt.timedelta(seconds=wait)
            if due >= wire.parse_timestamp(trip["preauthDeadline"]) or not base_url:
                order.update(status="GAVE_UP", nextAttemptAt=None)
            else:
                order.update(status="RETRYING", nextAttemptAt=wire.format_timestamp(due))
                sim.schedule(due, "order_retry", trip_id)
        sim.database.put_trip(trip)
        return _public(order)


def run_due_orders(sim: Any) -> bool:
    worked = False
    while True:
        with sim.lock:
            job = sim.database.pop_due_job(sim.now().timestamp(), ("order_retry",))
        if job is None:
            return worked
        worked = True
        with sim.lock:
            trip = sim.database.get_trip(job["ref"])
            if not trip or (trip.get("order") or {}).get("status") != "RETRYING":
                continue
        deliver(sim, job["ref"], from_epoch(job["due"]))

"""Events in the EventBridge envelope (contract §5), delivered at least once: PAYMENT always,
ORDERING and SHOPPER (a MAY) when the store asks for them.

``emit`` runs under the lock and queues rows; ``deliver_due`` runs in the worker thread and
POSTs one event per request with ``x-api-key`` and a 5 s timeout, retrying 401, 407, 409, 429,
5xx and timeouts with exponential backoff and jitter (1 s base, 10 min cap) on the business
clock for 24 h or 185 attempts, then dead-letters. ``pDuplicate``, ``pReorder`` and ``pDrop``
come from the fault config.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from jwo_client import wire

from . import deadline_http

log = logging.getLogger("jwo_sim.events")

EVENT_PATH = "/v1/events/jwo"
RETRY_STATUSES = {401, 407, 409, 429}
MAX_ATTEMPTS = 185
MAX_AGE_SECONDS = 24 * 3600
REORDER_RELEASE_SECONDS = 60
DELIVERY_TIMEOUT = 5.0
ACCOUNT = "123456789012"


def emit(
    sim: Any,
    trip: dict,
    event_type: str,
    at: dt.datetime,
    *,
    amount: Decimal | None = None,
    reconciliation_id: str | None = None,
    refund_request_id: str | None = None,
    decline_reason: str | None = None,
    is_test: bool = False,
    detail_type: str = "PAYMENT",
    extra: dict | None = None,
) -> dict:
    counter = trip.get("eventCount", 0) + 1
    trip["eventCount"] = counter
    detail = {
        "eventId": f"evt-{trip['tripId']}-{counter:04d}",
        "eventType": event_type,
        "eventTime": wire.format_timestamp(at, millis=True),
        "storeId": trip["storeId"],
        "shoppingTripId": trip["tripId"],
        "amount": None if amount is None else wire.money_to_wire(Decimal(amount), trip["currency"]),
        "reconciliationId": reconciliation_id,
        "refundRequestId": refund_request_id,
        "declineReason": decline_reason,
        "isTest": is_test,
        **(extra or {}),
    }
    store = sim.store(trip["storeId"]) or {}
    status = "PENDING" if store.get("eventEndpointUrl") else "NO_ENDPOINT"
    held = 0
    if status == "PENDING" and sim.faults.probability("events", "pDrop"):
        status = "DEAD"
    copies = 1
    if status == "PENDING":
        if sim.faults.probability("events", "pDuplicate"):
            copies = 2
        if sim.faults.probability("events", "pReorder"):
            held = 1
    for copy in range(copies):
        envelope = {
            "version": "0",
            "id": sim.new_uuid(),
            "detail-type": detail_type,
            "source": "jwo.simulator",
            "account": ACCOUNT,
            "time": wire.format_timestamp(at),
            "region": sim.options.region,
            "resources": [],
            "detail": detail,
        }
        sim.database.execute(
            "INSERT INTO events (event_id, trip_id, store_id, event_type, status, due, created,"
            " attempts, held, envelope, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
            (
                detail["eventId"],
                trip["tripId"],
                trip["storeId"],
                event_type,
                status,
                at.timestamp(),
                at.timestamp(),
                held if copy == 0 else 0,
                wire.dumps(envelope).decode(),
                "pDrop" if status == "DEAD" else None,
            ),
        )
    trip.setdefault("events", []).append(
        {
            "eventId": detail["eventId"],
            "eventType": event_type,
            "eventTime": detail["eventTime"],
            "amount": detail["amount"],
            "declineReason": decline_reason,
            "refundRequestId": refund_request_id,
            "copies": copies,
            "held": bool(held),
        }
    )
    sim.kick()
    return detail


def emit_optional(sim: Any, trip: dict, kind: str, event_type: str, at: dt.datetime, **extra: Any):
    """An ORDERING or SHOPPER event (§5.1 MAY), sent when the store's flag asks for it."""
    flag = {"ORDERING": "orderingEvents", "SHOPPER": "shopperEvents"}[kind]
    if (sim.store(trip["storeId"]) or {}).get(flag):
        emit(sim, trip, event_type, at, detail_type=kind, extra=extra or None)


def _due_rows(sim: Any) -> list[dict]:
    with sim.lock:
        now = sim.now().timestamp()
        rows = [
            dict(row)
            for row in sim.database.execute(
                "SELECT * FROM events WHERE status = 'PENDING' AND due <= ? ORDER BY seq", (now,)
            )
        ]
        ready = [row for row in rows if not row["held"]]
        for row in rows:
            if row["held"]:
                later = sim.database.execute(
                    "SELECT 1 FROM events WHERE seq > ? AND status IN ('DELIVERED', 'DEAD')",
                    (row["seq"],),
                ).fetchone()
                if later is not None or now - row["created"] >= REORDER_RELEASE_SECONDS:
                    ready.append(row)
        return ready


def deliver_due(sim: Any) -> bool:
    """Deliver every due event once; return whether anything was attempted."""
    rows = _due_rows(sim)
    for row in rows:
        _deliver(sim, row)
    return bool(rows)


def _deliver(sim: Any, row: dict) -> None:
    with sim.lock:
        store = sim.store(row["store_id"]) or {}
        fault = sim.faults.pick(EVENT_PATH)
    url = (store.get("eventEndpointUrl") or "").rstrip("/")
    if url and not url.endswith(EVENT_PATH):
        url += EVENT_PATH
    headers = {"Content-Type": "application/json", "x-api-key": store.get("eventApiKey") or ""}
    status, error = None, None
    if fault and fault.phase == "before":
        status, error = (fault.status, f"injected {fault.describe()}")
    else:
        try:
            response = deadline_http.post(url, row["envelope"].encode(), headers, DELIVERY_TIMEOUT)
            status = response.status
        except deadline_http.DeadlineExceeded:
            error = "timeout"
        except deadline_http.BadResponse as exc:
            error = f"bad response: {exc}"
        except OSError as exc:
            error = f"connection error: {type(exc).__name__}"
        if fault:
            status, error = fault.status, f"injected {fault.describe()} (delivered)"
    with sim.lock:
        now = sim.now()
        attempts = row["attempts"] + 1
        if status is not None and 200 <= status < 300:
            new_status, due, last_error = "DELIVERED", row["due"], None
        elif status is not None and status < 500 and status not in RETRY_STATUSES:
            new_status, due, last_error = "DEAD", row["due"], f"HTTP {status} (not retried)"
        else:
            last_error = error or f"HTTP {status}"
            too_old = now.timestamp() - row["created"] >= MAX_AGE_SECONDS
            if attempts >= MAX_ATTEMPTS or too_old:
                new_status, due = "DEAD", row["due"]
            else:
                base = min(600.0, 2.0 ** (attempts - 1))
                wait = base / 2 + sim.rng.random() * base / 2
                new_status, due = "PENDING", now.timestamp() + wait
        sim.database.execute(
            "UPDATE events SET status = ?, due = ?, attempts = ?, last_error = ? WHERE seq = ?",
            (new_status, due, attempts, last_error, row["seq"]),
        )
        if new_status != "DELIVERED":
            log.info(
                "event %s attempt %d: %s -> %s", row["event_id"], attempts, last_error, new_status
            )


def for_trip(sim: Any, trip_id: str) -> list[dict]:
    rows = sim.database.execute(
        "SELECT seq, event_id, event_type, status, attempts, last_error, held FROM events"
        " WHERE trip_id = ? ORDER BY seq",
        (trip_id,),
    )
    return [
        {
            "seq": r["seq"],
            "eventId": r["event_id"],
            "eventType": r["event_type"],
            "delivery": r["status"],
            "attempts": r["attempts"],
            "lastError": r["last_error"],
            "held": bool(r["held"]),
        }
        for r in rows
    ]


def dead_letter(sim: Any) -> list[dict]:
    rows = sim.database.execute("SELECT * FROM events WHERE status = 'DEAD' ORDER BY seq")
    return [
        {
            "eventId": r["event_id"],
            "eventType": r["event_type"],
            "shoppingTripId": r["trip_id"],
            "storeId": r["store_id"],
            "attempts": r["attempts"],
            "lastError": r["last_error"],
            "event": wire.loads(r["envelope"]),
        }
        for r in rows
    ]

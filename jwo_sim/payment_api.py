"""Payment Service operations (contract §3.1–§3.6) and the state table of §7.

Each handler runs under the simulator lock, after the signature and fault checks, and follows
the check order of §0.8: fields → trip lookup → expiry → state and amount rules.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from jwo_client import wire

from . import csv_reports, events, profiles, validation
from .validation import ApiError, bad_request, refund_window_expired, trip_expired, unknown_trip

PRE_CAPTURE = {"PREAUTHORIZED", "ADJUST_PENDING", "ADJUST_APPROVED", "ADJUST_DECLINED"}
CANCEL_STATES = {"CANCELLING", "CANCELLED"}
CAPTURE_OR_LATER = {"CAPTURING", "CAPTURED", "CAPTURE_DECLINED", "PARTIALLY_REFUNDED", "REFUNDED"}
REFUNDABLE = {"CAPTURED", "PARTIALLY_REFUNDED"}


def _state_error(reason: str) -> ApiError:
    return bad_request([{"field": "shoppingTripId", "problem": "NOT_ALLOWED", "reason": reason}])


def lookup(sim: Any, store_id: str, trip_id: str) -> dict:
    trip = sim.database.get_trip(trip_id)
    if trip is None or trip["storeId"] != store_id or not trip.get("exists"):
        raise unknown_trip()
    if trip["state"] == "EXPIRED":
        raise trip_expired()
    return trip


def _money(amount: Decimal, code: str) -> dict:
    return wire.money_to_wire(Decimal(amount), code)


def _delay(store: dict) -> dt.timedelta:
    return dt.timedelta(seconds=float(store.get("asyncDelaySeconds") or 0))


def _finish_later(sim: Any, trip: dict, store: dict, kind: str, data: dict | None = None) -> None:
    """Schedule an async outcome; with no delay it completes before the answer is sent."""
    due = sim.now() + _delay(store)
    if _delay(store).total_seconds() <= 0:
        run_job(sim, {"kind": kind, "ref": trip["tripId"], "data": data or {}}, due, trip=trip)
    else:
        sim.schedule(due, kind, trip["tripId"], data)


# adjust ---------------------------------------------------------------------------------------
def adjust(sim: Any, body: dict) -> tuple[int, dict | None]:
    _check, store_id, trip_id, amount = validation.amount_request(body, sim.database)
    trip = lookup(sim, store_id, trip_id)
    state = trip["state"]
    if state in CANCEL_STATES or state in CAPTURE_OR_LATER:
        raise _state_error(f"adjust not allowed in {state}")
    now = sim.now()
    profile = sim.profile(trip["shopperId"])
    current = trip.get("adjust")
    if current and Decimal(current["amount"]) == amount and current["status"] != "PENDING":
        return 200, _adjust_answer(current, trip["currency"])
    if current and Decimal(current["amount"]) == amount:
        record = profiles.poll_adjust(profile, current)
    else:
        record = profiles.start_adjust(profile, amount)
        record["n"] = (current or {}).get("n", 0) + 1
    trip["adjust"] = record
    trip["state"] = f"ADJUST_{record['status']}"
    code = trip["currency"]
    if record["status"] == "APPROVED":
        trip["approvedEver"] = True
        trip["authorizedAmount"] = record["authorized"]
        events.emit(sim, trip, "AuthorizationApproved", now, amount=record["authorized"])
    elif record["status"] == "DECLINED":
        trip["authorizedAmount"] = Decimal(0)
        events.emit(
            sim,
            trip,
            "AuthorizationDeclined",
            now,
            amount=amount,
            decline_reason=record["declineReason"],
        )
    shown = record["authorized"] if record["status"] != "DECLINED" else amount
    version = record.setdefault("csvVersion", 0) + 1
    record["csvVersion"] = version
    csv_reports.payment_row(
        sim, trip, "ADJUST", record["n"], record["status"], shown, now, version=version
    )
    trip.setdefault("amounts", {})["lastAdjustRequested"] = amount
    sim.database.put_trip(trip)
    return 200, _adjust_answer(record, code)


def _adjust_answer(record: dict, code: str) -> dict:
    if record["status"] == "DECLINED":
        return {"status": "DECLINED", "authorizedAmount": {"amount": 0, "code": code}}
    return {"status": record["status"], "authorizedAmount": _money(record["authorized"], code)}


# cancel ---------------------------------------------------------------------------------------
def cancel(sim: Any, body: dict) -> tuple[int, dict | None]:
    check, store_id, trip_id = validation.trip_request(body, sim.database)
    trip = lookup(sim, store_id, trip_id)
    state = trip["state"]
    if state in CANCEL_STATES:
        return 200, None
    if state in CAPTURE_OR_LATER:
        raise _state_error(f"cancel not allowed in {state}")
    trip["state"] = "CANCELLING"
    sim.database.put_trip(trip)
    _finish_later(sim, trip, check.store, "cancel_done")
    return 200, None


# capture --------------------------------------------------------------------------------------
def capture(sim: Any, body: dict) -> tuple[int, dict | None]:
    check, store_id, trip_id, amount = validation.amount_request(body, sim.database)
    trip = lookup(sim, store_id, trip_id)
    state = trip["state"]
    if state in CAPTURE_OR_LATER:
        if Decimal(trip["capture"]["amount"]) == amount:
            return 200, None
        raise _state_error("a capture with another amount exists")
    if state != "ADJUST_APPROVED":
        raise _state_error(f"capture needs a current APPROVED adjust, trip is {state}")
    if amount > Decimal(trip["authorizedAmount"]):
        raise bad_request([{"field": "amount.amount", "problem": "OUT_OF_RANGE"}])
    trip["capture"] = {"amount": amount, "status": "PENDING"}
    trip["state"] = "CAPTURING"
    sim.database.put_trip(trip)
    _finish_later(sim, trip, check.store, "capture_done")
    return 200, None


# refund ---------------------------------------------------------------------------------------
def refund(sim: Any, body: dict) -> tuple[int, dict | None]:
    check, store_id, trip_id, amount, refund_id, reason = validation.refund_request(
        body, sim.database
    )
    trip = sim.database.get_trip(trip_id)
    if trip is None or trip["storeId"] != store_id or not trip.get("exists"):
        raise unknown_trip()
    if trip["state"] == "EXPIRED":  # §7: an expired trip has no refunds to replay
        raise trip_expired()
    fingerprint = [store_id, trip_id, str(amount.normalize()), trip["currency"], reason]
    owner = sim.database.execute(
        "SELECT trip_id FROM refund_ids WHERE refund_request_id = ?", (refund_id,)
    ).fetchone()
    if owner is not None:
        stored = next(
            (r for r in trip.get("refunds", []) if r["refundRequestId"] == refund_id), None
        )
        if stored is None or stored["fingerprint"] != fingerprint:
            raise bad_request([{"field": "refundRequestId", "problem": "DUPLICATE"}])
        return 200, {"reconciliationId": stored["reconciliationId"]}
    if trip["state"] not in REFUNDABLE:
        raise _state_error(f"refund not allowed in {trip['state']}")
    now = sim.now()
    window_start = _refund_window_start(trip)
    if now > window_start + dt.timedelta(days=float(check.store["refundWindowDays"])):
        raise refund_window_expired()
    committed = sum(
        (
            Decimal(r["amount"])
            for r in trip.get("refunds", [])
            if r["status"] in ("PENDING", "APPROVED")
        ),
        Decimal(0),
    )
    if committed + amount > Decimal(trip["capture"]["amount"]):
        raise bad_request([{"field": "amount.amount", "problem": "OUT_OF_RANGE"}])
    number = sim.database.next_counter("refund")
    record = {
        "refundRequestId": refund_id,
        "amount": amount,
        "reason": reason,
        "status": "PENDING",
        "reconciliationId": f"RFD-{number:06d}",
        "fingerprint": fingerprint,
        "n": len(trip.get("refunds", [])) + 1,
        "requestedAt": wire.format_timestamp(now, millis=True),
    }
    trip.setdefault("refunds", []).append(record)
    sim.database.execute(
        "INSERT INTO refund_ids (refund_request_id, trip_id) VALUES (?, ?)", (refund_id, trip_id)
    )
    sim.database.put_trip(trip)
    _finish_later(sim, trip, check.store, "refund_done", {"refundRequestId": refund_id})
    return 200, {"reconciliationId": record["reconciliationId"]}


def _refund_window_start(trip: dict) -> dt.datetime:
    """§0.10: the trip's ``endTime`` from the delivered cart; the gate time when the exit sent
    none, or a malformed one (a rehearsal of the retailer's 400s may do that on purpose)."""
    try:
        return wire.parse_timestamp(trip.get("endTime"))
    except ValueError:
        return wire.parse_timestamp(trip["createdAt"])


# transactional data and identity --------------------------------------------------------------
def transactional_data(sim: Any, body: dict) -> tuple[int, dict | None]:
    _check, store_id, trip_id = validation.trip_request(body, sim.database)
    trip = lookup(sim, store_id, trip_id)
    if not trip.get("approvedEver"):
        raise unknown_trip()
    return 200, profiles.transactional_data(sim.profile(trip["shopperId"]), trip)


def shopper_identity(sim: Any, body: dict) -> tuple[int, dict | None]:
    _check, _store_id, shopper_id = validation.identity_request(body, sim.database)
    shopper = sim.database.get_shopper(shopper_id) or {}
    email = shopper.get("email")
    return 200, ({"shopperEmail": email} if email else {})


# async outcomes and expiry --------------------------------------------------------------------
def run_job(sim: Any, job: dict, at: dt.datetime, trip: dict | None = None) -> None:
    trip = trip or sim.database.get_trip(job["ref"])
    if trip is None:
        return
    kind = job["kind"]
    profile = sim.profile(trip["shopperId"])
    if kind == "expire":
        if trip["state"] not in PRE_CAPTURE:
            return
        trip["state"] = "EXPIRED"
        released = trip.get("authorizedAmount", trip["preauthAmount"])
        events.emit(
            sim,
            trip,
            "AuthorizationCancelled",
            at,
            amount=released,
            decline_reason="PREAUTH_EXPIRED",
        )
        csv_reports.payment_row(sim, trip, "CANCEL", 1, "EXPIRED", released, at)
    elif kind == "cancel_done":
        if trip["state"] != "CANCELLING":
            return
        trip["state"] = "CANCELLED"
        released = trip.get("authorizedAmount", trip["preauthAmount"])
        events.emit(sim, trip, "AuthorizationCancelled", at, amount=released)
        csv_reports.payment_row(sim, trip, "CANCEL", 1, "CANCELLED", released, at)
    elif kind == "capture_done":
        if trip["state"] != "CAPTURING":
            return
        capture_record = trip["capture"]
        amount = Decimal(capture_record["amount"])
        if profile.get("declineCapture"):
            trip["state"] = "CAPTURE_DECLINED"
            capture_record["status"] = "DECLINED"
            events.emit(
                sim, trip, "CaptureDeclined", at, amount=amount, decline_reason="CARD_DECLINED"
            )
            csv_reports.payment_row(sim, trip, "CAPTURE", 1, "DECLINED", amount, at)
        else:
            trip["state"] = "CAPTURED"
            capture_record["status"] = "APPROVED"
            events.emit(
                sim,
                trip,
                "CaptureApproved",
                at,
                amount=amount,
                reconciliation_id=trip["reconciliationId"],
            )
            csv_reports.payment_row(
                sim,
                trip,
                "CAPTURE",
                1,
                "APPROVED",
                amount,
                at,
                reconciliation_id=trip["reconciliationId"],
            )
    elif kind == "refund_done":
        _finish_refund(sim, trip, profile, job["data"]["refundRequestId"], at)
    sim.history(trip, "outcome", at, job=kind, state=trip["state"])
    sim.database.put_trip(trip)


def _finish_refund(sim: Any, trip: dict, profile: dict, refund_id: str, at: dt.datetime) -> None:
    record = next(r for r in trip["refunds"] if r["refundRequestId"] == refund_id)
    if record["status"] != "PENDING":
        return
    amount = Decimal(record["amount"])
    extra = {
        "amount": amount,
        "refund_request_id": refund_id,
        "reconciliation_id": record["reconciliationId"],
    }
    if profile.get("declineRefund"):
        record["status"] = "DECLINED"
        events.emit(sim, trip, "RefundDeclined", at, decline_reason="CARD_DECLINED", **extra)
    else:
        record["status"] = "APPROVED"
        refunded = sum(
            (Decimal(r["amount"]) for r in trip["refunds"] if r["status"] == "APPROVED"), Decimal(0)
        )
        captured = Decimal(trip["capture"]["amount"])
        trip["state"] = "REFUNDED" if refunded >= captured else "PARTIALLY_REFUNDED"
        trip.setdefault("amounts", {})["refunded"] = refunded
        events.emit(sim, trip, "RefundApproved", at, **extra)
    csv_reports.payment_row(
        sim,
        trip,
        "REFUND",
        record["n"],
        record["status"],
        amount,
        at,
        reconciliation_id=record["reconciliationId"],
        refund_request_id=refund_id,
    )

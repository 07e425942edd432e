"""Calls the simulator makes to the retailer's connectors (contract §1, §2), SigV4-signed.

The gate (``POST /_sim/v1/gate``) asks the Fraud & Abuse connector with a 2 s deadline and falls
back to Amazon's recommendation (§2.3), then pre-authorizes per the card profile. The exit
(``POST /_sim/v1/trips/{id}/exit``) delivers the cart to Create Purchases with Amazon's retries
(§1.6), scheduled on the business clock so that advancing it fires them.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from decimal import Decimal
from typing import Any

from jwo_client import sigv4, wire

from . import csv_reports, deadline_http, events, feedback, profiles

log = logging.getLogger("jwo_sim.connectors")

FA_PATH = "/v1/fraudandabuse/shopperauthorization"
ORDER_PATH = "/v1/order/purchases"
GATE_DEADLINE = 2.0
ORDER_TIMEOUT = 10.0
ORDER_MAX_BACKOFF = 300


class ControlError(Exception):
    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status = status
        self.body = {"error": message, **extra}


def post_signed(
    sim: Any, base_url: str, path: str, payload: dict, timeout: float
) -> tuple[int | None, Any, str | None, float]:
    """POST with SigV4 and outbound faults; return (status, parsed body, error, latency ms).

    ``timeout`` is an overall deadline (connect, send, and the whole answer), so a retailer that
    trickles its answer is cut off at 2 s at the gate (§2.3) and at 10 s for an order (§1.6)."""
    url = base_url.rstrip("/") + path
    body = wire.dumps(payload)
    headers = {"Content-Type": "application/json"}
    if sim.options.signing is not None:
        headers = sigv4.sign_request(
            method="POST",
            url=url,
            body=body,
            credentials=sim.options.signing,
            region=sim.options.region,
        )
    with sim.lock:
        fault = sim.faults.pick(path)
    started = time.monotonic()
    if fault and fault.phase == "before":
        return fault.status, None, f"injected {fault.describe()}", 0.0
    status, parsed, error = None, None, None
    try:
        response = deadline_http.post(url, body, headers, timeout)
        status = response.status
        try:
            parsed = wire.loads(response.content) if response.content else None
        except ValueError:
            parsed = None
        retry_after = response.headers.get("retry-after", "")
        if retry_after.isascii() and retry_after.isdigit():
            parsed = {"__retryAfter": int(retry_after), "body": parsed}
    except deadline_http.DeadlineExceeded:
        error = "timeout"
    except deadline_http.BadResponse as exc:
        error = f"bad response: {exc}"
    except OSError as exc:
        error = f"connection error: {type(exc).__name__}"
    latency = (time.monotonic() - started) * 1000
    if fault:
        return fault.status, None, f"injected {fault.describe()} (answer lost)", latency
    return status, parsed, error, latency


def _unwrap(parsed: Any) -> tuple[Any, int | None]:
    if isinstance(parsed, dict) and "__retryAfter" in parsed:
        return parsed["body"], parsed["__retryAfter"]
    return parsed, None


# gate ------------------------------------------------------------------------------------------
def _valid_decision(answer: Any, currency: str) -> bool:
    """Whether a 200 follows §2.2; a broken one makes Amazon apply its own advice (§2.3)."""
    if not isinstance(answer, dict) or not isinstance(answer.get("shopperAuthorized"), bool):
        return False
    risks = answer.get("shopperRisks")
    if risks is not None and (
        not isinstance(risks, list) or not all(isinstance(risk, str) for risk in risks)
    ):
        return False
    reason = answer.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 255):
        return False
    if not answer["shopperAuthorized"]:
        return True  # conditions are ignored in a deny (§2.2)
    conditions = answer.get("authorizationConditions")
    if conditions is None or conditions == []:
        return True
    if not isinstance(conditions, list) or len(conditions) != 1:
        return False
    condition = conditions[0]
    amount = condition.get("amount") if isinstance(condition, dict) else None
    if not isinstance(amount, dict) or condition.get("type") != "ADJUST":
        return False
    if amount.get("currencyCode") != currency:
        return False
    return wire.wire_amount_problem(amount.get("value"), currency, allow_zero=False) is None


def _decided_amount(decision: dict, default: Decimal) -> Decimal:
    conditions = decision.get("authorizationConditions") or []
    if decision.get("shopperAuthorized") and conditions:
        return Decimal(conditions[0]["amount"]["value"])
    return default


def gate(sim: Any, body: Any) -> dict:
    if not isinstance(body, dict):
        raise ControlError(400, "body must be a JSON object")
    store_id, shopper_id = body.get("storeId"), body.get("shopperIdentityId")
    if not isinstance(shopper_id, str) or not shopper_id.strip() or len(shopper_id) > 255:
        raise ControlError(400, "shopperIdentityId is required (1-255 chars)")
    with sim.lock:
        store = sim.store(store_id) if isinstance(store_id, str) else None
        if store is None:
            raise ControlError(404, f"unknown store {store_id}")
        trip_id = sim.new_uuid()
        now = sim.now()
        advice = feedback.recommendation(sim, store, shopper_id)
        amount = Decimal(store["preauthAmount"])
        event_id = body.get("gateAuthenticationEventId") or f"gae-{sim.new_uuid()}"
    request = {
        "storeId": store_id,
        "shopperIdentity": {"id": shopper_id},
        "authorizedAmount": {
            "value": wire.money_to_wire(amount, store["currency"])["amount"],
            "currencyCode": store["currency"],
        },
        "shopperInteraction": {
            "shoppingTripId": trip_id,
            "gateAuthenticationEvent": {
                "id": event_id,
                "type": body.get("type", "CREDIT_CARD"),
                "interactionType": body.get("interactionType", "TAP"),
                "timestamp": wire.format_timestamp(now),
                "location": "ENTRY",
                "data": body.get("data") or {"gateId": "G1"},
            },
            "recommendation": advice,
        },
    }
    if body.get("cartHint") is not None:
        request["shopperInteraction"]["cartHint"] = body["cartHint"]
    status, answer, error, latency = None, None, None, 0.0
    if store["faMode"] == "AMAZON_MANAGED":
        decision, source = advice, "AMAZON"
    elif not store.get("retailerBaseUrl"):
        decision, source, error = advice, "FALLBACK", "no retailerBaseUrl configured"
    else:
        status, answer, error, latency = post_signed(
            sim, store["retailerBaseUrl"], FA_PATH, request, GATE_DEADLINE
        )
        answer, _ = _unwrap(answer)
        if (
            status == 200
            and latency <= GATE_DEADLINE * 1000
            and _valid_decision(answer, store["currency"])
        ):
            decision, source = answer, "RETAILER"
        else:
            decision, source = advice, "FALLBACK"
            error = error or f"retailer answered {status}" + (
                "" if status != 200 else " with an invalid decision"
            )
    authorized = bool(decision.get("shopperAuthorized"))
    final_amount = _decided_amount(decision, amount) if authorized else None
    with sim.lock:
        return _open_trip(
            sim,
            store,
            shopper_id,
            trip_id,
            body,
            request,
            now,
            authorized,
            final_amount,
            source,
            status,
            error,
            latency,
            advice,
        )


def _open_trip(
    sim,
    store,
    shopper_id,
    trip_id,
    body,
    request,
    now,
    authorized,
    amount,
    source,
    status,
    error,
    latency,
    advice,
) -> dict:
    profile = sim.profile(shopper_id)
    preauth_status, reason = None, None
    if authorized:
        approved, reason = profiles.preauth(profile, amount)
        preauth_status = "APPROVED" if approved else "DECLINED"
    window = dt.timedelta(hours=float(store["preauthWindowHours"]))
    trip = {
        "tripId": trip_id,
        "storeId": request["storeId"],
        "shopperId": shopper_id,
        "currency": store["currency"],
        "exists": preauth_status == "APPROVED",
        "state": {"APPROVED": "PREAUTHORIZED", "DECLINED": "PREAUTH_DECLINED"}.get(
            preauth_status, "GATE_DENIED"
        ),
        "createdAt": wire.format_timestamp(now),
        "createdEpoch": now.timestamp(),
        "preauthAmount": amount,
        "authorizedAmount": amount if preauth_status == "APPROVED" else Decimal(0),
        "preauthDeadline": wire.format_timestamp(now + window),
        "interactionType": body.get("interactionType", "TAP"),
        "reconciliationId": f"REC{sim.rng.randrange(10**9, 10**10)}",
        "cardStatementTransactionId": f"TXN{sim.rng.randrange(10**9, 10**10)}",
        "outstanding": Decimal(0),
        "approvedEver": False,
        "events": [],
        "gate": {
            "request": request,
            "recommendation": advice,
            "decisionSource": source,
            "retailerStatus": status,
            "error": error,
            "latencyMs": round(latency, 2),
            "shopperAuthorized": authorized,
            "preauthStatus": preauth_status,
        },
    }
    gate_event = "GateEntry" if preauth_status == "APPROVED" else "GateDenied"
    events.emit_optional(sim, trip, "SHOPPER", gate_event, now)
    if preauth_status == "APPROVED":
        events.emit(sim, trip, "AuthorizationApproved", now, amount=amount)
        sim.schedule(now + window, "expire", trip_id)
    elif preauth_status == "DECLINED":
        events.emit(sim, trip, "AuthorizationDeclined", now, amount=amount, decline_reason=reason)
    if preauth_status:
        csv_reports.payment_row(sim, trip, "AUTHORIZATION", 1, preauth_status, amount, now)
    sim.history(
        trip,
        "gate",
        now,
        decisionSource=source,
        shopperAuthorized=authorized,
        preauthStatus=preauth_status,
        retailerStatus=status,
        error=error,
    )
    sim.database.put_trip(trip)
    return {
        "shoppingTripId": trip_id,
        "shopperAuthorized": authorized,
        "gateOpen": preauth_status == "APPROVED",
        "preauthAmount": amount,
        "preauthStatus": preauth_status,
        "declineReason": reason,
        "decisionSource": source,
        "recommendation": advice,
        "retailerStatus": status,
        "latencyMs": round(latency, 2),
        "error": error,
    }

"""Report Payment Status (contract §4), the balance book and Amazon's recommendation (§8.5)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from jwo_client import wire

from . import profiles
from .validation import Checker, unknown_trip

MIN_EPOCH_MS = 1_000_000_000_000
FUTURE_ALLOWANCE_MS = 5 * 60 * 1000


def report_payment_status(sim: Any, body: dict) -> tuple[int, dict | None]:
    check = Checker(body, sim.database)
    store_id = check.store_id()
    trip_id = check.trip_id()
    total = check.money("totalAmount", allow_zero=True)
    settled = check.money("settledAmount", allow_zero=True)
    if total and settled:
        if total[1] != settled[1]:
            check.problem("settledAmount.code", "INCONSISTENT")
        elif settled[0] > total[0]:
            check.problem("settledAmount.amount", "INCONSISTENT")
    status_time = body.get("paymentStatusTime")
    if status_time is None:
        check.problem("paymentStatusTime", wire.MISSING)
    elif isinstance(status_time, bool) or not isinstance(status_time, int):
        check.problem("paymentStatusTime", wire.WRONG_TYPE)
    else:
        now_ms = max(time.time(), sim.now().timestamp()) * 1000
        if status_time < MIN_EPOCH_MS or status_time > now_ms + FUTURE_ALLOWANCE_MS:
            check.problem("paymentStatusTime", wire.OUT_OF_RANGE)
    check.done()
    trip = sim.database.get_trip(trip_id)
    if trip is None or trip["storeId"] != store_id or not trip.get("exists"):
        raise unknown_trip()
    assert total is not None and settled is not None
    key = [str(total[0].normalize()), str(settled[0].normalize()), total[1]]
    last = trip.get("lastReport")
    if last is None or status_time > last["paymentStatusTime"]:
        outcome = "Accepted"
        trip["lastReport"] = {
            "paymentStatusTime": status_time,
            "key": key,
            "totalAmount": total[0],
            "settledAmount": settled[0],
            "code": total[1],
        }
        trip["outstanding"] = total[0] - settled[0]
    elif status_time == last["paymentStatusTime"] and key == last["key"]:
        outcome = "Accepted"
    else:
        outcome = "Rejected"
    trip.setdefault("reports", []).append(
        {
            "paymentStatusTime": status_time,
            "totalAmount": total[0],
            "settledAmount": settled[0],
            "code": total[1],
            "status": outcome,
        }
    )
    sim.database.put_trip(trip)
    return 200, {"status": outcome}


def recommendation(sim: Any, store: dict, shopper_id: str) -> dict:
    """Amazon's advice at the gate from the balance book and the card profile."""
    profile = sim.profile(shopper_id)
    risks: list[str] = []
    balances = sim.database.balances(shopper_id)
    if balances:
        risks.append("BadDebt")
        outstanding_trips = sum(entry["trips"] for entry in balances)
        in_currency = next(
            (entry["amount"] for entry in balances if entry["code"] == store["currency"]),
            Decimal(0),
        )
        if outstanding_trips >= 3 or in_currency > Decimal(store["highRiskThreshold"]):
            risks.append("NonpaymentHighRisk")
    for risk in profiles.card_risks(profile):
        if risk not in risks:
            risks.append(risk)
    advice: dict[str, Any] = {"shopperAuthorized": not risks, "shopperRisks": risks}
    reduced = (store.get("reducedPreauth") or {}).get(shopper_id)
    if not risks and reduced is not None:
        advice["authorizationConditions"] = [
            {
                "type": "ADJUST",
                "amount": {
                    "value": wire.money_to_wire(Decimal(reduced), store["currency"])["amount"],
                    "currencyCode": store["currency"],
                },
            }
        ]
    return advice

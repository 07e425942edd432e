"""Control API under ``/_sim/v1`` (contract §8.6): clock, stores, shoppers, gate, trips, faults,
balances, CSV, dead letters, reset. Answers are JSON; errors are ``{"error": "..."}``."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from jwo_client import wire

from . import csv_reports, engine, events, orders, profiles
from .connector_calls import ControlError, gate

PREFIX = "/_sim/v1"


def _need_object(body: Any) -> dict:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ControlError(400, "body must be a JSON object")
    return body


MAX_CLOCK_STEP_SECONDS = 100 * 366 * 86400  # a century: beyond it a datetime overflows


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        raise ValueError("advanceSeconds must be a number")
    seconds = float(value)
    if not math.isfinite(seconds) or abs(seconds) > MAX_CLOCK_STEP_SECONDS:
        raise ValueError(f"advanceSeconds must be at most {MAX_CLOCK_STEP_SECONDS}")
    return seconds


def clock(sim: Any, method: str, body: Any) -> dict:
    if method == "POST":
        body = _need_object(body)
        with sim.lock:
            try:
                if "setTo" in body or "mode" in body:
                    moment = wire.parse_timestamp(body["setTo"]) if body.get("setTo") else None
                    sim.clock.set(moment, body.get("mode") or "frozen")
                if "advanceSeconds" in body:
                    sim.clock.advance(_seconds(body["advanceSeconds"]))
            except (ValueError, KeyError, OverflowError) as exc:
                raise ControlError(400, str(exc)) from exc
        sim.run_due()
        if body.get("wait", True):
            sim.drain()
    with sim.lock:
        return sim.clock.describe()


def stores(sim: Any, method: str, store_id: str, body: Any) -> dict:
    with sim.lock:
        existing = sim.store(store_id)
        if method == "GET":
            if existing is None:
                raise ControlError(404, f"unknown store {store_id}")
            return existing
        if wire.string_problem(store_id, pattern=wire.ID_PATTERN):
            raise ControlError(400, "storeId must match ^[0-9a-zA-Z_-]+$ (1-255 chars)")
        try:
            config = engine.normalize_store(body, existing)
        except ValueError as exc:
            raise ControlError(400, str(exc)) from exc
        sim.database.put_store(store_id, config)
        csv_reports.ensure_schedule(sim, store_id)
        return config


def shoppers(sim: Any, method: str, shopper_id: str, body: Any) -> dict:
    with sim.lock:
        if method == "GET":
            profile = sim.database.get_shopper(shopper_id)
            if profile is None:
                raise ControlError(404, f"unknown shopper {shopper_id}")
            return profile
        try:
            profile = profiles.normalize(body)
        except ValueError as exc:
            raise ControlError(400, str(exc)) from exc
        sim.database.put_shopper(shopper_id, profile)
        return profile


def trip_view(sim: Any, trip_id: str) -> dict:
    with sim.lock:
        trip = sim.database.get_trip(trip_id)
        if trip is None:
            raise ControlError(404, f"unknown trip {trip_id}")
        trip["deliveries"] = events.for_trip(sim, trip_id)
        trip["scheduled"] = sim.database.jobs_for(trip_id)
        trip["outstanding"] = trip.get("outstanding", 0)
        return trip


def faults(sim: Any, method: str, body: Any) -> dict:
    with sim.lock:
        if method == "PUT":
            try:
                sim.faults.put(body)
            except ValueError as exc:
                raise ControlError(400, str(exc)) from exc
        return sim.faults.describe()


def _test_event(sim: Any, body: dict) -> dict:
    """Emit an ``isTest: true`` event for a trip (AE-6.9): stored by the retailer, no effect."""
    with sim.lock:
        trip = sim.database.get_trip(str(body.get("shoppingTripId")))
        if trip is None:
            raise ControlError(404, "unknown trip")
        detail = events.emit(
            sim, trip, body.get("eventType") or "AuthorizationApproved", sim.now(), is_test=True
        )
        sim.database.put_trip(trip)
        return detail


def route(sim: Any, method: str, path: str, body: Any) -> tuple[int, Any]:
    parts = [part for part in path[len(PREFIX) :].split("/") if part]
    head = parts[0] if parts else ""
    if head == "health" and method == "GET":
        return 200, {"status": "ok"}
    if head == "clock" and len(parts) == 1 and method in ("GET", "POST"):
        return 200, clock(sim, method, body)
    if head == "stores" and len(parts) == 2 and method in ("GET", "PUT"):
        return 200, stores(sim, method, parts[1], body)
    if head == "shoppers" and len(parts) == 2 and method in ("GET", "PUT"):
        return 200, shoppers(sim, method, parts[1], body)
    if head == "gate" and len(parts) == 1 and method == "POST":
        sim.run_due()
        return 200, gate(sim, body)
    if head == "trips" and len(parts) == 1 and method == "GET":
        with sim.lock:
            return 200, {"trips": sim.database.trip_ids()}
    if head == "trips" and len(parts) == 2 and method == "GET":
        sim.run_due()
        return 200, trip_view(sim, parts[1])
    if head == "trips" and len(parts) == 3 and method == "POST" and parts[2] in ("exit", "redrive"):
        sim.run_due()
        return 200, orders.exit_trip(
            sim, parts[1], _need_object(body), redrive=parts[2] == "redrive"
        )
    if head == "faults" and len(parts) == 1 and method in ("GET", "PUT"):
        return 200, faults(sim, method, body)
    if head == "balances" and len(parts) == 2 and method == "GET":
        with sim.lock:
            return 200, {"balances": sim.database.balances(parts[1])}
    if head == "csv" and parts[1:] == ["flush"] and method == "POST":
        body = _need_object(body)
        store_id = body.get("storeId")
        if store_id is not None and not isinstance(store_id, str):
            raise ControlError(400, "storeId must be a string")
        sim.run_due()
        with sim.lock:
            return 200, {"files": csv_reports.flush(sim, store_id)}
    if head == "events" and parts[1:] == ["dead-letter"] and method == "GET":
        with sim.lock:
            return 200, {"events": events.dead_letter(sim)}
    if head == "events" and parts[1:] == ["test"] and method == "POST":
        return 200, _test_event(sim, _need_object(body))
    if head == "drain" and method == "POST":
        sim.run_due()
        return 200, {"drained": sim.drain()}
    if head == "reset" and method == "POST":
        body = _need_object(body)
        seed = body.get("seed")
        sim.drain(timeout=10)
        sim.reset(seed if isinstance(seed, int) and not isinstance(seed, bool) else None)
        sim.drain(timeout=10)
        return 200, {"status": "reset"}
    raise ControlError(404, f"no control route {method} {path}")

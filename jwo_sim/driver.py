"""Shopper driver: ``python -m jwo_sim drive SCENARIO.json --sim-url URL [--out FILE]``.

Plays shoppers against the retailer's connectors through a running simulator: for every trip a
gate event (``POST /_sim/v1/gate``: the Fraud & Abuse connector with its 2 s deadline and the
§2.3 fallback), then, if the gate opened, the exit (``POST /_sim/v1/trips/{id}/exit``: Create
Purchases with Amazon's retries). Shoppers run concurrently in a bounded thread pool. The JSON
summary lists trips, gate decisions and latencies (p50/p95/p99), outcomes and errors.
Scenario format: see docs/simulator.md.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx

from jwo_client import wire

_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


def substitute(value: Any, env: dict[str, str]) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string of the scenario."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda m: env.get(m.group(1), m.group(2) or ""), value)
    if isinstance(value, list):
        return [substitute(item, env) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, env) for key, item in value.items()}
    return value


def load(path: str, env: dict[str, str] | None = None) -> dict:
    with open(path, encoding="utf-8") as handle:
        scenario = wire.loads(handle.read())
    if not isinstance(scenario, dict):
        raise ValueError("a scenario is a JSON object")
    return substitute(scenario, dict(os.environ if env is None else env))


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None, "count": 0}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 2)

    return {
        "p50": rank(0.50),
        "p95": rank(0.95),
        "p99": rank(0.99),
        "max": round(ordered[-1], 2),
        "count": len(ordered),
    }


def generate(spec: dict) -> list[dict]:
    """Deterministic shoppers from a ``generate`` block (its own ``seed``)."""
    rng = random.Random(spec.get("seed", 0))
    catalog = spec.get("catalog") or [{"id": "SKU-001", "type": "SKU", "unit": "unit"}]
    profiles = spec.get("profiles") or [{"weight": 1, "profile": {"profile": "APPROVE_ALL"}}]
    weights = [float(p.get("weight", 1)) for p in profiles]
    shoppers = []
    for index in range(int(spec.get("count", 10))):
        profile = rng.choices(profiles, weights)[0]["profile"]
        cart = []
        if rng.random() >= float(spec.get("pEmptyCart", 0)):
            for line in range(rng.randint(1, int(spec.get("maxItems", 5)))):
                item = rng.choice(catalog)
                unit = item.get("unit", "unit")
                value = str(rng.randint(1, 3)) if unit == "unit" else f"{rng.uniform(0.1, 2):.3f}"
                entry = {
                    "id": item["id"],
                    "type": item.get("type", "SKU"),
                    "quantity": {"value": value, "unit": unit},
                    "lineItemId": f"li-{line + 1}",
                }
                if rng.random() < float(spec.get("pUnknownSku", 0)):
                    entry["id"] = f"UNKNOWN-{rng.randint(1000, 9999)}"
                cart.append(entry)
        group = rng.random() < float(spec.get("pGroup", 0))
        shoppers.append(
            {
                "id": f"{spec.get('idPrefix', 'shopper-')}{index + 1:04d}",
                "store": spec["store"],
                "profile": profile,
                "trips": [
                    {
                        "interactionType": rng.choice(spec.get("interactionTypes", ["TAP"])),
                        "cart": cart,
                        "authEvents": rng.randint(2, 4) if group else 1,
                    }
                ],
            }
        )
    return shoppers


class Driver:
    def __init__(
        self,
        scenario: dict,
        sim_url: str,
        *,
        retailer_url: str | None = None,
        concurrency: int | None = None,
    ):
        self.scenario = scenario
        self.sim_url = sim_url.rstrip("/")
        self.retailer_url = retailer_url
        self.concurrency = max(1, int(concurrency or scenario.get("concurrency", 8)))
        self.client = httpx.Client(
            timeout=60, limits=httpx.Limits(max_connections=self.concurrency * 2)
        )
        self.lock = threading.Lock()
        self.trips: list[dict] = []
        self.errors: list[dict] = []
        token = os.environ.get("SIM_ADMIN_TOKEN")
        self.headers = {
            "Content-Type": "application/json",
            **({"X-Sim-Admin-Token": token} if token else {}),
        }

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.client.request(
            method,
            f"{self.sim_url}/_sim/v1{path}",
            content=None if body is None else wire.dumps(body),
            headers=self.headers,
        )
        answer = wire.loads(response.content) if response.content else None
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path} -> {response.status_code} {answer}")
        return answer

    def setup(self) -> list[dict]:
        scenario = self.scenario
        if scenario.get("reset"):
            self.control("POST", "/reset", {})
        if scenario.get("clock"):
            self.control("POST", "/clock", scenario["clock"])
        for store_id, config in (scenario.get("stores") or {}).items():
            config = dict(config)
            if self.retailer_url:
                config["retailerBaseUrl"] = self.retailer_url
                if "eventEndpointUrl" in config:
                    config["eventEndpointUrl"] = self.retailer_url
            self.control("PUT", f"/stores/{store_id}", config)
        if "faults" in scenario:
            self.control("PUT", "/faults", scenario["faults"])
        shoppers = list(scenario.get("shoppers") or [])
        if scenario.get("generate"):
            shoppers += generate(scenario["generate"])
        for shopper in shoppers:
            self.control(
                "PUT",
                f"/shoppers/{shopper['id']}",
                shopper.get("profile") or {"profile": "APPROVE_ALL"},
            )
        return shoppers

    def play(self, shopper: dict) -> None:
        for plan in shopper.get("trips") or [{"cart": []}]:
            record: dict[str, Any] = {"shopperId": shopper["id"], "storeId": shopper["store"]}
            try:
                gate_body = {
                    "storeId": shopper["store"],
                    "shopperIdentityId": shopper["id"],
                    "type": plan.get("type", "CREDIT_CARD"),
                    "interactionType": plan.get("interactionType", "TAP"),
                }
                started = time.monotonic()
                gate = self.control("POST", "/gate", gate_body)
                record.update(
                    tripId=gate["shoppingTripId"],
                    gateRoundTripMs=(time.monotonic() - started) * 1000,
                    decisionSource=gate["decisionSource"],
                    shopperAuthorized=gate["shopperAuthorized"],
                    gateOpen=gate["gateOpen"],
                    preauthStatus=gate["preauthStatus"],
                    retailerLatencyMs=float(gate["latencyMs"]),
                    retailerStatus=gate["retailerStatus"],
                    emptyCart=not plan.get("cart"),
                )
                if gate["gateOpen"]:
                    exit_body = {"cartItems": plan.get("cart") or []}
                    if plan.get("authEvents", 1) != 1:
                        exit_body["authEvents"] = plan["authEvents"]
                    order = self.control("POST", f"/trips/{gate['shoppingTripId']}/exit", exit_body)
                    record.update(
                        orderStatus=order["orderStatus"],
                        httpStatus=order["httpStatus"],
                        attempts=order["attempts"],
                        purchaseId=order["purchaseId"],
                    )
            except Exception as exc:  # noqa: BLE001 - every failure goes into the summary
                with self.lock:
                    self.errors.append({"shopperId": shopper["id"], "error": str(exc)})
            with self.lock:
                self.trips.append(record)

    def run(self) -> dict:
        started = time.monotonic()
        shoppers = self.setup()
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            list(pool.map(self.play, shoppers))
        if self.scenario.get("afterwards"):
            self.control("POST", "/clock", self.scenario["afterwards"])
        return self.summary(shoppers, time.monotonic() - started)

    def summary(self, shoppers: list[dict], duration: float) -> dict:
        trips = self.trips
        called = [t for t in trips if t.get("retailerStatus") is not None]
        return {
            "scenario": self.scenario.get("name", ""),
            "shoppers": len(shoppers),
            "trips": len(trips),
            "gate": {
                "authorized": sum(1 for t in trips if t.get("shopperAuthorized")),
                "denied": sum(1 for t in trips if t.get("shopperAuthorized") is False),
                "gateOpen": sum(1 for t in trips if t.get("gateOpen")),
                "preauthDeclined": sum(1 for t in trips if t.get("preauthStatus") == "DECLINED"),
                "bySource": dict(
                    Counter(t["decisionSource"] for t in trips if "decisionSource" in t)
                ),
                "retailerLatencyMs": percentiles([t["retailerLatencyMs"] for t in called]),
                "roundTripMs": percentiles(
                    [t["gateRoundTripMs"] for t in trips if "gateRoundTripMs" in t]
                ),
            },
            "orders": {
                "byStatus": dict(Counter(t["orderStatus"] for t in trips if "orderStatus" in t)),
                "byHttpStatus": dict(
                    Counter(str(t["httpStatus"]) for t in trips if "orderStatus" in t)
                ),
                "emptyCarts": sum(1 for t in trips if t.get("emptyCart") and t.get("gateOpen")),
                "attempts": sum(t.get("attempts", 0) for t in trips),
            },
            "errors": self.errors,
            "durationSeconds": round(duration, 3),
            "tripIds": [t["tripId"] for t in trips if "tripId" in t],
        }


def run(scenario: dict, sim_url: str, **options: Any) -> dict:
    driver = Driver(scenario, sim_url, **options)
    try:
        return driver.run()
    finally:
        driver.client.close()


def main(args: Any) -> int:
    try:
        scenario = load(args.scenario)
        summary = run(
            scenario, args.sim_url, retailer_url=args.retailer_url, concurrency=args.concurrency
        )
    except (OSError, ValueError, RuntimeError, httpx.HTTPError) as exc:
        print(f"drive failed: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(
        summary, indent=2, default=lambda v: str(v) if isinstance(v, Decimal) else repr(v)
    )
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    return 1 if summary["errors"] else 0

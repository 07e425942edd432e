"""The simulator's core: storage, clock, seeded randomness, scheduled work and the worker.

Every state change happens under ``Simulator.lock``; network calls happen outside it. Work that
is due on the business clock (expiries, delayed outcomes, CSV cuts) is kept as job rows and run
in due order whenever the clock is read by a request, advanced, or by the background worker.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from jwo_client import wire
from jwo_client.sigv4 import Credentials

from . import csv_reports, events, faults, payment_api
from .clock import BusinessClock
from .store import Database

log = logging.getLogger("jwo_sim")

STATE_JOBS = ("expire", "cancel_done", "capture_done", "refund_done", "csv_cut")
HISTORY_LIMIT = 500
FA_MODES = ("AMAZON_RECOMMENDATION", "AMAZON_MANAGED", "RETAILER_MANAGED")
STORE_DEFAULTS: dict[str, Any] = {
    "preauthAmount": Decimal("50.00"),
    "currency": "USD",
    "preauthWindowHours": 46,
    "refundWindowDays": 30,
    "faMode": "AMAZON_RECOMMENDATION",
    "highRiskThreshold": None,
    "asyncDelaySeconds": 0,
    "retailerBaseUrl": None,
    "eventEndpointUrl": None,
    "eventApiKey": None,
    "csvTarget": None,
    "csvIntervalMinutes": 15,
    "reducedPreauth": {},
    "orderingEvents": False,  # §5.1 MAY: CartCreated, PurchaseCreated
    "shopperEvents": False,  # §5.1 MAY: GateEntry, GateDenied, GateExit
}


@dataclass
class Options:
    db_path: str
    seed: int = 0
    verify: bool = True
    retailer_keys: dict[str, str] = field(default_factory=dict)
    signing: Credentials | None = None
    region: str = "us-east-1"
    csv_dir: str = "var/sim-csv"
    admin_token: str | None = None
    tick_seconds: float = 0.2


def epoch(moment: dt.datetime) -> float:
    return moment.timestamp()


def from_epoch(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def normalize_store(raw: Any, existing: dict | None) -> dict:
    """Validate a ``PUT /_sim/v1/stores/{id}`` body over the defaults (contract §8.1)."""
    if not isinstance(raw, dict):
        raise ValueError("body must be a JSON object")
    unknown = sorted(set(raw) - set(STORE_DEFAULTS))
    if unknown:
        raise ValueError(
            f"unknown store keys {', '.join(unknown)}; allowed: {', '.join(STORE_DEFAULTS)}"
        )
    config = dict(existing or STORE_DEFAULTS)
    config.update(raw)
    currency = config["currency"]
    if currency not in wire.CURRENCY_EXPONENTS:
        raise ValueError("currency must be one of " + ", ".join(wire.CURRENCY_EXPONENTS))
    if "highRiskThreshold" not in raw and (existing is None or "currency" in raw):
        config["highRiskThreshold"] = None
    if config["highRiskThreshold"] is None:
        config["highRiskThreshold"] = Decimal(10000) if currency == "JPY" else Decimal("100.00")
    for key in ("preauthAmount", "highRiskThreshold"):
        if wire.wire_amount_problem(config[key], currency, allow_zero=False):
            raise ValueError(f"{key} must be a positive amount in {currency}")
        config[key] = Decimal(config[key])
    for key in (
        "preauthWindowHours",
        "refundWindowDays",
        "asyncDelaySeconds",
        "csvIntervalMinutes",
    ):
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int | Decimal) or value < 0:
            raise ValueError(f"{key} must be a non-negative number")
    if config["csvIntervalMinutes"] <= 0:
        raise ValueError("csvIntervalMinutes must be positive")
    if config["faMode"] not in FA_MODES:
        raise ValueError("faMode must be one of " + ", ".join(FA_MODES))
    for key in ("orderingEvents", "shopperEvents"):
        if not isinstance(config[key], bool):
            raise ValueError(f"{key} must be true or false")
    for key in ("retailerBaseUrl", "eventEndpointUrl", "eventApiKey", "csvTarget"):
        if config[key] is not None and not isinstance(config[key], str):
            raise ValueError(f"{key} must be a string")
    reduced = config.get("reducedPreauth") or {}
    if not isinstance(reduced, dict):
        raise ValueError("reducedPreauth must map shopper ids to amounts")
    for shopper, amount in reduced.items():
        if wire.wire_amount_problem(amount, currency, allow_zero=False):
            raise ValueError(f"reducedPreauth[{shopper}] must be a positive amount")
    config["reducedPreauth"] = reduced
    return config


class Simulator:
    def __init__(self, options: Options):
        self.options = options
        self.database = Database(options.db_path)
        self.lock = self.database.lock
        self.clock = BusinessClock(self.database)
        self.rng = random.Random(options.seed)
        self.faults = faults.Faults(self)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._passes_started = 0
        self._passes_completed = 0
        self._last_pass_worked = False
        self._worker: threading.Thread | None = None

    # basics ---------------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return self.clock.now()

    def new_uuid(self) -> str:
        with self.lock:
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def store(self, store_id: str) -> dict | None:
        return self.database.get_store(store_id)

    def profile(self, shopper_id: str) -> dict:
        return self.database.get_shopper(shopper_id) or {
            "profile": "APPROVE_ALL",
            "declineCapture": False,
            "declineRefund": False,
        }

    def csv_target(self, store: dict) -> str:
        return store.get("csvTarget") or self.options.csv_dir

    def history(self, trip: dict, kind: str, at: dt.datetime, **data: Any) -> None:
        entries = trip.setdefault("history", [])
        entries.append({"at": wire.format_timestamp(at, millis=True), "kind": kind, **data})
        if len(entries) > HISTORY_LIMIT:
            del entries[: len(entries) - HISTORY_LIMIT]

    def schedule(self, due: dt.datetime, kind: str, ref: str, data: dict | None = None) -> None:
        self.database.add_job(epoch(due), kind, ref, data)
        self.kick()

    def reset(self, seed: int | None = None) -> None:
        with self.lock:
            self.database.clear()
            self.clock.reload()
            self.rng.seed(self.options.seed if seed is None else seed)
            self.faults.reset()

    # scheduled work -------------------------------------------------------------------------
    def run_due(self) -> int:
        """Run every state job due at the business time, in due order; return the count."""
        count = 0
        with self.lock:
            now = epoch(self.now())
            while True:
                job = self.database.pop_due_job(now, STATE_JOBS)
                if job is None:
                    return count
                count += 1
                at = from_epoch(job["due"])
                try:
                    if job["kind"] == "csv_cut":
                        csv_reports.scheduled_cut(self, job["ref"], at)
                    else:
                        payment_api.run_job(self, job, at)
                except Exception:
                    log.exception("scheduled job %s failed", job)

    def kick(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._worker = threading.Thread(target=self._loop, name="jwo-sim-worker", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._worker:
            self._worker.join(timeout=5)

    def _loop(self) -> None:
        from . import orders

        while not self._stop.is_set():
            self._wake.wait(self.options.tick_seconds)
            self._wake.clear()
            with self._cond:
                self._passes_started += 1
            worked = False
            try:
                worked = self.run_due() > 0
                worked = events.deliver_due(self) or worked
                worked = orders.run_due_orders(self) or worked
            except Exception:
                log.exception("worker pass failed")
            with self._cond:
                self._passes_completed += 1
                self._last_pass_worked = worked
                self._cond.notify_all()

    def drain(self, timeout: float = 20.0) -> bool:
        """Wait until a full worker pass finds nothing due; ``False`` on timeout."""
        if self._worker is None:
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                target = self._passes_started + 1
                self._wake.set()
                while self._passes_completed < target:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._cond.wait(remaining)
                    self._wake.set()
                if not self._last_pass_worked:
                    return True
        return False


def default_csv_dir(db_path: str) -> str:
    base = os.path.dirname(os.path.abspath(db_path))
    return os.path.join(base, "csv")

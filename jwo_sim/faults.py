"""Fault injection (contract §8.4): per-path probabilities, a scripted queue, 429 lockouts.

Config (``PUT /_sim/v1/faults``)::

    {"/v1/capture/charge": {"p503": 0.2, "phase": "after", "delayMs": 0, "pExtraFields": 0,
                            "holdMs": 11000},
     "*": {...},                      # every R→A path
     "script": [{"path": "/v1/adjust/charge", "status": 429, "count": 2, "phase": "before"},
                {"path": "/v1/refund", "kind": "timeout"}],
     "strict429": true,
     "events": {"pDuplicate": 0.5, "pReorder": 0.2, "pDrop": 0.0},
     "csv": {"pRowRepeat": 0.1, "pSplitTrip": 0.1}}
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

PROBABILITIES = (
    ("p429", "status", 429),
    ("p500", "status", 500),
    ("p503", "status", 503),
    ("pTimeout", "timeout", None),
    ("pReset", "reset", None),
)
PATH_KEYS = {
    "p429",
    "p500",
    "p503",
    "pTimeout",
    "pReset",
    "phase",
    "delayMs",
    "pExtraFields",
    "holdMs",
}
EVENT_KEYS = {"pDuplicate", "pReorder", "pDrop"}
CSV_KEYS = {"pRowRepeat", "pSplitTrip"}
RETRY_AFTER_429 = 600
RETRY_AFTER_503 = 30
DEFAULT_HOLD_MS = 11000


@dataclass
class Fault:
    kind: str  # "status", "timeout" or "reset"
    status: int | None
    phase: str
    hold_ms: int
    retry_after: int | None = None
    echo: bool = False  # a strict429 repeat inside a lockout: it must not extend the lockout

    def describe(self) -> str:
        return f"{self.status or self.kind}/{self.phase}"


def _probability(value: Any, name: str) -> float:
    if isinstance(value, bool) or (
        not isinstance(value, int | float) and not hasattr(value, "is_finite")
    ):
        raise ValueError(f"{name} must be a number between 0 and 1")
    number = float(value)
    if not 0 <= number <= 1:
        raise ValueError(f"{name} must be between 0 and 1")
    return number


def normalize(raw: Any) -> dict:
    """Validate a faults body; raise ``ValueError`` naming the problem."""
    if not isinstance(raw, dict):
        raise ValueError("body must be a JSON object")
    config: dict[str, Any] = {
        "paths": {},
        "script": [],
        "strict429": False,
        "events": {},
        "csv": {},
    }
    for key, value in raw.items():
        if key.startswith("/") or key == "*":
            if not isinstance(value, dict) or set(value) - PATH_KEYS:
                raise ValueError(f"{key}: allowed keys are {', '.join(sorted(PATH_KEYS))}")
            entry: dict[str, Any] = {}
            for name, item in value.items():
                if name == "phase":
                    if item not in ("before", "after"):
                        raise ValueError(f"{key}.phase must be before or after")
                    entry[name] = item
                elif name in ("delayMs", "holdMs"):
                    if isinstance(item, bool) or not isinstance(item, int) or item < 0:
                        raise ValueError(f"{key}.{name} must be a non-negative integer")
                    entry[name] = item
                else:
                    entry[name] = _probability(item, f"{key}.{name}")
            config["paths"][key] = entry
        elif key == "script":
            config["script"] = [_script_entry(item) for item in value or []]
        elif key == "strict429":
            if not isinstance(value, bool):
                raise ValueError("strict429 must be true or false")
            config["strict429"] = value
        elif key in ("events", "csv"):
            allowed = EVENT_KEYS if key == "events" else CSV_KEYS
            if not isinstance(value, dict) or set(value) - allowed:
                raise ValueError(f"{key}: allowed keys are {', '.join(sorted(allowed))}")
            config[key] = {
                name: _probability(item, f"{key}.{name}") for name, item in value.items()
            }
        else:
            raise ValueError(f"unknown key {key}")
    return config


def _script_entry(item: Any) -> dict:
    if not isinstance(item, dict) or not isinstance(item.get("path"), str):
        raise ValueError("script entries need a path")
    status, kind = item.get("status"), item.get("kind", "status")
    if kind not in ("status", "timeout", "reset"):
        raise ValueError("script kind must be status, timeout or reset")
    if kind == "status" and status not in (429, 500, 503):
        raise ValueError("script status must be 429, 500 or 503")
    count = item.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError("script count must be a positive integer")
    phase = item.get("phase", "before")
    if phase not in ("before", "after"):
        raise ValueError("script phase must be before or after")
    hold = item.get("holdMs", DEFAULT_HOLD_MS)
    if isinstance(hold, bool) or not isinstance(hold, int) or hold < 0:
        raise ValueError("script holdMs must be a non-negative integer")
    retry_after = item.get("retryAfter")
    if retry_after is not None and (
        isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 1
    ):
        raise ValueError("script retryAfter must be a positive integer (seconds)")
    return {
        "path": item["path"],
        "kind": kind,
        "status": status if kind == "status" else None,
        "count": count,
        "phase": phase,
        "holdMs": hold,
        "retryAfter": retry_after,
    }


class Faults:
    def __init__(self, simulator: Any):
        self.sim = simulator
        self.lockouts: dict[tuple[str, str], dt.datetime] = {}
        self.stats: dict[str, Any] = {"served": {}, "earlyCalls": {}}

    def reset(self) -> None:
        self.lockouts.clear()
        self.stats = {"served": {}, "earlyCalls": {}}

    @property
    def config(self) -> dict:
        return self.sim.database.kv_get("faults") or normalize({})

    def put(self, raw: Any) -> dict:
        config = normalize(raw)
        self.sim.database.kv_put("faults", config)
        return config

    def path_config(self, path: str) -> dict:
        paths = self.config["paths"]
        merged = dict(paths.get("*", {})) if path.startswith("/v1/") and path in _RA_PATHS else {}
        merged.update(paths.get(path, {}))
        return merged

    def lockout_check(self, key: str, path: str) -> Fault | None:
        """Under a 429 lockout: count the early call; with ``strict429`` answer 429 again."""
        until = self.lockouts.get((key, path))
        now = self.sim.now()
        if until is None or now >= until:
            return None
        early = self.stats["earlyCalls"]
        early[path] = early.get(path, 0) + 1
        if not self.config["strict429"]:
            return None
        remaining = max(1, math.ceil((until - now).total_seconds()))
        return Fault("status", 429, "before", 0, retry_after=remaining, echo=True)

    def pick(self, path: str) -> Fault | None:
        """The fault for this call, if any: the scripted queue first, then probabilities."""
        config = self.config
        for index, entry in enumerate(config["script"]):
            if entry["path"] in (path, "*"):
                entry["count"] -= 1
                if entry["count"] <= 0:
                    config["script"].pop(index)
                self.sim.database.kv_put("faults", config)
                return self._served(
                    path,
                    Fault(
                        entry["kind"],
                        entry["status"],
                        entry["phase"],
                        entry["holdMs"],
                        entry.get("retryAfter"),
                    ),
                )
        settings = self.path_config(path)
        draw = self.sim.rng.random()
        threshold = 0.0
        for name, kind, status in PROBABILITIES:
            threshold += float(settings.get(name, 0.0))
            if draw < threshold:
                fault = Fault(
                    kind,
                    status,
                    settings.get("phase", "before"),
                    settings.get("holdMs", DEFAULT_HOLD_MS),
                )
                return self._served(path, fault)
        return None

    def _served(self, path: str, fault: Fault) -> Fault:
        served = self.stats["served"].setdefault(path, {})
        served[fault.describe()] = served.get(fault.describe(), 0) + 1
        return fault

    def note_429(self, key: str, path: str, retry_after: int) -> None:
        self.lockouts[(key, path)] = self.sim.now() + dt.timedelta(seconds=retry_after)

    def extra_fields(self, path: str) -> dict | None:
        probability = float(self.path_config(path).get("pExtraFields", 0.0))
        if probability and self.sim.rng.random() < probability:
            return {"note": "unknown field, ignore it", "n": self.sim.rng.randint(1, 999)}
        return None

    def delay_ms(self, path: str) -> int:
        return int(self.path_config(path).get("delayMs", 0))

    def probability(self, group: str, name: str) -> bool:
        value = float(self.config[group].get(name, 0.0))
        return bool(value) and self.sim.rng.random() < value

    def describe(self) -> dict:
        lockouts = [
            {"key": key, "path": path, "until": until.isoformat()}
            for (key, path), until in self.lockouts.items()
        ]
        return {**self.config, "stats": self.stats, "lockouts": lockouts}


def error_body(status: int) -> tuple[dict, dict[str, str]]:
    if status == 429:
        return {"errorMsg": "TooManyRequestsException"}, {"Retry-After": str(RETRY_AFTER_429)}
    if status == 503:
        return (
            {"errorMsg": "ServiceUnavailableException", "retryAfter": RETRY_AFTER_503},
            {"Retry-After": str(RETRY_AFTER_503)},
        )
    return {"errorMsg": "InternalServerException"}, {}


_RA_PATHS = {
    "/v1/adjust/charge",
    "/v1/cancel/charge",
    "/v1/capture/charge",
    "/v1/refund",
    "/v1/payment/transactional-data",
    "/v1/identity/shopper",
    "/v1/feedback/payment-status",
}

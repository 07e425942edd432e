"""The business clock (contract §8.3): real, frozen or offset; it can be set or advanced.

SigV4 never uses it (§0.7). The state is kept in the database so it survives restarts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from jwo_client import wire

MODES = ("real", "frozen", "offset")


def wall_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def from_epoch(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(float(seconds), tz=dt.UTC)


class BusinessClock:
    def __init__(self, database: Any):
        self.database = database
        self.reload()

    def reload(self) -> None:
        with self.database.lock:
            self._cache = self.database.kv_get(
                "clock", {"mode": "real", "offset": 0, "frozenAt": None}
            )

    def _state(self) -> dict:
        return dict(self._cache)

    def _save(self, state: dict) -> None:
        with self.database.lock:
            self.database.kv_put("clock", state)
            self._cache = state

    def mode(self) -> str:
        return self._state()["mode"]

    def now(self) -> dt.datetime:
        state = self._state()
        if state["mode"] == "frozen":
            return wire.parse_timestamp(state["frozenAt"])
        if state["mode"] == "offset":
            return wall_now() + dt.timedelta(seconds=float(state["offset"]))
        return wall_now()

    def describe(self) -> dict:
        state = self._state()
        return {
            "now": wire.format_timestamp(self.now(), millis=True),
            "mode": state["mode"],
            "offsetSeconds": float(state["offset"]) if state["mode"] == "offset" else 0,
        }

    def set(self, moment: dt.datetime | None, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        target = moment or self.now()
        if mode == "real":
            state = {"mode": "real", "offset": 0, "frozenAt": None}
        elif mode == "frozen":
            state = {
                "mode": "frozen",
                "offset": 0,
                "frozenAt": wire.format_timestamp(target, millis=True),
            }
        else:
            offset = (target - wall_now()).total_seconds()
            state = {"mode": "offset", "offset": offset, "frozenAt": None}
        self._save(state)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("advanceSeconds must not be negative")
        state = self._state()
        if state["mode"] == "frozen":
            frozen = wire.parse_timestamp(state["frozenAt"]) + dt.timedelta(seconds=seconds)
            state["frozenAt"] = wire.format_timestamp(frozen, millis=True)
        else:
            state = {"mode": "offset", "offset": float(state["offset"]) + seconds, "frozenAt": None}
        self._save(state)

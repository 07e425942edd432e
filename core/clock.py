"""The business clock: every deadline, backoff, pause, window and sweep reads ``clock.now()``.

In production it is the wall clock. When ``JWO_CLOCK_SOURCE`` names a simulator's clock endpoint
(contract §8.3), the business time follows the simulator, cached for at most one second, so a test
that moves the simulator 600 s or 46 h forward sees our retries and deadlines move with it.
Tests without a simulator may pin the time with ``clock.override``.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
from django.conf import settings

from jwo_client.wire import parse_timestamp

logger = logging.getLogger(__name__)

_CACHE_SECONDS = 1.0
_lock = threading.Lock()
_state: dict = {"fetched_at": None, "sim_now": None, "mode": None, "offset": None}
_override: dict = {"now": None}


def wall_now() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    """The current business time, timezone-aware UTC."""
    pinned = _override["now"]
    if pinned is not None:
        return pinned
    source = getattr(settings, "JWO_CLOCK_SOURCE", None)
    if not source:
        return wall_now()
    return _simulated_now(source)


def _simulated_now(source: str) -> datetime:
    with _lock:
        fetched_at = _state["fetched_at"]
        if fetched_at is None or time.monotonic() - fetched_at > _CACHE_SECONDS:
            _refresh(source)
        if _state["sim_now"] is None:
            return wall_now()
        if _state["mode"] == "frozen":
            return _state["sim_now"]
        return _state["sim_now"] + timedelta(seconds=time.monotonic() - _state["fetched_at"])


def _refresh(source: str) -> None:
    try:
        response = httpx.get(source, timeout=httpx.Timeout(2.0, connect=1.0))
        response.raise_for_status()
        body = response.json()
        _state["sim_now"] = parse_timestamp(body["now"])
        _state["mode"] = body.get("mode", "real")
        _state["fetched_at"] = time.monotonic()
    except (httpx.HTTPError, KeyError, ValueError) as error:
        # Keep the last known simulated time moving rather than jumping back to wall time.
        logger.warning("business clock source unreachable", extra={"error": type(error).__name__})
        if _state["sim_now"] is not None:
            _state["sim_now"] += timedelta(seconds=time.monotonic() - _state["fetched_at"])
            _state["fetched_at"] = time.monotonic()


def invalidate() -> None:
    """Forget the cached simulated time (after a test moves the simulator's clock)."""
    with _lock:
        _state["fetched_at"] = None


@contextmanager
def override(at: datetime):
    """Pin the business time inside a block (tests without a simulator)."""
    if at.tzinfo is None:
        raise ValueError("business time must be timezone-aware")
    previous = _override["now"]
    _override["now"] = at
    try:
        yield
    finally:
        _override["now"] = previous


def advance_override(seconds: float) -> None:
    if _override["now"] is None:
        raise RuntimeError("no pinned business time to advance")
    _override["now"] = _override["now"] + timedelta(seconds=seconds)

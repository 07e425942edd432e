"""Count gate fallbacks in an operator alert without making the alert row a hotspot.

A fallback happens when the database is slow; raising an alert is itself a write to one row per
store. So within one process the first fallback of a window raises (or bumps) the alert at once,
later ones in the same window are only counted, and the count is added with the next raise after
the window (``occurrences`` grows by the number of fallbacks, not the number of raises). The
decision log keeps the exact count of fallback decisions (``source = FALLBACK``).
"""

import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError
from django.db.models import F

from core.alerts import alert_raise
from core.models import Alert

from ..deadline import BudgetExceeded, statement_deadline

logger = logging.getLogger("jwo.gate")

_lock = threading.Lock()
_pending: dict[
    str, list
] = {}  # alert key -> [occurrences not yet added, monotonic time of last raise]


def _throttle_seconds() -> float:
    return float(getattr(settings, "GATE_ALERT_THROTTLE_SECONDS", 5.0))


def gate_fallback_count(*, store_id: str, reason: str | None, recorded: bool) -> None:
    """Count one fallback (``reason``) or one decision that could not be recorded (None)."""
    kind = "gate.fallback" if reason else "gate.unrecorded"
    key = f"{kind}:{store_id}"
    now = time.monotonic()
    with _lock:
        entry = _pending.setdefault(key, [0, None])
        entry[0] += 1
        if entry[1] is not None and now - entry[1] < _throttle_seconds():
            return
        occurrences, entry[0], entry[1] = entry[0], 0, now
    message = (
        f"Gate for store {store_id} answered with its fallback ({reason})"
        if reason
        else f"Gate for store {store_id} could not record a decision"
    )
    budget = getattr(settings, "GATE_ALERT_BUDGET_MS", 200) / 1000
    try:
        with statement_deadline(budget):
            alert = alert_raise(
                key=key,
                kind=kind,
                message=message,
                context={"store_id": store_id, "reason": reason or "", "recorded": recorded},
            )
            if occurrences > 1:
                Alert.objects.filter(pk=alert.pk).update(
                    occurrences=F("occurrences") + (occurrences - 1)
                )
    except (BudgetExceeded, DatabaseError):
        with _lock:  # keep the count for the next raise
            _pending[key][0] += occurrences
        logger.exception("gate: could not raise the gate alert", extra={"store_id": store_id})


def pending_reset() -> None:
    """Forget counts not yet raised (tests)."""
    with _lock:
        _pending.clear()

"""Apply the answers to capture and cancel calls, and the end of a call that could not be made.

Each function locks the trip, then the charge, checks that the answer still applies to the
charge's current state (a duplicate or late answer changes nothing), and applies it.
"""

from __future__ import annotations

from django.db import transaction

from ..enums import ADJUST_STATES, CallOutcome, ChargeState
from ..locks import trip_and_charge_for_update
from .settlement import (
    ACTOR,
    cancel_done,
    capture_failed,
    capture_initiated,
    charge_expire,
    charge_park,
)


def charge_apply_capture(*, payload: dict, result: dict, actor: str = ACTOR) -> str:
    if result.get("outcome") == "STALE":
        return "stale"
    with transaction.atomic(savepoint=False):  # inside on_success: no savepoint
        trip, charge = trip_and_charge_for_update(trip_pk=payload["trip_pk"])
        if charge is None or charge.state != ChargeState.CAPTURING:
            return "stale"
        outcome = result["outcome"]
        if outcome == CallOutcome.OK:
            capture_initiated(trip, charge, actor=actor)
            return "initiated"
        if outcome == CallOutcome.EXPIRED:
            return charge_expire(trip, charge, source="capture: ShoppingTripExpiredException")
        capture_failed(
            trip, charge, detail=f"{result.get('httpStatus')} {result.get('errorMsg') or outcome}"
        )
        return "failed"


def charge_apply_cancel(*, payload: dict, result: dict, actor: str = ACTOR) -> str:
    if result.get("outcome") == "STALE":
        return "stale"
    with transaction.atomic(savepoint=False):  # inside on_success: no savepoint
        trip, charge = trip_and_charge_for_update(trip_pk=payload["trip_pk"])
        if charge is None or charge.state != ChargeState.CANCELLING:
            return "stale"
        outcome = result["outcome"]
        if outcome == CallOutcome.OK:
            cancel_done(trip, charge, actor=actor)
            return "cancelled"
        if outcome == CallOutcome.EXPIRED:
            return charge_expire(trip, charge, source="cancel: ShoppingTripExpiredException")
        charge_park(
            trip,
            charge,
            reason=f"cancel refused: {result.get('httpStatus')} "
            f"{result.get('errorMsg') or outcome}",
        )
        return "parked"


def charge_call_given_up(*, payload: dict, operation: str, detail: str) -> str:
    """The outbox gave up on a call (retries exhausted, deadline reached, or 403): park the trip.

    Runs inside the transaction that marks the outbox row dead. An answer that arrived through
    another delivery already moved the charge on; then there is nothing to do.
    """
    trip, charge = trip_and_charge_for_update(trip_pk=payload["trip_pk"])
    if charge is None:
        return "stale"
    expected = {
        "adjust": ADJUST_STATES,
        "capture": {ChargeState.CAPTURING},
        "cancel": {ChargeState.CANCELLING},
    }[operation]
    if charge.state not in expected:
        return "stale"
    if operation == "adjust" and payload.get("seq") != charge.adjust_seq:
        return "stale"
    charge_park(trip, charge, reason=f"{operation} not delivered: {detail}"[:300])
    return "parked"

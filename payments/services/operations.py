"""Drive stuck charges forward: the operator's one-click retry, the janitor, the deadline watcher.

Each of them re-sends the idempotent call for the charge's current state (a *probe*: the same
adjust amount, the same capture, the same cancel, under a fresh outbox key) and lets the answer
decide, so nothing is done blindly: an expired trip answers ShoppingTripExpiredException and
becomes expired with its debt; a capture that happened answers 200.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, transaction

from core.alerts import alert_raise
from core.audit import audit_record
from core.clock import now as business_now
from core.errors import ApplicationError
from core.models import AlertSeverity, OutboxMessage, OutboxStatus
from trips.enums import TripState
from trips.models import ShoppingTrip

from ..enums import ADJUST_STATES, WORKING_STATES, AdjustPurpose, ChargeState
from ..locks import trip_and_charge_for_update
from ..models import Charge
from ..transitions import charge_transition
from .calls import CHARGE_CALL_KINDS, enqueue_adjust, enqueue_cancel, enqueue_capture
from .charges import charge_open, search_cut_short
from .settlement import (
    ZERO,
    capture_failed,
    charge_expire,
    charge_flag,
    charge_park,
    report,
    trip_move,
)

logger = logging.getLogger(__name__)

PROBE_SPACING = timedelta(minutes=10)


def _current_purpose(charge: Charge) -> str:
    if not charge.searching:
        return AdjustPurpose.TOTAL
    if charge.search_low > 0 and charge.requested_amount == charge.search_low:
        return AdjustPurpose.CONFIRM
    return AdjustPurpose.SEARCH


def charge_redrive(trip: ShoppingTrip, charge: Charge, *, actor: str, reason: str) -> str:
    """Queue the call of the charge's current state again (caller holds trip and charge)."""
    if charge.state not in WORKING_STATES:
        return "nothing-to-send"
    charge.probe_count += 1
    charge.last_probe_at = business_now()
    charge.save(update_fields=["probe_count", "last_probe_at", "updated_at"])
    probe = charge.probe_count
    if charge.state in ADJUST_STATES:
        enqueue_adjust(trip=trip, charge=charge, purpose=_current_purpose(charge), probe=probe)
    elif charge.state == ChargeState.CAPTURING:
        enqueue_capture(trip=trip, charge=charge, probe=probe)
    else:
        enqueue_cancel(trip=trip, charge=charge, probe=probe)
    audit_record(
        entity="charge",
        entity_id=charge.audit_id,
        action="redrive",
        from_state=charge.state,
        to_state=charge.state,
        actor=actor,
        reason=reason[:500],
        context={"trip_id": trip.pk, "probe": probe},
    )
    return "redriven"


def charge_retry(*, trip_pk: int, actor: str) -> str:
    """Operator action on a parked trip: back to SETTLING and ask Amazon again now."""
    with transaction.atomic():
        trip, charge = trip_and_charge_for_update(trip_pk=trip_pk)
        if trip.state != TripState.NEEDS_REVIEW:
            return "not-parked"
        if charge is None:
            return "no-charge"
        if charge.state not in WORKING_STATES:
            return "nothing-to-retry"
        trip_move(trip, TripState.SETTLING, reason="operator retry", actor=actor)
        return charge_redrive(trip, charge, actor=actor, reason="operator retry")


def charge_void(*, trip_pk: int, actor: str, reason: str = "voided by staff") -> str:
    """Operator: release the pre-auth instead of charging (a staff test trip, a goodwill gesture).

    Allowed only before any capture was requested, so it can never race a capture to Amazon:
    the charge lock decides which of the two is queued. The cart is waived: the trip is
    released and reported 0/0.
    """
    with transaction.atomic():
        trip, charge = trip_and_charge_for_update(trip_pk=trip_pk)
        if charge is None or charge.state not in ADJUST_STATES:
            return "too-late"
        charge_transition(
            charge=charge,
            to_state=ChargeState.CANCELLING,
            actor=actor,
            reason=reason,
            updates={"approved_amount": None},
        )
        trip_move(trip, TripState.RELEASED, reason=reason, actor=actor, settled=ZERO)
        report(trip, total=ZERO, settled=ZERO, reason="VOIDED")
        enqueue_cancel(trip=trip, charge=charge)
        return "voided"


def has_live_call(trip: ShoppingTrip) -> bool:
    return OutboxMessage.objects.filter(
        trip_ref=trip.shopping_trip_id,
        store_ref=trip.store.store_id,
        kind__in=CHARGE_CALL_KINDS,
        status__in=[OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT],
    ).exists()


def _each_locked(trip_pks, action) -> int:
    done = 0
    for trip_pk in trip_pks:
        try:
            with transaction.atomic():
                trip, charge = trip_and_charge_for_update(trip_pk=trip_pk)
                if action(trip, charge):
                    done += 1
        except (DatabaseError, ApplicationError):
            # One bad trip must not stop the sweep; it is logged and retried next sweep.
            logger.exception("payments sweep failed on a trip", extra={"trip": trip_pk})
    return done


def charges_janitor(*, limit: int = 200) -> dict[str, int]:
    """Find trips stuck in a non-terminal state and drive them forward (beat, every minute)."""
    now = business_now()
    stale = now - timedelta(seconds=settings.PAYMENTS_JANITOR_STALE_SECONDS)
    counts = {"opened": 0, "redriven": 0, "flagged": 0}
    unopened = ShoppingTrip.objects.filter(
        state__in=[TripState.PRICED, TripState.EMPTY],
        charge__isnull=True,
        state_changed_at__lt=stale,
    ).values_list("pk", flat=True)[:limit]
    for trip_pk in unopened:
        if charge_open(trip_pk=trip_pk, actor="system:janitor") is not None:
            counts["opened"] += 1

    def redrive(trip, charge):
        if charge is None or charge.state not in WORKING_STATES:
            return False
        if trip.state != TripState.SETTLING or has_live_call(trip):
            return False
        if charge.last_probe_at is not None and charge.last_probe_at > stale:
            return False
        return charge_redrive(trip, charge, actor="system:janitor", reason="no call in flight")

    idle = (
        Charge.objects.filter(
            state__in=WORKING_STATES, state_changed_at__lt=stale, trip__state=TripState.SETTLING
        )
        .values_list("trip_id", flat=True)
        .order_by("state_changed_at")[:limit]
    )
    counts["redriven"] = _each_locked(list(idle), redrive)

    outcome_window = timedelta(hours=settings.PAYMENTS_CAPTURE_OUTCOME_HOURS)

    def flag(trip, charge):
        if charge is None or charge.state != ChargeState.CAPTURE_INITIATED:
            return False
        if charge.flagged_at is not None:
            return False
        reason = f"no capture outcome within {settings.PAYMENTS_CAPTURE_OUTCOME_HOURS} h"
        charge_flag(charge, reason=reason)
        charge_park(trip, charge, reason=reason, severity=AlertSeverity.WARNING)
        return True

    silent = Charge.objects.filter(
        state=ChargeState.CAPTURE_INITIATED,
        capture_initiated_at__lt=now - outcome_window,
        flagged_at__isnull=True,
    ).values_list("trip_id", flat=True)[:limit]
    counts["flagged"] = _each_locked(list(silent), flag)
    return counts


def charges_watch_deadlines(*, limit: int = 200) -> dict[str, int]:
    """Settle before the pre-auth window closes; turn expiry into debt (beat, every minute)."""
    now = business_now()
    counts = {"opened": 0, "settled": 0, "probed": 0, "decided": 0}
    late = ShoppingTrip.objects.filter(
        state__in=[TripState.PRICED, TripState.EMPTY], charge__isnull=True, settle_by__lte=now
    ).values_list("pk", flat=True)[:limit]
    for trip_pk in late:
        if charge_open(trip_pk=trip_pk, actor="system:deadline") is not None:
            counts["opened"] += 1

    def settle_now(trip, charge):
        if charge is None or charge.state not in ADJUST_STATES:
            return False
        idle = not has_live_call(trip)  # never two adjust amounts in flight at once
        best = charge.search_low
        if charge.searching and best > 0 and charge.requested_amount != best and idle:
            search_cut_short(trip, charge)
            return True
        if trip.state == TripState.SETTLING and idle:
            charge_park(trip, charge, reason="settle-by reached with no approval")
            return True
        alert_raise(
            key=f"payments-settle-by:{trip.pk}",
            kind="payments_settle_by",
            severity=AlertSeverity.WARNING,
            message=f"trip {trip.shopping_trip_id} passed settle-by while {charge.state}",
        )
        return False

    due = Charge.objects.filter(
        state__in=ADJUST_STATES,
        trip__settle_by__lte=now,
        trip__state__in=[TripState.SETTLING, TripState.NEEDS_REVIEW],
    ).values_list("trip_id", flat=True)[:limit]
    counts["settled"] = _each_locked(list(due), settle_now)

    grace = timedelta(seconds=settings.PAYMENTS_DEADLINE_GRACE_SECONDS)

    def past_deadline(trip, charge):
        if charge is None or charge.state not in WORKING_STATES or has_live_call(trip):
            return False
        if trip.preauth_deadline is not None and now >= trip.preauth_deadline + grace:
            # Amazon never answered past the window: decide, and flag it for reconciliation.
            charge_flag(charge, reason="no answer from Amazon after the pre-auth deadline")
            if charge.state == ChargeState.CAPTURING:
                capture_failed(trip, charge, detail="no answer after the pre-auth deadline")
            else:
                charge_expire(trip, charge, source="no answer after the pre-auth deadline")
            counts["decided"] += 1
            return True
        if charge.last_probe_at is not None and charge.last_probe_at > now - PROBE_SPACING:
            return False
        charge_redrive(trip, charge, actor="system:deadline", reason="pre-auth deadline passed")
        return True

    expired = Charge.objects.filter(
        state__in=WORKING_STATES, trip__preauth_deadline__lte=now
    ).values_list("trip_id", flat=True)[:limit]
    counts["probed"] = _each_locked(list(expired), past_deadline) - counts["decided"]
    return counts

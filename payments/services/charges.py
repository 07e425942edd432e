"""Open a trip's charge and drive its adjust phase: approval, PENDING polls, decline strategy.

    charge_open            PRICED → adjust to the cart total; EMPTY → release the pre-auth
    charge_apply_adjust    one adjust answer → capture, poll, search lower, write off, expire

Both run in one transaction with the trip and the charge locked; the next call to Amazon is an
outbox row committed with the state change.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import transaction

from core.audit import audit_record
from core.clock import now as business_now
from core.money import quantum
from core.sql import row_insert
from trips.enums import DeclineStrategy, TripState

from ..enums import ADJUST_STATES, AdjustPurpose, CallOutcome, ChargeState, DeclineSearchMode
from ..locks import trip_and_charge_for_update
from ..models import Charge
from ..transitions import charge_transition
from .calls import enqueue_adjust, enqueue_cancel, enqueue_capture, enqueue_transactional_data
from .settlement import (
    ACTOR,
    ZERO,
    ReportReason,
    _shortfall,
    charge_expire,
    charge_park,
    report,
    trip_move,
    write_off,
)

logger = logging.getLogger(__name__)

POLL_CAP_SECONDS = 60


def charge_open(*, trip_pk: int, actor: str = ACTOR) -> Charge | None:
    """Open the trip's charge and queue its first call. Idempotent: one charge per trip."""
    with transaction.atomic(savepoint=False):  # inside on_success: no savepoint
        trip, charge = trip_and_charge_for_update(trip_pk=trip_pk)
        if charge is not None:
            return charge
        total = trip.cart_total or ZERO
        if trip.state == TripState.PRICED and total > ZERO:
            first_state = ChargeState.ADJUSTING
        elif trip.state in (TripState.EMPTY, TripState.PRICED):
            first_state = ChargeState.CANCELLING
        else:
            logger.warning(
                "charge not opened: trip not ready", extra={"trip": trip.pk, "state": trip.state}
            )
            return None
        now = business_now()
        charge = Charge(
            trip=trip,
            state=first_state,
            currency=trip.currency,
            cart_total=total,
            adjust_seq=1 if first_state == ChargeState.ADJUSTING else 0,
            requested_amount=total if first_state == ChargeState.ADJUSTING else None,
            opened_at=now,
            state_changed_at=now,
        )
        row_insert(charge)
        audit_record(
            entity="charge",
            entity_id=charge.audit_id,
            action="opened",
            to_state=first_state,
            actor=actor,
            context={"trip_id": trip.pk, "cart_total": str(total), "currency": trip.currency},
        )
        trip_move(trip, TripState.SETTLING, reason="charge opened", actor=actor)
        if first_state == ChargeState.ADJUSTING:
            enqueue_adjust(trip=trip, charge=charge, purpose=AdjustPurpose.TOTAL)
        elif total == ZERO:
            report(trip, total=ZERO, settled=ZERO, reason=ReportReason.EMPTY)
            enqueue_cancel(trip=trip, charge=charge)
        else:
            # A bad cart settled by the store's CANCEL policy: the priced total goes unpaid.
            from debt.enums import DebtRootCause

            _shortfall(
                trip,
                charge,
                settled=ZERO,
                root_cause=DebtRootCause.SYSTEM_ERROR,
                reason="bad cart cancelled by store policy",
                actor=actor,
            )
            report(trip, total=total, settled=ZERO, reason=ReportReason.BAD_CART_CANCEL)
            enqueue_cancel(trip=trip, charge=charge)
        return charge


def charge_apply_adjust(*, payload: dict, result: dict, actor: str = ACTOR) -> str:
    """Apply one adjust answer. A stale answer (another request is current) changes nothing."""
    if result.get("outcome") == "STALE":
        return "stale"
    with transaction.atomic(savepoint=False):  # inside on_success: no savepoint
        trip, charge = trip_and_charge_for_update(trip_pk=payload["trip_pk"])
        if charge is None or charge.state not in ADJUST_STATES:
            return "stale"
        if payload["seq"] != charge.adjust_seq:
            return "stale"
        outcome = result["outcome"]
        if outcome == CallOutcome.EXPIRED:
            return charge_expire(trip, charge, source="adjust: ShoppingTripExpiredException")
        if outcome != CallOutcome.OK:
            charge_park(trip, charge, reason=f"adjust refused: {result.get('errorMsg') or outcome}")
            return "parked"
        amount = Decimal(payload["amount"])
        status = result["status"]
        if status == "PENDING":
            return _schedule_poll(trip, charge, amount, purpose=payload["purpose"])
        if status == "APPROVED":
            authorized = min(Decimal(result["authorized"]), amount)
            return _approved(trip, charge, amount, authorized, purpose=payload["purpose"])
        return _declined(trip, charge, amount, purpose=payload["purpose"])


def _schedule_poll(trip, charge, amount, *, purpose) -> str:
    """PENDING: poll the same amount after 1, 2, 4 … 60 s, until settle-by (contract §3.1)."""
    polls = charge.pending_polls + 1
    due = business_now() + timedelta(seconds=min(POLL_CAP_SECONDS, 2 ** (polls - 1)))
    if charge.state != ChargeState.ADJUST_PENDING:
        charge_transition(
            charge=charge,
            to_state=ChargeState.ADJUST_PENDING,
            actor=ACTOR,
            reason=f"adjust {amount} pending",
            updates={"pending_polls": polls},
        )
    else:
        charge.pending_polls = polls
        charge.save(update_fields=["pending_polls", "updated_at"])
    if trip.settle_by is not None and due > trip.settle_by:
        charge_park(trip, charge, reason=f"adjust still PENDING at settle-by after {polls} polls")
        return "parked"
    enqueue_adjust(trip=trip, charge=charge, purpose=purpose, poll=polls, available_at=due)
    return "polling"


def _approved(trip, charge, amount, authorized, *, purpose) -> str:
    if purpose == AdjustPurpose.SEARCH:
        low = max(charge.search_low, authorized)
        charge.search_low = low
        charge.approved_amount = authorized
        charge.save(update_fields=["search_low", "approved_amount", "updated_at"])
        partial = authorized < amount
        if partial or _search_mode() == DeclineSearchMode.STEPS:
            return _search_finish(trip, charge)
        return _search_next(trip, charge)
    # TOTAL or CONFIRM: capture exactly what was approved (a partial approval included).
    return _capture(trip, charge, authorized, reason=f"adjust approved {authorized} of {amount}")


def _declined(trip, charge, amount, *, purpose) -> str:
    charge.approved_amount = None
    charge.save(update_fields=["approved_amount", "updated_at"])
    if purpose == AdjustPurpose.CONFIRM:
        write_off(trip, charge, reason=f"re-adjust to {amount} declined")
        enqueue_cancel(trip=trip, charge=charge)
        return "written-off"
    if purpose == AdjustPurpose.SEARCH:
        charge.search_high = amount
        charge.save(update_fields=["search_high", "updated_at"])
        return _search_next(trip, charge)
    store = trip.store
    if (
        store.decline_strategy == DeclineStrategy.WRITE_OFF_ALL
        or store.decline_search_attempts == 0
    ):
        write_off(trip, charge, reason=f"adjust {amount} declined; store writes the cart off")
        enqueue_cancel(trip=trip, charge=charge)
        return "written-off"
    charge_transition(
        charge=charge,
        to_state=ChargeState.SEARCHING,
        actor=ACTOR,
        reason=f"adjust {amount} declined; searching for an approvable amount",
        updates={"search_high": amount, "search_low": ZERO, "pending_polls": 0},
    )
    return _search_next(trip, charge)


def _search_mode() -> str:
    return settings.PAYMENTS_DECLINE_SEARCH_MODE


def _next_amount(charge: Charge, trip) -> Decimal | None:
    step = quantum(charge.currency)
    low, high = charge.search_low, charge.search_high
    if charge.search_attempts >= trip.store.decline_search_attempts:
        return None
    if trip.settle_by is not None and business_now() >= trip.settle_by:
        return None  # settle-by reached: take the best approval found so far
    if _search_mode() == DeclineSearchMode.STEPS:
        for fraction in settings.PAYMENTS_DECLINE_SEARCH_STEPS:
            candidate = (charge.cart_total * Decimal(fraction)).quantize(step, rounding=ROUND_DOWN)
            if low < candidate < high:
                return candidate
        return None
    middle = ((low + high) / 2).quantize(step, rounding=ROUND_DOWN)
    return middle if low < middle < high else None


def _search_next(trip, charge) -> str:
    amount = _next_amount(charge, trip)
    if amount is None:
        return _search_finish(trip, charge)
    if charge.state != ChargeState.SEARCHING:
        charge_transition(
            charge=charge, to_state=ChargeState.SEARCHING, actor=ACTOR, reason="search continues"
        )
    charge.adjust_seq += 1
    charge.requested_amount = amount
    charge.search_attempts += 1
    charge.pending_polls = 0
    charge.save(
        update_fields=[
            "adjust_seq",
            "requested_amount",
            "search_attempts",
            "pending_polls",
            "updated_at",
        ]
    )
    enqueue_adjust(trip=trip, charge=charge, purpose=AdjustPurpose.SEARCH)
    return "searching"


def _search_finish(trip, charge) -> str:
    """Capture the best approved amount, re-adjusting to it first if a later try declined."""
    low = charge.search_low
    if low <= ZERO:
        write_off(trip, charge, reason="no approvable amount found")
        enqueue_cancel(trip=trip, charge=charge)
        return "written-off"
    if charge.approved_amount == low and charge.requested_amount >= low:
        return _capture(trip, charge, low, reason=f"search settled on {low}")
    charge.adjust_seq += 1
    charge.requested_amount = low
    charge.pending_polls = 0
    charge.save(update_fields=["adjust_seq", "requested_amount", "pending_polls", "updated_at"])
    enqueue_adjust(trip=trip, charge=charge, purpose=AdjustPurpose.CONFIRM)
    return "confirming"


def search_cut_short(trip, charge) -> str:
    """Settle-by reached mid-search: take the best approval now rather than search on."""
    charge.search_attempts = trip.store.decline_search_attempts
    charge.save(update_fields=["search_attempts", "updated_at"])
    return _search_finish(trip, charge)


def _capture(trip, charge, amount: Decimal, *, reason: str) -> str:
    charge_transition(
        charge=charge,
        to_state=ChargeState.CAPTURING,
        actor=ACTOR,
        reason=reason,
        updates={
            "approved_amount": amount,
            "capture_amount": amount,
            "capture_requested_at": business_now(),
        },
    )
    enqueue_capture(trip=trip, charge=charge)
    enqueue_transactional_data(trip=trip, charge=charge)
    return "capturing"

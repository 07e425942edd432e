"""Outcomes that settle a trip: capture initiated and confirmed, declines, releases, expiry,
capture failures, and parking a trip for an operator.

Every function here runs inside the caller's transaction with the trip and its charge locked
(lock order trip → charge → debt). Each outcome moves the trip with ``trip_transition`` (never
backwards), records the debt with ``debt_incur`` in the same transaction as the shortfall, and
queues the Report Payment Status that contract §9 asks for.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from core.alerts import alert_raise
from core.clock import now as business_now
from core.models import AlertSeverity
from debt.enums import DebtRootCause
from debt.services.debts import debt_incur
from trips.enums import TERMINAL_STATES, TripState
from trips.models import ShoppingTrip
from trips.services.payment_status import payment_status_report
from trips.transitions import transition_allowed, trip_transition

from ..enums import ChargeState
from ..models import Charge
from ..transitions import charge_transition

logger = logging.getLogger(__name__)

ACTOR = "system:payments"
ZERO = Decimal("0")


class ReportReason:
    CAPTURE_INITIATED = "CAPTURE_INITIATED"
    CAPTURE_DECLINED = "CAPTURE_DECLINED"
    DECLINED = "ADJUST_DECLINED"
    EXPIRED = "PREAUTH_EXPIRED"
    EMPTY = "EMPTY_CART"
    BAD_CART_CANCEL = "BAD_CART_CANCEL"
    CAPTURE_FAILED = "CAPTURE_FAILED"


def trip_move(
    trip: ShoppingTrip,
    to_state: str,
    *,
    reason: str,
    actor: str = ACTOR,
    settled: Decimal | None = None,
) -> bool:
    """Move the trip if its table allows it; a move the table refuses is logged, not forced."""
    if trip.state == to_state or not transition_allowed(trip.state, to_state):
        if trip.state != to_state:
            logger.info(
                "trip move skipped",
                extra={"trip": trip.pk, "from": trip.state, "to": to_state, "reason": reason},
            )
        return False
    updates: dict = {}
    if settled is not None:
        updates["settled_amount"] = settled
    if to_state == TripState.NEEDS_REVIEW:
        updates["needs_review_reason"] = reason[:300]
    moved = trip_transition(
        trip_pk=trip.pk, to_state=to_state, actor=actor, reason=reason[:500], updates=updates
    )
    trip.state = moved.state
    trip.state_changed_at = moved.state_changed_at
    trip.settled_amount = moved.settled_amount
    trip.needs_review_reason = moved.needs_review_reason
    return True


def report(trip: ShoppingTrip, *, total: Decimal, settled: Decimal, reason: str) -> None:
    payment_status_report(trip=trip, total=total, settled=settled, reason=reason)


def record_shortfall(
    trip: ShoppingTrip,
    *,
    cart_total: Decimal,
    settled: Decimal,
    root_cause: str,
    reason: str,
    actor: str,
    to_state: str = TripState.SHORTFALL,
    card_brand: str = "",
    card_tail: str = "",
) -> None:
    """Move the trip to its shortfall state and record the debt, in the same transaction."""
    trip_move(trip, to_state, reason=reason, actor=actor, settled=settled)
    debt_incur(
        trip=trip,
        cart_total=cart_total,
        settled_amount=settled,
        root_cause=root_cause,
        actor=actor,
        card_brand=card_brand,
        card_tail=card_tail,
    )


def _shortfall(trip: ShoppingTrip, charge: Charge, **kwargs) -> None:
    record_shortfall(
        trip,
        cart_total=charge.cart_total,
        card_brand=charge.card_brand,
        card_tail=charge.card_tail,
        **kwargs,
    )


def charge_park(
    trip: ShoppingTrip, charge: Charge | None, *, reason: str, severity=AlertSeverity.CRITICAL
) -> None:
    """Retries exhausted or a refusal nobody can fix automatically: an operator takes over."""
    parked = trip_move(trip, TripState.NEEDS_REVIEW, reason=reason)
    alert_raise(
        key=f"payments-parked:{trip.pk}",
        kind="payments_parked",
        severity=severity,
        message=f"trip {trip.shopping_trip_id} needs an operator: {reason}"[:500],
        context={"trip": trip.pk, "charge": charge.pk if charge else None, "parked": parked},
    )


def charge_flag(charge: Charge, *, reason: str) -> None:
    """Remember a review flag on the charge (conflicting outcomes, no outcome in time)."""
    if charge.flagged_at is None:
        charge.flagged_at = business_now()
        charge.flag_reason = reason[:300]
        charge.save(update_fields=["flagged_at", "flag_reason", "updated_at"])


def capture_initiated(trip: ShoppingTrip, charge: Charge, *, actor: str = ACTOR) -> None:
    """Amazon accepted the capture (200): report total/captured at once (contract §9)."""
    charge_transition(
        charge=charge,
        to_state=ChargeState.CAPTURE_INITIATED,
        actor=actor,
        reason="capture accepted by Amazon",
        updates={"capture_initiated_at": business_now()},
    )
    report(
        trip,
        total=charge.cart_total,
        settled=charge.capture_amount,
        reason=ReportReason.CAPTURE_INITIATED,
    )


def capture_outcome(
    trip: ShoppingTrip,
    charge: Charge,
    *,
    approved: bool,
    amount: Decimal | None,
    decline_reason: str = "",
    actor: str = "amazon",
) -> str:
    """Apply CaptureApproved / CaptureDeclined. Returns processed, ignored or conflict."""
    if charge.state == ChargeState.CAPTURING:
        capture_initiated(trip, charge, actor=actor)  # the event overtook our 200
    if charge.state != ChargeState.CAPTURE_INITIATED:
        same = (approved and charge.state == ChargeState.CAPTURED) or (
            not approved and charge.state == ChargeState.CAPTURE_DECLINED
        )
        if same:
            return "ignored"
        charge_flag(charge, reason=f"capture outcome {approved=} after {charge.state}")
        return "conflict"
    if amount is not None and amount != charge.capture_amount:
        charge_flag(charge, reason=f"capture event amount {amount} != {charge.capture_amount}")
        alert_raise(
            key=f"payments-capture-amount:{charge.pk}",
            kind="payments_conflict",
            severity=AlertSeverity.CRITICAL,
            message=f"trip {trip.shopping_trip_id}: capture event amount differs from ours",
        )
    if approved:
        charge_transition(
            charge=charge,
            to_state=ChargeState.CAPTURED,
            actor=actor,
            reason="CaptureApproved",
            updates={"outcome_at": business_now()},
        )
        captured = charge.capture_amount
        if captured == charge.cart_total:
            trip_move(trip, TripState.SETTLED, reason="captured in full", settled=captured)
        else:
            cause = (
                DebtRootCause.DECLINED_ADJUSTMENT
                if charge.searching
                else DebtRootCause.PARTIAL_CAPTURE
            )
            _shortfall(
                trip,
                charge,
                settled=captured,
                root_cause=cause,
                reason="captured in part",
                actor=actor,
            )
        return "processed"
    charge_transition(
        charge=charge,
        to_state=ChargeState.CAPTURE_DECLINED,
        actor=actor,
        reason="CaptureDeclined",
        updates={"outcome_at": business_now(), "decline_reason": decline_reason[:40]},
    )
    _shortfall(
        trip,
        charge,
        settled=ZERO,
        root_cause=DebtRootCause.CAPTURE_DECLINED,
        reason="capture declined",
        actor=actor,
    )
    report(trip, total=charge.cart_total, settled=ZERO, reason=ReportReason.CAPTURE_DECLINED)
    return "processed"


def capture_failed(trip: ShoppingTrip, charge: Charge, *, detail: str, actor: str = ACTOR):
    """Amazon refused the capture for good (a 400): nothing is collected; the cart is debt."""
    charge_transition(
        charge=charge, to_state=ChargeState.CAPTURE_FAILED, actor=actor, reason=detail[:500]
    )
    _shortfall(
        trip,
        charge,
        settled=ZERO,
        root_cause=DebtRootCause.CAPTURE_FAILED,
        reason=f"capture failed: {detail}",
        actor=actor,
    )
    report(trip, total=charge.cart_total, settled=ZERO, reason=ReportReason.CAPTURE_FAILED)
    alert_raise(
        key=f"payments-capture-failed:{charge.pk}",
        kind="payments_capture_failed",
        severity=AlertSeverity.CRITICAL,
        message=f"trip {trip.shopping_trip_id}: capture refused ({detail[:200]}); recorded as debt",
    )


def write_off(trip: ShoppingTrip, charge: Charge, *, reason: str, actor: str = ACTOR) -> None:
    """Nothing approvable: release the pre-auth; the whole cart is debt; report total/0."""
    charge_transition(
        charge=charge,
        to_state=ChargeState.CANCELLING,
        actor=actor,
        reason=reason,
        updates={"approved_amount": None},
    )
    _shortfall(
        trip,
        charge,
        settled=ZERO,
        root_cause=DebtRootCause.DECLINED_ADJUSTMENT,
        reason=reason,
        actor=actor,
    )
    report(trip, total=charge.cart_total, settled=ZERO, reason=ReportReason.DECLINED)


def cancel_done(trip: ShoppingTrip, charge: Charge, *, actor: str = ACTOR) -> None:
    """Amazon accepted the release (200)."""
    charge_transition(
        charge=charge, to_state=ChargeState.CANCELLED, actor=actor, reason="cancel accepted"
    )
    if trip.state not in TERMINAL_STATES and charge.cart_total == ZERO:
        trip_move(trip, TripState.RELEASED, reason="pre-auth released", settled=ZERO)


def charge_expire(trip: ShoppingTrip, charge: Charge, *, source: str, actor: str = ACTOR) -> str:
    """The pre-auth window closed before we settled (ShoppingTripExpiredException or the
    ``PREAUTH_EXPIRED`` event): mark it expired, record the debt, report total/0."""
    if charge.state in (ChargeState.EXPIRED, ChargeState.CANCELLED):
        return "ignored"
    if charge.state not in (
        ChargeState.ADJUSTING,
        ChargeState.ADJUST_PENDING,
        ChargeState.SEARCHING,
        ChargeState.CAPTURING,
        ChargeState.CANCELLING,
    ):
        charge_flag(charge, reason=f"expiry reported after {charge.state} ({source})")
        return "conflict"
    charge_transition(
        charge=charge,
        to_state=ChargeState.EXPIRED,
        actor=actor,
        reason=source,
        updates={"approved_amount": None} if charge.capture_amount is None else {},
    )
    if trip.state in TERMINAL_STATES:
        return "processed"  # already accounted for (a write-off whose release came too late)
    if charge.cart_total > ZERO:
        _shortfall(
            trip,
            charge,
            settled=ZERO,
            root_cause=DebtRootCause.PREAUTH_EXPIRED,
            reason=f"pre-auth expired ({source})",
            actor=actor,
            to_state=TripState.EXPIRED,
        )
        report(trip, total=charge.cart_total, settled=ZERO, reason=ReportReason.EXPIRED)
    else:
        trip_move(trip, TripState.EXPIRED, reason=f"pre-auth expired ({source})", settled=ZERO)
    return "processed"

"""The trip's allowed moves, as data, and the one function that changes a trip's state."""

from django.db import connection, transaction

from core.audit import audit_record
from core.clock import now as business_now
from core.errors import InvalidTransition
from core.sql import row_get, row_update

from .enums import TripState as S
from .models import ShoppingTrip

TRANSITIONS: dict[str, frozenset[str]] = {
    S.ENTERED: frozenset({S.PRICED, S.EMPTY, S.BAD_CART, S.SETTLING, S.NEEDS_REVIEW, S.EXPIRED}),
    S.BAD_CART: frozenset({S.PRICED, S.EMPTY, S.NEEDS_REVIEW, S.EXPIRED}),
    S.PRICED: frozenset({S.SETTLING, S.NEEDS_REVIEW, S.EXPIRED}),
    S.EMPTY: frozenset({S.SETTLING, S.NEEDS_REVIEW, S.EXPIRED}),
    S.SETTLING: frozenset({S.SETTLED, S.SHORTFALL, S.RELEASED, S.EXPIRED, S.NEEDS_REVIEW}),
    S.NEEDS_REVIEW: frozenset({S.SETTLING, S.SETTLED, S.SHORTFALL, S.RELEASED, S.EXPIRED}),
    # A shortfall or an expired unpaid cart is closed later when the debt is paid.
    S.SHORTFALL: frozenset({S.SETTLED}),
    S.EXPIRED: frozenset({S.SETTLED}),
    S.SETTLED: frozenset(),
    S.RELEASED: frozenset(),
    S.DENIED: frozenset(),
}

# Fields a transition may set together with the state.
UPDATABLE_FIELDS = frozenset({"cart_total", "settled_amount", "needs_review_reason"})


def transition_allowed(from_state: str, to_state: str) -> bool:
    return to_state in TRANSITIONS.get(from_state, frozenset())


def trip_transition(
    *,
    trip_pk: int,
    to_state: str,
    actor: str,
    reason: str = "",
    context: dict | None = None,
    updates: dict | None = None,
) -> ShoppingTrip:
    """Lock the trip, check the move against the table, save it and append an audit entry.

    Inside a caller's transaction no savepoint is taken: a refused move raises before anything
    is written, and any database error aborts the caller's transaction as a whole.
    """
    updates = updates or {}
    unknown = set(updates) - UPDATABLE_FIELDS
    if unknown:
        raise ValueError(f"fields not settable by a transition: {sorted(unknown)}")
    if connection.in_atomic_block:
        return _transition(trip_pk, to_state, actor, reason, context, updates)
    with transaction.atomic():
        return _transition(trip_pk, to_state, actor, reason, context, updates)


def _transition(trip_pk, to_state, actor, reason, context, updates) -> ShoppingTrip:
    trip = row_get(ShoppingTrip, where="id = %s", params=[trip_pk], for_update=True, no_key=True)
    if trip is None:
        raise ShoppingTrip.DoesNotExist(f"trip {trip_pk}")
    from_state = trip.state
    if not transition_allowed(from_state, to_state):
        raise InvalidTransition("trip", from_state, to_state)
    trip.state = to_state
    trip.state_changed_at = business_now()
    for field, value in updates.items():
        setattr(trip, field, value)
    row_update(trip, ["state", "state_changed_at", *updates])
    audit_record(
        entity="trip",
        entity_id=trip.audit_id,
        action="transition",
        from_state=from_state,
        to_state=to_state,
        actor=actor,
        reason=reason,
        context={**(context or {}), **{k: str(v) for k, v in updates.items()}},
    )
    return trip

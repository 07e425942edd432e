"""Create trips and shoppers. State changes go through ``trips.transitions.trip_transition``."""

from datetime import datetime
from decimal import Decimal

from django.db import transaction

from core.audit import audit_record
from core.clock import now as business_now
from core.sql import row_get, row_insert

from ..enums import TripState
from ..models import Shopper, ShoppingTrip, Store, settlement_deadlines


def shopper_get_or_create(*, identity_id: str, seen_at: datetime | None = None) -> Shopper:
    """Insert-or-get on the unique identity, safe under concurrent gate calls (the insert skips
    a row a concurrent call committed first, and that row is read instead)."""
    shopper = _shopper_get(identity_id)
    if shopper is not None:
        return shopper
    shopper = Shopper(identity_id=identity_id, first_seen_at=seen_at or business_now())
    if row_insert(shopper, on_conflict_nothing=True):
        return shopper
    return _shopper_get(identity_id)


def _shopper_get(identity_id: str) -> Shopper | None:
    return row_get(Shopper, where="identity_id = %s", params=[identity_id])


def _trip_get(store: Store, shopping_trip_id: str) -> ShoppingTrip | None:
    return row_get(
        ShoppingTrip,
        where="store_id = %s AND shopping_trip_id = %s",
        params=[store.pk, shopping_trip_id],
    )


def trip_get_or_create(
    *,
    store: Store,
    shopping_trip_id: str,
    actor: str,
    shopper: Shopper | None = None,
    preauth_amount: Decimal | None = None,
    preauth_at: datetime | None = None,
    initial_state: str = TripState.ENTERED,
) -> tuple[ShoppingTrip, bool]:
    """Return the trip for (store, shoppingTripId), creating it on first sight.

    The pre-auth time (gate event, else the earliest FINANCIAL entry event) fixes the pre-auth
    deadline and the settle-by time (contract §0.9). A later caller that knows the pre-auth time
    when the first did not fills it in.
    """
    trip = _trip_get(store, shopping_trip_id)
    created = False
    if trip is None:
        trip, created = _trip_create(
            store=store,
            shopping_trip_id=shopping_trip_id,
            actor=actor,
            shopper=shopper,
            preauth_amount=preauth_amount,
            preauth_at=preauth_at,
            initial_state=initial_state,
        )
    if not created:
        trip = _fill_missing(
            trip, shopper=shopper, preauth_at=preauth_at, preauth_amount=preauth_amount
        )
    return trip, created


def _trip_create(
    *, store, shopping_trip_id, actor, shopper, preauth_amount, preauth_at, initial_state
) -> tuple[ShoppingTrip, bool]:
    """Insert the trip and its audit entry, or read the row a concurrent caller committed."""
    deadline, settle_by = (None, None)
    if preauth_at is not None:
        deadline, settle_by = settlement_deadlines(store, preauth_at)
    trip = ShoppingTrip(
        store=store,
        shopping_trip_id=shopping_trip_id,
        shopper=shopper,
        state=initial_state,
        currency=store.currency,
        preauth_amount=preauth_amount,
        preauth_at=preauth_at,
        preauth_deadline=deadline,
        settle_by=settle_by,
        state_changed_at=business_now(),
    )
    with transaction.atomic(savepoint=False):
        if not row_insert(trip, on_conflict_nothing=True):
            existing = _trip_get(store, shopping_trip_id)
            if existing is None:  # a conflict on another constraint: let it raise
                row_insert(trip)
            return existing, False
        audit_record(
            entity="trip",
            entity_id=trip.audit_id,
            action="created",
            to_state=initial_state,
            actor=actor,
            context={"preauth_amount": str(preauth_amount) if preauth_amount else ""},
        )
    return trip, True


def _fill_missing(trip, *, shopper, preauth_at, preauth_amount) -> ShoppingTrip:
    updates = {}
    if trip.shopper_id is None and shopper is not None:
        updates["shopper"] = shopper
    if trip.preauth_at is None and preauth_at is not None:
        deadline, settle_by = settlement_deadlines(trip.store, preauth_at)
        updates.update(preauth_at=preauth_at, preauth_deadline=deadline, settle_by=settle_by)
    if trip.preauth_amount is None and preauth_amount is not None:
        updates["preauth_amount"] = preauth_amount
    if not updates:
        return trip
    with transaction.atomic():
        locked = ShoppingTrip.objects.select_for_update(no_key=True).get(pk=trip.pk)
        current = {
            "shopper": locked.shopper_id,
            "preauth_at": locked.preauth_at,
            "preauth_deadline": locked.preauth_deadline,
            "settle_by": locked.settle_by,
            "preauth_amount": locked.preauth_amount,
        }
        changed = [field for field in updates if current[field] is None]
        for field in changed:
            setattr(locked, field, updates[field])
        if changed:
            locked.save(update_fields=[*changed, "updated_at"])
        return locked

"""Create trips and shoppers. State changes go through ``trips.transitions.trip_transition``."""

from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction

from core.audit import audit_record
from core.clock import now as business_now

from ..enums import TripState
from ..models import Shopper, ShoppingTrip, Store, settlement_deadlines


def shopper_get_or_create(*, identity_id: str, seen_at: datetime | None = None) -> Shopper:
    """Insert-or-get on the unique identity, safe under concurrent gate calls."""
    shopper = Shopper.objects.filter(identity_id=identity_id).first()
    if shopper is not None:
        return shopper
    try:
        with transaction.atomic():
            return Shopper.objects.create(
                identity_id=identity_id, first_seen_at=seen_at or business_now()
            )
    except IntegrityError:
        return Shopper.objects.get(identity_id=identity_id)


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
    trip = ShoppingTrip.objects.filter(store=store, shopping_trip_id=shopping_trip_id).first()
    created = False
    if trip is None:
        deadline, settle_by = (None, None)
        if preauth_at is not None:
            deadline, settle_by = settlement_deadlines(store, preauth_at)
        try:
            with transaction.atomic():
                trip = ShoppingTrip.objects.create(
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
                audit_record(
                    entity="trip",
                    entity_id=trip.audit_id,
                    action="created",
                    to_state=initial_state,
                    actor=actor,
                    context={"preauth_amount": str(preauth_amount) if preauth_amount else ""},
                )
                created = True
        except IntegrityError:
            trip = ShoppingTrip.objects.get(store=store, shopping_trip_id=shopping_trip_id)
    if not created:
        trip = _fill_missing(
            trip, shopper=shopper, preauth_at=preauth_at, preauth_amount=preauth_amount
        )
    return trip, created


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
        locked = ShoppingTrip.objects.select_for_update().get(pk=trip.pk)
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

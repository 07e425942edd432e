"""Factories shared by every app's tests. Plain functions: explicit and easy to read."""

import itertools
import uuid
from datetime import datetime
from decimal import Decimal

from core import clock
from trips.enums import TripState
from trips.models import Shopper, ShoppingTrip, Store, settlement_deadlines

_sequence = itertools.count(1)


def make_store(**overrides) -> Store:
    number = next(_sequence)
    fields = {"store_id": f"STORE-{number:03d}", "name": f"Test store {number}", "currency": "USD"}
    fields.update(overrides)
    return Store.objects.create(**fields)


def make_shopper(identity_id: str | None = None) -> Shopper:
    return Shopper.objects.create(
        identity_id=identity_id or f"shopper-{next(_sequence):04d}", first_seen_at=clock.now()
    )


def make_trip(
    *,
    store: Store | None = None,
    shopper: Shopper | None = None,
    state: str = TripState.ENTERED,
    cart_total: Decimal | None = None,
    preauth_at: datetime | None = None,
    **overrides,
) -> ShoppingTrip:
    store = store or make_store()
    preauth_at = preauth_at or clock.now()
    deadline, settle_by = settlement_deadlines(store, preauth_at)
    fields = {
        "store": store,
        "shopping_trip_id": str(uuid.uuid4()),
        "shopper": shopper,
        "state": state,
        "currency": store.currency,
        "preauth_amount": store.preauth_amount,
        "preauth_at": preauth_at,
        "preauth_deadline": deadline,
        "settle_by": settle_by,
        "cart_total": cart_total,
        "state_changed_at": clock.now(),
    }
    fields.update(overrides)
    return ShoppingTrip.objects.create(**fields)

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from core.models import AuditEntry
from tests.factories import make_shopper, make_store
from trips.enums import TripState
from trips.models import Shopper, ShoppingTrip
from trips.services.trips import shopper_get_or_create, trip_get_or_create

pytestmark = pytest.mark.django_db


def test_trip_deadlines_follow_the_store_window_and_margin():
    store = make_store(preauth_window_hours=46, settle_margin_hours=4)
    at = datetime(2025, 5, 2, 17, 0, tzinfo=UTC)
    trip, created = trip_get_or_create(
        store=store, shopping_trip_id="trip-1", actor="amazon", preauth_at=at
    )
    assert created
    assert trip.preauth_deadline == at + timedelta(hours=46)
    assert trip.settle_by == at + timedelta(hours=42)
    assert trip.currency == store.currency
    assert trip.state == TripState.ENTERED


def test_second_sight_of_a_trip_fills_only_what_was_missing():
    store = make_store()
    shopper = make_shopper()
    at = datetime(2025, 5, 2, 17, 0, tzinfo=UTC)
    trip_get_or_create(store=store, shopping_trip_id="trip-2", actor="amazon")
    trip, created = trip_get_or_create(
        store=store, shopping_trip_id="trip-2", actor="amazon", shopper=shopper, preauth_at=at
    )
    assert not created
    assert trip.shopper == shopper
    assert trip.preauth_at == at
    later = at + timedelta(hours=1)
    trip, _ = trip_get_or_create(
        store=store, shopping_trip_id="trip-2", actor="amazon", preauth_at=later
    )
    assert trip.preauth_at == at


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_sight_creates_one_trip_and_one_shopper():
    store = make_store()
    barrier = threading.Barrier(6)
    results = []

    def worker():
        barrier.wait()
        try:
            shopper = shopper_get_or_create(identity_id="racing-shopper")
            trip, _ = trip_get_or_create(
                store=store, shopping_trip_id="racing-trip", actor="amazon", shopper=shopper
            )
            results.append(trip.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and len(results) == 6
    assert ShoppingTrip.objects.filter(shopping_trip_id="racing-trip").count() == 1
    assert Shopper.objects.filter(identity_id="racing-shopper").count() == 1
    trip = ShoppingTrip.objects.get(shopping_trip_id="racing-trip")
    created = AuditEntry.objects.filter(entity="trip", entity_id=trip.audit_id, action="created")
    assert created.count() == 1  # the losers' INSERT ... ON CONFLICT wrote no audit entry

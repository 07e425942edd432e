"""core.sql on the trips models: the lean SQL gives the same instances and rows as the ORM."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from core.models import AuditEntry
from core.sql import row_get, row_insert, row_update, rows_get, rows_insert
from tests.factories import make_store
from trips.models import Shopper, ShoppingTrip, TripAuthEvent

pytestmark = pytest.mark.django_db


def _trip(store, trip_id="T-1", **fields) -> ShoppingTrip:
    from core import clock

    trip = ShoppingTrip(
        store=store,
        shopping_trip_id=trip_id,
        state="ENTERED",
        currency="USD",
        state_changed_at=clock.now(),
        **fields,
    )
    assert row_insert(trip)
    return trip


def test_row_get_builds_the_same_instance_as_the_orm():
    store = make_store(preauth_amount=Decimal("50.00"))
    trip = _trip(store, preauth_amount=Decimal("12.30"))

    lean = row_get(ShoppingTrip, where="id = %s", params=[trip.pk])
    orm = ShoppingTrip.objects.get(pk=trip.pk)

    for field in ShoppingTrip._meta.concrete_fields:
        assert getattr(lean, field.attname) == getattr(orm, field.attname), field.name
    assert lean.preauth_amount == Decimal("12.30")
    assert lean.store.store_id == store.store_id  # relations load as usual
    assert lean._state.adding is False
    assert row_get(ShoppingTrip, where="id = %s", params=[-1]) is None


def test_json_and_binary_columns_round_trip():
    entry = AuditEntry(
        entity="trip", entity_id="1:x", action="created", actor="test", context={"a": ["b", 1]}
    )
    from core import clock

    entry.business_time = clock.now()
    row_insert(entry)

    stored = row_get(AuditEntry, where="id = %s", params=[entry.pk])
    assert stored.context == {"a": ["b", 1]}
    assert stored.recorded_at is not None  # auto_now_add applied on insert


def test_insert_on_conflict_skips_the_row_and_keeps_the_transaction_usable():
    Shopper.objects.create(identity_id="same", first_seen_at="2026-11-30T00:00:00Z")
    with transaction.atomic():
        duplicate = Shopper(identity_id="same", first_seen_at="2026-11-30T01:00:00Z")
        assert row_insert(duplicate, on_conflict_nothing=True) is False
        assert duplicate.pk is None
        assert Shopper.objects.filter(identity_id="same").count() == 1  # still usable
    with pytest.raises(IntegrityError), transaction.atomic():
        row_insert(Shopper(identity_id="same", first_seen_at="2026-11-30T02:00:00Z"))


def test_rows_insert_and_partial_reads():
    store = make_store()
    trip = _trip(store)
    from core import clock

    events = [
        TripAuthEvent(trip=trip, auth_event_id=f"ae-{n}", occurred_at=clock.now(), payload_type="X")
        for n in range(3)
    ]
    rows_insert(events)
    rows_insert(events[:1], on_conflict_nothing=True)  # the unique (trip, event) pair: skipped
    assert TripAuthEvent.objects.filter(trip=trip).count() == 3

    partial = rows_get(
        TripAuthEvent,
        where="trip_id = %s ORDER BY auth_event_id DESC",
        params=[trip.pk],
        fields=("auth_event_id",),
    )
    assert [event.auth_event_id for event in partial] == ["ae-2", "ae-1", "ae-0"]


def test_row_update_writes_the_named_fields_and_refreshes_auto_now():
    store = make_store()
    trip = _trip(store)
    before = ShoppingTrip.objects.get(pk=trip.pk).updated_at
    trip.cart_total = Decimal("9.99")
    trip.needs_review_reason = "not written"
    trip.updated_at = before - timedelta(days=1)

    with CaptureQueriesContext(connection) as queries:
        assert row_update(trip, ["cart_total"]) == 1

    stored = ShoppingTrip.objects.get(pk=trip.pk)
    assert stored.cart_total == Decimal("9.99")
    assert stored.needs_review_reason == ""
    assert stored.updated_at >= before
    assert len(queries.captured_queries) == 1


def test_for_update_locks_the_row():
    store = make_store()
    trip = _trip(store)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        row_get(ShoppingTrip, where="id = %s", params=[trip.pk], for_update=True)
    assert queries.captured_queries[0]["sql"].endswith("FOR UPDATE")

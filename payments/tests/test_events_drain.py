"""Informational events (adjust outcomes) are applied by one queued drain per burst, not one task
each; every one is applied, and one that fails is left for the sweep without stopping the rest."""

from __future__ import annotations

import itertools
import uuid
from unittest import mock

import pytest
import redis
from django.conf import settings as django_settings
from django.db import DatabaseError

from jwo_client import wire
from payments.amazon import endpoint_guard, reset_process_state
from payments.enums import EventStatus
from payments.models import AmazonEvent
from payments.services import events
from payments.services.events import event_receive, informational_events_drain
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)
_ids = itertools.count(1)


def raw_event(trip, event_type: str) -> bytes:
    return wire.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "PAYMENT",
            "source": "jwo.simulator",
            "detail": {
                "eventId": f"evt-drain-{uuid.uuid4().hex[:10]}-{next(_ids)}",
                "eventType": event_type,
                "eventTime": "2026-05-04T15:00:00.123Z",
                "storeId": trip.store.store_id,
                "shoppingTripId": trip.shopping_trip_id,
                "amount": {"amount": 20, "code": "USD"},
                "isTest": False,
            },
        }
    )


@pytest.fixture
def queue():
    reset_process_state()
    endpoint_guard().clear()
    broker = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    broker.delete("payments")
    yield broker
    broker.delete("payments")
    endpoint_guard().clear()


def test_a_burst_of_informational_events_queues_one_drain_that_applies_them_all(queue):
    trip = factories.make_trip()
    for _ in range(3):
        assert event_receive(raw=raw_event(trip, "AuthorizationApproved")) == "ACCEPTED"
    assert queue.llen("payments") == 1  # one drain for the burst

    assert informational_events_drain() == {EventStatus.IGNORED: 3}
    assert not AmazonEvent.objects.filter(status=EventStatus.RECEIVED).exists()
    assert set(AmazonEvent.objects.values_list("trip_id", flat=True)) == {trip.pk}

    # The drain started: the next event queues the next drain.
    event_receive(raw=raw_event(trip, "AuthorizationDeclined"))
    assert queue.llen("payments") == 2


def test_a_capture_outcome_still_gets_a_task_of_its_own(queue):
    trip = factories.make_trip()
    event_receive(raw=raw_event(trip, "AuthorizationApproved"))
    event_receive(raw=raw_event(trip, "CaptureApproved"))
    event_receive(raw=raw_event(trip, "CaptureDeclined"))
    assert queue.llen("payments") == 3  # one drain, two capture events
    assert informational_events_drain() == {EventStatus.IGNORED: 1}
    assert AmazonEvent.objects.filter(status=EventStatus.RECEIVED).count() == 2


def test_an_event_that_fails_is_left_for_the_sweep_and_the_others_are_applied(queue):
    trip = factories.make_trip()
    for _ in range(3):
        event_receive(raw=raw_event(trip, "AuthorizationApproved"))
    poisoned = AmazonEvent.objects.order_by("pk").first()
    real_process = events.event_process

    def process(*, event_pk):
        if event_pk == poisoned.pk:
            raise DatabaseError("boom")
        return real_process(event_pk=event_pk)

    with mock.patch.object(events, "event_process", side_effect=process):
        assert informational_events_drain() == {"failed": 1, EventStatus.IGNORED: 2}
    assert list(AmazonEvent.objects.filter(status=EventStatus.RECEIVED)) == [poisoned]

"""``POST /v1/events/jwo`` (contract §5) through the Django test client: key check, storage
once per ``detail.eventId``, quarantine, test events, and processing that never goes backwards."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import redis
from django.conf import settings as django_settings
from django.db import transaction

from core import clock
from core.models import Alert
from debt.models import Debt
from jwo_client import wire
from payments.enums import ChargeState, EventStatus
from payments.models import AmazonEvent, Charge
from payments.services.events import event_process, event_release, events_sweep
from tests import factories
from trips.enums import TripState
from trips.models import PaymentStatusReport

URL = "/v1/events/jwo"
KEY = "event-key-test-1"
_ids = itertools.count(1)


def envelope(trip=None, event_type="CaptureApproved", **detail) -> dict:
    body = {
        "eventId": f"evt-{uuid.uuid4().hex[:12]}-{next(_ids)}",
        "eventType": event_type,
        "eventTime": "2026-05-04T15:00:00.123Z",
        "storeId": trip.store.store_id if trip else "STORE-X",
        "shoppingTripId": trip.shopping_trip_id if trip else str(uuid.uuid4()),
        "amount": {"amount": Decimal("20.00"), "code": "USD"},
        "reconciliationId": None,
        "refundRequestId": None,
        "declineReason": None,
        "isTest": False,
        **detail,
    }
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "PAYMENT",
        "source": "jwo.simulator",
        "account": "123456789012",
        "time": "2026-05-04T15:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": body,
    }


def post(client, payload, *, key: str | None = KEY, raw: bytes | None = None):
    headers = {"HTTP_X_API_KEY": key} if key is not None else {}
    body = raw if raw is not None else wire.dumps(payload)
    return client.generic("POST", URL, body, content_type="application/json", **headers)


def process_all() -> list[str]:
    pks = AmazonEvent.objects.filter(status=EventStatus.RECEIVED).values_list("pk", flat=True)
    return [event_process(event_pk=pk) for pk in pks]


def capturing_trip(state=ChargeState.CAPTURE_INITIATED, total="20.00", captured="20.00"):
    """A trip whose capture of ``captured`` was requested (and, by default, accepted)."""
    trip = factories.make_trip(
        state=TripState.SETTLING, cart_total=Decimal(total), shopper=factories.make_shopper()
    )
    Charge.objects.create(
        trip=trip,
        state=state,
        currency="USD",
        cart_total=Decimal(total),
        adjust_seq=1,
        requested_amount=Decimal(total),
        approved_amount=Decimal(captured),
        capture_amount=Decimal(captured),
        opened_at=clock.now(),
        state_changed_at=clock.now(),
    )
    return trip


# --- the door: key, storage, duplicates ---------------------------------------------------------
def test_a_new_event_is_stored_then_accepted_and_a_repeat_is_a_duplicate(client, db):
    """AE-6.7: 200 ACCEPTED once stored; the same detail.eventId again → 200 DUPLICATE."""
    payload = envelope()

    first = post(client, payload)
    again = post(client, {**payload, "id": str(uuid.uuid4())})

    assert (first.status_code, first.json()) == (200, {"status": "ACCEPTED"})
    assert (again.status_code, again.json()) == (200, {"status": "DUPLICATE"})
    stored = AmazonEvent.objects.get()
    assert stored.event_id == payload["detail"]["eventId"]
    assert wire.loads(stored.body) == payload


@pytest.mark.parametrize("key", [None, "", "event-key-test-2", "EVENT-KEY-TEST-1"])
def test_a_missing_or_wrong_api_key_is_401_and_stores_nothing(client, db, key):
    """AE-6.7, §0.7: 401 UnauthorizedException (EventBridge retries it)."""
    response = post(client, envelope(), key=key)

    assert (response.status_code, response.json()) == (401, {"errorMsg": "UnauthorizedException"})
    assert not AmazonEvent.objects.exists()


def test_either_of_two_rotating_keys_is_accepted(client, db, settings):
    """§0.7 rotation: add the new key as the second, switch the sender, drop the old one."""
    settings.JWO_EVENT_API_KEYS = ["old-key", "new-key"]

    assert post(client, envelope(), key="old-key").status_code == 200
    assert post(client, envelope(), key="new-key").status_code == 200
    assert post(client, envelope(), key=KEY).status_code == 401


@pytest.mark.parametrize(
    ("raw", "field", "problem"),
    [
        (b"", "", "MISSING"),
        (b"{not json", "", "BAD_FORMAT"),
        (b"[]", "", "WRONG_TYPE"),
    ],
)
def test_a_body_that_is_not_an_event_is_400(client, db, raw, field, problem):
    """AE-6.10: a bad envelope is a 400 (not retried by EventBridge) and stores nothing."""
    response = post(client, None, raw=raw)

    assert response.status_code == 400
    assert response.json() == {
        "errorMsg": "BadRequestException",
        "details": [{"field": field, "problem": problem}],
    }


def test_an_event_without_its_event_id_is_400_naming_the_field(client, db):
    payload = envelope()
    del payload["detail"]["eventId"]
    del payload["detail"]["isTest"]

    response = post(client, payload)

    assert response.status_code == 400
    assert response.json()["details"] == [
        {"field": "detail.eventId", "problem": "MISSING"},
        {"field": "detail.isTest", "problem": "MISSING"},
    ]


def test_a_test_event_is_stored_and_changes_nothing(client, db):
    """AE-6.9: isTest true → 200 ACCEPTED, stored as TEST, no state change."""
    trip = capturing_trip()

    response = post(client, envelope(trip, "CaptureDeclined", isTest=True))
    process_all()

    assert response.json() == {"status": "ACCEPTED"}
    assert AmazonEvent.objects.get().status == EventStatus.TEST
    assert Charge.objects.get(trip=trip).state == ChargeState.CAPTURE_INITIATED


def test_an_unlisted_source_is_quarantined_until_staff_release_it(client, db):
    """§0.10: 200 ACCEPTED, held in quarantine with no state change; released, it applies."""
    trip = capturing_trip()
    payload = envelope(trip)
    payload["source"] = "somebody.else"

    response = post(client, payload)
    process_all()
    held = AmazonEvent.objects.get()
    assert response.json() == {"status": "ACCEPTED"}
    assert held.status == EventStatus.QUARANTINED
    assert Charge.objects.get(trip=trip).state == ChargeState.CAPTURE_INITIATED
    assert Alert.objects.filter(kind="event_quarantined").exists()

    assert event_release(event_pk=held.pk)
    process_all()
    assert Charge.objects.get(trip=trip).state == ChargeState.CAPTURED


@pytest.mark.parametrize(
    ("detail_type", "event_type"),
    [("ORDERING", "CartCreated"), ("SHOPPER", "GateEntry"), ("PAYMENT", "SomethingNew")],
)
def test_other_and_unknown_events_are_stored_without_failing(client, db, detail_type, event_type):
    """AE-6.6: ORDERING, SHOPPER and unknown types are accepted, stored, and change nothing."""
    trip = capturing_trip()
    payload = envelope(trip, event_type)
    payload["detail-type"] = detail_type

    assert post(client, payload).json() == {"status": "ACCEPTED"}
    assert process_all() == [EventStatus.IGNORED]


# --- processing ----------------------------------------------------------------------------------
def test_capture_approved_settles_and_late_or_conflicting_events_never_move_it_back(client, db):
    """AE-6.7, AE-6.8: CaptureApproved → SETTLED; a late AuthorizationApproved only adds to the
    history; a CaptureDeclined after it is a conflicting outcome: flagged, alerted, no change."""
    trip = capturing_trip()

    post(client, envelope(trip, "CaptureApproved"))
    post(client, envelope(trip, "AuthorizationApproved"))
    post(client, envelope(trip, "CaptureDeclined", declineReason="SOMETHING_NEW"))
    statuses = process_all()

    trip.refresh_from_db()
    charge = Charge.objects.get(trip=trip)
    assert statuses == [EventStatus.PROCESSED, EventStatus.IGNORED, EventStatus.CONFLICT]
    assert (trip.state, trip.settled_amount) == (TripState.SETTLED, Decimal("20.00"))
    assert charge.state == ChargeState.CAPTURED
    assert "capture outcome" in charge.flag_reason
    assert Alert.objects.filter(kind="payments_conflict").exists()
    assert not Debt.objects.filter(trip=trip).exists()


def test_capture_declined_records_debt_and_a_newer_zero_report(client, db):
    """AE-6.8, CC-7b.7: CaptureDeclined → SHORTFALL, debt CAPTURE_DECLINED, report total/0."""
    trip = capturing_trip()

    post(client, envelope(trip, "CaptureDeclined", declineReason="CARD_DECLINED"))
    process_all()

    trip.refresh_from_db()
    assert trip.state == TripState.SHORTFALL
    assert Debt.objects.get(trip=trip).outstanding_amount == Decimal("20.00")
    report = PaymentStatusReport.objects.get(trip=trip)
    assert (report.settled_amount, report.reason) == (0, "CAPTURE_DECLINED")


def test_a_capture_event_that_overtakes_our_answer_initiates_then_settles(client, db):
    """The Capture* event may arrive before our worker records the 200: the capture is marked
    initiated (report total/captured) and settled, once."""
    trip = capturing_trip(state=ChargeState.CAPTURING, total="30.00", captured="25.00")

    post(client, envelope(trip, "CaptureApproved", amount={"amount": 25, "code": "USD"}))
    process_all()

    trip.refresh_from_db()
    assert Charge.objects.get(trip=trip).state == ChargeState.CAPTURED
    assert (trip.state, trip.settled_amount) == (TripState.SHORTFALL, Decimal("25.00"))
    assert Debt.objects.get(trip=trip).root_cause == "PARTIAL_CAPTURE"
    report = PaymentStatusReport.objects.get(trip=trip)
    assert (report.total_amount, report.settled_amount) == (Decimal("30.00"), Decimal("25.00"))


def test_a_preauth_expired_event_expires_an_unsettled_trip_into_debt(client, db):
    """AE-7.14: AuthorizationCancelled with PREAUTH_EXPIRED → EXPIRED, debt, report total/0."""
    trip = factories.make_trip(
        state=TripState.NEEDS_REVIEW, cart_total=Decimal("9.00"), shopper=factories.make_shopper()
    )
    Charge.objects.create(
        trip=trip,
        state=ChargeState.ADJUST_PENDING,
        currency="USD",
        cart_total=Decimal("9.00"),
        adjust_seq=1,
        requested_amount=Decimal("9.00"),
        opened_at=clock.now(),
        state_changed_at=clock.now(),
    )

    post(client, envelope(trip, "AuthorizationCancelled", declineReason="PREAUTH_EXPIRED"))
    process_all()

    trip.refresh_from_db()
    assert trip.state == TripState.EXPIRED
    assert Debt.objects.get(trip=trip).root_cause == "PREAUTH_EXPIRED"
    assert PaymentStatusReport.objects.get(trip=trip).reason == "PREAUTH_EXPIRED"


def test_an_event_for_a_trip_we_do_not_know_is_kept_and_ignored(client, db):
    post(client, envelope(None, "CaptureApproved"))

    assert process_all() == [EventStatus.IGNORED]
    assert AmazonEvent.objects.get().note == "no such trip here"


def test_a_stored_event_waits_for_a_worker_and_the_sweep_requeues_it(
    client, db, django_capture_on_commit_callbacks
):
    """AE-6.10: the event is stored before the answer; if processing never ran, the beat sweep
    puts it back on the queue; processing twice applies it once."""
    trip = capturing_trip()
    queue = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    queue.delete("payments")
    with django_capture_on_commit_callbacks(execute=True):
        post(client, envelope(trip, "CaptureApproved"))
    event = AmazonEvent.objects.get()
    assert event.status == EventStatus.RECEIVED
    assert queue.llen("payments") == 1

    with clock.override(clock.now() + timedelta(seconds=60)):
        assert events_sweep() == 1
    assert queue.llen("payments") == 2

    assert event_process(event_pk=event.pk) == EventStatus.PROCESSED
    assert event_process(event_pk=event.pk) == "busy-or-done"
    assert Charge.objects.get(trip=trip).state == ChargeState.CAPTURED
    queue.delete("payments")


def test_an_adjust_outcome_event_brings_a_pending_poll_forward(client, db):
    """ADJ-3 with the feed: the terminal outcome of our PENDING adjust arrives as an event; the
    poll is made at once instead of after its backoff. The gate's own pre-auth approval (before
    the charge opened) does not count."""
    from datetime import UTC, datetime

    from core.models import OutboxMessage
    from core.outbox import outbox_enqueue

    opened = datetime(2026, 5, 4, 14, 59, tzinfo=UTC)
    with clock.override(opened):
        trip = factories.make_trip(state=TripState.SETTLING, cart_total=Decimal("25.50"))
        charge = Charge.objects.create(
            trip=trip,
            state=ChargeState.ADJUST_PENDING,
            currency="USD",
            cart_total=Decimal("25.50"),
            adjust_seq=1,
            requested_amount=Decimal("25.50"),
            pending_polls=3,
            opened_at=opened,
            state_changed_at=opened,
        )
        with transaction.atomic():
            poll = outbox_enqueue(
                kind="payments.adjust",
                key=f"adjust:{charge.pk}:1:poll3",
                payload={},
                available_at=opened + timedelta(seconds=4),
            )

    gate = envelope(trip, "AuthorizationApproved", eventTime="2026-05-04T14:58:00.000Z")
    gate["detail"]["amount"] = {"amount": Decimal("20.00"), "code": "USD"}
    post(client, gate)
    post(client, envelope(trip, "AuthorizationApproved", amount={"amount": 25.5, "code": "USD"}))
    with clock.override(opened + timedelta(seconds=1)):
        statuses = process_all()

    assert statuses == [EventStatus.IGNORED, EventStatus.PROCESSED]
    assert OutboxMessage.objects.get(pk=poll.pk).next_attempt_at == opened + timedelta(seconds=1)


@pytest.mark.django_db(transaction=True)
def test_an_event_that_cannot_be_stored_is_503_with_retry_after_and_stored_once_redelivered(
    client,
):
    """The answer comes only after the event is committed (§5): when the database refuses the
    write, Amazon gets a 503 with Retry-After (it redelivers), never a 200 for a lost event."""
    from django.db import connections

    payload = envelope()
    table = AmazonEvent._meta.db_table
    with connections["default"].cursor() as cursor:  # a real failure: the table is not there
        cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{table}_away"')
    try:
        refused = post(client, payload)
    finally:
        with connections["default"].cursor() as cursor:
            cursor.execute(f'ALTER TABLE "{table}_away" RENAME TO "{table}"')

    assert refused.status_code == 503
    assert refused["Retry-After"] == "5"
    assert wire.loads(refused.content)["errorMsg"]
    assert not AmazonEvent.objects.filter(event_id=payload["detail"]["eventId"]).exists()

    redelivered = post(client, payload)
    assert redelivered.status_code == 200
    assert wire.loads(redelivered.content) == {"status": "ACCEPTED"}
    assert AmazonEvent.objects.filter(event_id=payload["detail"]["eventId"]).count() == 1


def test_an_event_stored_while_the_broker_is_down_is_accepted_and_left_for_the_sweep(client, db):
    """Storing is the promise (§5); the kick to a worker is best effort: a broker that refuses
    connections costs no answer, and the stored event waits for the sweep."""
    from payments.tests.test_kill import broker_unreachable

    capture = envelope(capturing_trip())
    informational = envelope(capturing_trip(), event_type="AuthorizationApproved")
    with broker_unreachable():
        answers = [post(client, capture), post(client, informational)]

    assert [a.status_code for a in answers] == [200, 200]
    assert [wire.loads(a.content) for a in answers] == [{"status": "ACCEPTED"}] * 2
    assert AmazonEvent.objects.filter(status=EventStatus.RECEIVED).count() == 2

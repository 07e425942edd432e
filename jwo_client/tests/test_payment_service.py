# ruff: noqa: F811 - pytest fixtures imported from payment_fixtures are parameters here
"""The typed Payment Service client against the real simulator (a subprocess), over HTTP.

Every answer is read as decimals and every failure lands in exactly one class of the error tree
(contract §0.8). No Django, no database.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from jwo_client import errors
from jwo_client.credentials import StaticCredentials
from jwo_client.payment_messages import (
    AdjustChargeRequest,
    AdjustStatus,
    CancelChargeRequest,
    CaptureChargeRequest,
    Initiated,
    RefundRequest,
    ShopperIdentityRequest,
    TransactionalDataRequest,
)
from jwo_client.payment_service import PaymentServiceClient

from .payment_fixtures import KEY, STORE, client, new_trip, sim, simulator  # noqa: F401


def adjust(client, trip_id, amount) -> object:
    return client.adjust_charge(AdjustChargeRequest(STORE, trip_id, Decimal(amount), "USD"))


# --- adjust ------------------------------------------------------------------------------------
def test_adjust_approved_returns_the_authorized_amount_as_a_decimal(sim, client):
    """ADJ-1, CONN-ADJ: 200 APPROVED with authorizedAmount 15.99 (a Decimal, never a float)."""
    result = adjust(client, new_trip(sim), "15.99")

    assert result.status == AdjustStatus.APPROVED
    assert result.authorized_amount == Decimal("15.99")
    assert isinstance(result.authorized_amount, Decimal)
    assert result.exchange.status == 200
    assert result.exchange.request["amount"] == {"amount": Decimal("15.99"), "code": "USD"}


def test_adjust_declined_is_a_result_not_an_error(sim, client):
    """ADJ-2: 999999.99 over the card's limit → 200 DECLINED with amount 0."""
    trip_id = new_trip(sim, profile="DECLINE_OVER_LIMIT", limit=Decimal("100.00"))

    result = adjust(client, trip_id, "999999.99")

    assert result.declined
    assert result.authorized_amount == 0


def test_adjust_pending_then_the_same_amount_polls_to_a_terminal_result(sim, client):
    """ADJ-3: 25.50 PENDING (echoed), then a poll with the same amount is APPROVED."""
    trip_id = new_trip(sim, profile="PENDING_THEN", n=1, then="APPROVE")

    first = adjust(client, trip_id, "25.50")
    second = adjust(client, trip_id, "25.50")

    assert (first.status, first.authorized_amount) == (AdjustStatus.PENDING, Decimal("25.50"))
    assert second.status == AdjustStatus.APPROVED


def test_unknown_trip_is_classified_and_not_retryable(sim, client):
    """ADJ-4, CAN-2, CAP-2, RFD-2, TXD-2: 400 UnknownShoppingTrip on every trip operation."""
    unknown = str(uuid.uuid4())
    calls = [
        lambda: adjust(client, unknown, "10.00"),
        lambda: client.cancel_charge(CancelChargeRequest(STORE, unknown)),
        lambda: client.capture_charge(CaptureChargeRequest(STORE, unknown, Decimal("10"), "USD")),
        lambda: client.get_transactional_data(TransactionalDataRequest(STORE, unknown)),
    ]
    for call in calls:
        with pytest.raises(errors.UnknownShoppingTrip) as caught:
            call()
        assert caught.value.kind == errors.FailureKind.UNKNOWN_TRIP
        assert not caught.value.retryable


def test_bad_request_is_permanent(sim, client):
    """CAP-16: a zero capture is 400 BadRequestException → PermanentError (never retried)."""
    trip_id = new_trip(sim)
    adjust(client, trip_id, "10.00")

    with pytest.raises(errors.PermanentError) as caught:
        client.capture_charge(CaptureChargeRequest(STORE, trip_id, Decimal("0"), "USD"))

    assert caught.value.error_msg == "BadRequestException"
    assert caught.value.http_status == 400


# --- retryable failures (R-429, R-500, R-503, timeouts, resets) --------------------------------
@pytest.mark.parametrize(
    ("path", "operation"),
    [
        ("/v1/adjust/charge", "adjust"),  # ADJ-9
        ("/v1/cancel/charge", "cancel"),  # CAN-10
        ("/v1/capture/charge", "capture"),  # CAP-13
        ("/v1/payment/transactional-data", "transactional_data"),  # TXD-10
        ("/v1/identity/shopper", "shopper_identity"),  # SID-11
    ],
)
def test_429_is_rate_limited_with_retry_after_in_seconds(sim, client, path, operation):
    """ADJ-9, CAN-10, CAP-13, TXD-10, SID-11 (R-429, C1): Retry-After 600 means 600 seconds."""
    trip_id = new_trip(sim)
    sim.faults(script=[{"path": path, "status": 429}])
    call = {
        "adjust": lambda: adjust(client, trip_id, "10.00"),
        "cancel": lambda: client.cancel_charge(CancelChargeRequest(STORE, trip_id)),
        "capture": lambda: client.capture_charge(
            CaptureChargeRequest(STORE, trip_id, Decimal("1"), "USD")
        ),
        "transactional_data": lambda: client.get_transactional_data(
            TransactionalDataRequest(STORE, trip_id)
        ),
        "shopper_identity": lambda: client.get_shopper_identity(
            ShopperIdentityRequest(STORE, "shopper-x")
        ),
    }[operation]

    with pytest.raises(errors.RateLimited) as caught:
        call()

    assert caught.value.retry_after == 600.0
    assert caught.value.retryable


def test_500_is_a_server_error_and_the_identical_body_can_be_sent_again(sim, client):
    """ADJ-10, CAP-14 (R-500, phase after): the operation happened, the answer was lost; the
    identical retry gets the stored result and changes nothing."""
    trip_id = new_trip(sim)
    sim.faults(script=[{"path": "/v1/adjust/charge", "status": 500, "phase": "after"}])

    with pytest.raises(errors.ServerError) as caught:
        adjust(client, trip_id, "12.00")
    retried = adjust(client, trip_id, "12.00")

    assert caught.value.retry_after is None
    assert retried.approved
    requests = [h["request"] for h in sim.trip(trip_id)["history"] if h["kind"] == "call"]
    assert requests[0] == requests[1]


def test_503_waits_retry_after_else_retry_after_field_else_30(sim, client):
    """ADJ-11, CAN-12, CAP-15 (R-503): ServiceUnavailable carries the wait in seconds."""
    trip_id = new_trip(sim)
    sim.faults(script=[{"path": "/v1/cancel/charge", "status": 503}])

    with pytest.raises(errors.ServiceUnavailable) as caught:
        client.cancel_charge(CancelChargeRequest(STORE, trip_id))

    assert caught.value.retry_after == 30.0


def test_timeout_is_retryable_and_marked_as_an_unknown_outcome(sim):
    """CONN-ADJ: a request held past the 10 s read timeout (here 0.5 s) is a TransportError."""
    trip_id = new_trip(sim)
    sim.faults(script=[{"path": "/v1/adjust/charge", "kind": "timeout", "holdMs": 1500}])
    with (
        PaymentServiceClient(
            base_url=sim.base_url,
            region="us-east-1",
            credentials=StaticCredentials(*KEY),
            read_timeout=0.5,
        ) as impatient,
        pytest.raises(errors.TransportError) as caught,
    ):
        adjust(impatient, trip_id, "10.00")

    assert caught.value.timed_out
    assert caught.value.retryable


def test_reset_connection_is_retryable(sim, client):
    trip_id = new_trip(sim)
    sim.faults(script=[{"path": "/v1/capture/charge", "kind": "reset"}])
    adjust(client, trip_id, "10.00")

    with pytest.raises(errors.TransportError) as caught:
        client.capture_charge(CaptureChargeRequest(STORE, trip_id, Decimal("10.00"), "USD"))

    assert not caught.value.timed_out


def test_refused_credentials_are_access_denied(sim):
    """CONN-ADJ, VAL-CONN: a rejected signature is 403 → AccessDenied, never retryable."""
    trip_id = new_trip(sim)
    with (
        PaymentServiceClient(
            base_url=sim.base_url,
            region="us-east-1",
            credentials=StaticCredentials(KEY[0], "not-the-secret"),
        ) as wrong,
        pytest.raises(errors.AccessDenied) as caught,
    ):
        adjust(wrong, trip_id, "10.00")

    assert caught.value.kind == errors.FailureKind.ACCESS_DENIED
    assert not caught.value.retryable


def test_unknown_response_fields_are_ignored(sim, client):
    """§0.4: the simulator adds simExtra to every answer; the client reads what it knows."""
    sim.faults({"*": {"pExtraFields": 1}})

    result = adjust(client, new_trip(sim), "9.99")

    assert "simExtra" in result.exchange.response
    assert result.authorized_amount == Decimal("9.99")


# --- cancel, capture, expiry --------------------------------------------------------------------
def test_cancel_is_initiated_and_a_repeat_answers_200(sim, client):
    """CAN-1, CONN-CAN: 200 with an empty body, twice."""
    trip_id = new_trip(sim)

    first = client.cancel_charge(CancelChargeRequest(STORE, trip_id))
    second = client.cancel_charge(CancelChargeRequest(STORE, trip_id))

    assert first == second == Initiated()
    assert sim.trip(trip_id)["state"] == "CANCELLED"


def test_capture_is_initiated_and_an_identical_repeat_captures_once(sim, client):
    """CAP-1, CONN-CAP: 200 empty; the identical repeat answers 200 with no second capture."""
    trip_id = new_trip(sim)
    adjust(client, trip_id, "25.99")
    request = CaptureChargeRequest(STORE, trip_id, Decimal("25.99"), "USD")

    client.capture_charge(request)
    client.capture_charge(request)

    remote = sim.trip(trip_id)
    assert remote["state"] == "CAPTURED"
    assert Decimal(remote["capture"]["amount"]) == Decimal("25.99")


def test_expired_trip_is_classified(sim, client):
    """AE-7.14: after the 46 h window every trip call is ShoppingTripExpiredException."""
    trip_id = new_trip(sim)
    sim.advance(46 * 3600 + 1)

    with pytest.raises(errors.ShoppingTripExpired):
        adjust(client, trip_id, "10.00")
    with pytest.raises(errors.ShoppingTripExpired):
        client.cancel_charge(CancelChargeRequest(STORE, trip_id))


# --- refund ------------------------------------------------------------------------------------
def test_refund_returns_its_reconciliation_id_and_a_replay_returns_the_same(sim, client):
    """RFD-1, CONN-RFD, AE-7.6, AE-7.8: same refundRequestId and body → same reconciliationId."""
    trip_id = new_trip(sim)
    adjust(client, trip_id, "25.99")
    client.capture_charge(CaptureChargeRequest(STORE, trip_id, Decimal("25.99"), "USD"))
    request = RefundRequest(
        STORE, trip_id, Decimal("4.99"), "USD", str(uuid.uuid4()), "DAMAGED_ITEM"
    )

    first = client.refund(request)
    replay = client.refund(request)

    assert first.reconciliation_id
    assert replay.reconciliation_id == first.reconciliation_id


def test_refund_after_the_window_is_refund_window_expired(sim, client):
    """AE-7.9: past the 30-day window → RefundWindowExpiredException, not retryable."""
    trip_id = new_trip(sim)
    adjust(client, trip_id, "5.00")
    client.capture_charge(CaptureChargeRequest(STORE, trip_id, Decimal("5.00"), "USD"))
    sim.advance(31 * 86400)

    with pytest.raises(errors.RefundWindowExpired):
        client.refund(
            RefundRequest(STORE, trip_id, Decimal("1.00"), "USD", str(uuid.uuid4()), "OTHER")
        )

# ruff: noqa: F811 - pytest fixtures imported from payment_fixtures are parameters here
"""Transactional data, shopper identity and Report Payment Status through the typed client, and
the credential chain and failure classification without a network."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import httpx
import pytest

from jwo_client import errors
from jwo_client.credentials import AwsChainCredentials, StaticCredentials
from jwo_client.payment_messages import (
    AdjustChargeRequest,
    PaymentStatusReport,
    ReportStatus,
    ShopperIdentityRequest,
    TransactionalDataRequest,
)
from jwo_client.payment_service import PaymentServiceClient, classify_failure

from .payment_fixtures import KEY, STORE, client, new_trip, sim, simulator  # noqa: F401


def now_ms() -> int:
    return int(time.time() * 1000)


def report(trip_id, total, settled, at) -> PaymentStatusReport:
    return PaymentStatusReport(STORE, trip_id, Decimal(total), Decimal(settled), "USD", at)


def test_transactional_data_after_approval_has_the_receipt_fields(sim, client):
    """TXD-1, CONN-TXD: brand and tail for the receipt; posEntryMode follows the entry."""
    trip_id = new_trip(sim, brand="VISA", tail="1234", interactionType="INSERT")
    client.adjust_charge(AdjustChargeRequest(STORE, trip_id, Decimal("8.00"), "USD"))

    data = client.get_transactional_data(TransactionalDataRequest(STORE, trip_id))

    assert (data.brand, data.tail, data.pos_entry_mode) == ("VISA", "1234", "EMV_9F39_05")
    assert data.reconciliation_id
    assert data.expiration_year and data.expiration_month


def test_transactional_data_before_approval_is_not_yet_available(sim, client):
    """TXD-2: before the first APPROVED adjust the simulator answers UnknownShoppingTrip."""
    trip_id = new_trip(sim)

    with pytest.raises(errors.UnknownShoppingTrip):
        client.get_transactional_data(TransactionalDataRequest(STORE, trip_id))


def test_shopper_identity_returns_the_email_or_nothing(sim, client):
    """SID-1, CONN-SID, SID-18: the e-mail on file; an unknown shopper gives {} → None."""
    sim.set_shopper("shopper.with-mail", profile="APPROVE_ALL", email="pat@example.com")

    known = client.get_shopper_identity(ShopperIdentityRequest(STORE, "shopper.with-mail"))
    unknown = client.get_shopper_identity(ShopperIdentityRequest(STORE, "nobody_here"))

    assert known.email == "pat@example.com"
    assert "pat@" not in repr(known)
    assert unknown.email is None


def test_report_accepted_partial_and_rejected_when_older(sim, client):
    """FB-TC001, CONN-FB, FB-TC003, FB-TC002, CC-7b.6: newer reports are Accepted (a replay too),
    an older one is Rejected."""
    trip_id = new_trip(sim)
    at = now_ms()

    full = client.report_payment_status(report(trip_id, "23.47", "23.47", at))
    replay = client.report_payment_status(report(trip_id, "23.47", "23.47", at))
    partial = client.report_payment_status(report(trip_id, "23.47", "15.00", at + 1))
    older = client.report_payment_status(report(trip_id, "23.47", "23.47", at - 1000))

    assert full.status == replay.status == partial.status == ReportStatus.ACCEPTED
    assert older.status == ReportStatus.REJECTED
    assert sim.trip(trip_id)["outstanding"] == Decimal("8.47")


def test_report_for_an_unknown_trip_is_unknown_trip(sim, client):
    """CC-7b.4: 400 UnknownShoppingTrip, not retried."""
    with pytest.raises(errors.UnknownShoppingTrip):
        client.report_payment_status(report(str(uuid.uuid4()), "1.00", "0", now_ms()))


def test_the_aws_credential_chain_signs_calls(sim, monkeypatch):
    """CONN-ENV, §0.7: credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY via botocore;
    every call goes to the configured base URL."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEY[1])
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    trip_id = new_trip(sim)

    with PaymentServiceClient(base_url=sim.base_url, region="us-east-1") as chained:
        result = chained.adjust_charge(AdjustChargeRequest(STORE, trip_id, Decimal("3"), "USD"))

    assert result.approved
    assert chained.base_url == sim.base_url
    assert AwsChainCredentials().get().access_key == KEY[0]


def test_no_credentials_is_a_configuration_error(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    with pytest.raises(errors.NoCredentials):
        AwsChainCredentials().get()


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected", "wait"),
    [
        (429, {"errorMsg": "TooManyRequestsException"}, {}, errors.RateLimited, 600.0),
        (429, None, {"Retry-After": "120"}, errors.RateLimited, 120.0),
        (503, {"retryAfter": 12}, {}, errors.ServiceUnavailable, 12.0),
        (503, {"retryAfter": 12}, {"Retry-After": "7"}, errors.ServiceUnavailable, 7.0),
        (503, None, {}, errors.ServiceUnavailable, 30.0),
        (502, None, {}, errors.ServerError, None),
        (403, {"message": "gateway shape"}, {}, errors.AccessDenied, None),
        (400, {"errorMsg": "ShoppingTripExpiredException"}, {}, errors.ShoppingTripExpired, None),
        (400, {"errorMsg": "RefundWindowExpiredException"}, {}, errors.RefundWindowExpired, None),
        (400, {"errorMsg": "BadRequestException"}, {}, errors.PermanentError, None),
        (404, None, {}, errors.PermanentError, None),
    ],
)
def test_every_failure_has_one_classification(status, body, headers, expected, wait):
    """§0.8: 429/503 waits in seconds (header first), other 5xx back off, any 403 is access
    denied whatever its body, other 4xx are permanent."""
    error = classify_failure(status, body, httpx.Headers(headers))

    assert type(error) is expected
    assert getattr(error, "retry_after", None) == wait


def test_a_success_with_an_unreadable_body_is_retryable(sim):
    """A 200 we cannot read is asked again (the call is idempotent), never taken as success."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=b"{not json"))
    with (
        PaymentServiceClient(
            base_url="http://payments.invalid",
            region="us-east-1",
            credentials=StaticCredentials(*KEY),
            http=httpx.Client(transport=transport),
        ) as broken,
        pytest.raises(errors.MalformedResponse) as caught,
    ):
        broken.adjust_charge(AdjustChargeRequest(STORE, "t-1", Decimal("1"), "USD"))

    assert caught.value.retryable

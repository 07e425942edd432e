"""Happy paths and state rules of §3.1–§3.6 and the §7 state table, over HTTP."""

from __future__ import annotations

import uuid

import pytest

from .helpers import (
    D,
    adjust,
    body_of,
    cancel,
    capture,
    captured_trip,
    error_of,
    new_trip,
    refund,
    refund_body,
    txd,
)


def test_adjust_approved_in_full_adj_1(sim, retailer):
    """ADJ-1: 200 APPROVED with the amount; AuthorizationApproved follows."""
    trip = new_trip(sim)
    response = adjust(sim, trip, "15.99")
    assert response.status_code == 200
    assert (
        response.content
        == b'{"status":"APPROVED","authorizedAmount":{"amount":15.99,"code":"USD"}}'
    )
    state = sim.trip(trip)
    assert state["state"] == "ADJUST_APPROVED"
    assert [e["eventType"] for e in state["events"]] == [
        "AuthorizationApproved",
        "AuthorizationApproved",
    ]


def test_adjust_declined_over_limit_adj_2(sim):
    """ADJ-2: DECLINE_OVER_LIMIT below the amount → DECLINED, amount 0, INSUFFICIENT_FUNDS."""
    sim.set_shopper("shopper-002", profile="DECLINE_OVER_LIMIT", limit=D("100.00"))
    trip = new_trip(sim, "shopper-002")
    response = adjust(sim, trip, "999999.99")
    assert body_of(response) == {
        "status": "DECLINED",
        "authorizedAmount": {"amount": 0, "code": "USD"},
    }
    event = sim.trip(trip)["events"][-1]
    assert (event["eventType"], event["declineReason"]) == (
        "AuthorizationDeclined",
        "INSUFFICIENT_FUNDS",
    )
    assert adjust(sim, trip, "99.00").status_code == 200
    assert sim.trip(trip)["state"] == "ADJUST_APPROVED"


def test_adjust_pending_then_approve_adj_3(sim):
    """ADJ-3: PENDING_THEN(2, APPROVE): two PENDING echoes, then APPROVED on the same amount."""
    sim.set_shopper("shopper-003", profile="PENDING_THEN", n=2, then="APPROVE")
    trip = new_trip(sim, "shopper-003")
    first = body_of(adjust(sim, trip, "25.50"))
    assert first == {"status": "PENDING", "authorizedAmount": {"amount": D("25.50"), "code": "USD"}}
    assert str(first["authorizedAmount"]["amount"]) == "25.50"
    assert body_of(adjust(sim, trip, "25.50"))["status"] == "PENDING"
    assert sim.trip(trip)["state"] == "ADJUST_PENDING"
    assert body_of(adjust(sim, trip, "25.50"))["status"] == "APPROVED"
    assert body_of(adjust(sim, trip, "25.50"))["status"] == "APPROVED"  # stored, no re-evaluation
    assert sim.trip(trip)["state"] == "ADJUST_APPROVED"


def test_pending_then_decline_and_new_amount_restarts_count(sim):
    sim.set_shopper("shopper-004", profile="PENDING_THEN", n=1, then="DECLINE")
    trip = new_trip(sim, "shopper-004")
    assert body_of(adjust(sim, trip, "10.00"))["status"] == "PENDING"
    assert body_of(adjust(sim, trip, "11.00"))["status"] == "PENDING"
    assert body_of(adjust(sim, trip, "11.00"))["status"] == "DECLINED"
    assert sim.trip(trip)["state"] == "ADJUST_DECLINED"


def test_pending_then_counts_answers_as_documented_adj_3(sim):
    """ADJ-3 / §8.2 as docs/simulator.md tables it: ``n`` PENDING answers for an amount, then
    the outcome with its one event; ``n`` defaults to 1; ``n = 0`` answers the outcome at once."""
    sim.set_shopper("p-default", profile="PENDING_THEN")
    sim.set_shopper("p-zero", profile="PENDING_THEN", n=0, then="DECLINE")
    trip = new_trip(sim, "p-default")
    statuses = [body_of(adjust(sim, trip, "7.00"))["status"] for _ in range(3)]
    assert statuses == ["PENDING", "APPROVED", "APPROVED"]
    events = [e["eventType"] for e in sim.trip(trip)["events"]]
    assert events == ["AuthorizationApproved", "AuthorizationApproved"]  # gate, then outcome
    zero = new_trip(sim, "p-zero")
    assert body_of(adjust(sim, zero, "7.00"))["status"] == "DECLINED"


def test_partial_approval_and_zero_available(sim):
    sim.set_shopper("partial", profile="PARTIAL", available=D("15.00"))
    sim.set_store("STORE-001", preauthAmount=D("10.00"))
    trip = new_trip(sim, "partial", store="STORE-001")
    assert body_of(adjust(sim, trip, "23.47"))["authorizedAmount"]["amount"] == D("15.00")
    assert error_of(capture(sim, trip, "23.47")) == "BadRequestException"
    assert capture(sim, trip, "15.00").status_code == 200
    sim.set_shopper("broke", profile="PARTIAL", available=0)
    sim.set_store("STORE-001", preauthAmount=D("0.50"))
    # a pre-auth above the available balance is declined at the gate
    assert sim.gate("STORE-001", "broke")["preauthStatus"] == "DECLINED"


def test_adjust_same_amount_is_stored_result_and_new_amount_replaces(sim):
    sim.set_shopper("limit", profile="DECLINE_OVER_LIMIT", limit=D("20.00"))
    sim.set_store("STORE-001", preauthAmount=D("5.00"))
    trip = new_trip(sim, "limit")
    assert body_of(adjust(sim, trip, "10.00"))["status"] == "APPROVED"
    sim.set_shopper("limit", profile="DECLINE_OVER_LIMIT", limit=D("5.00"))
    assert body_of(adjust(sim, trip, "10.00"))["status"] == "APPROVED"  # stored
    assert body_of(adjust(sim, trip, "12.00"))["status"] == "DECLINED"  # re-evaluated
    # a later DECLINED re-adjust blocks capture (§3.3)
    assert error_of(capture(sim, trip, "10.00")) == "BadRequestException"


def test_capture_success_and_identical_repeat_cap_1(sim, retailer):
    """CAP-1 / CONN-CAP: 200 empty; CaptureApproved; identical repeat → 200, one capture."""
    trip = new_trip(sim)
    adjust(sim, trip, "25.99")
    first = capture(sim, trip, "25.99")
    assert (first.status_code, first.content) == (200, b"")
    assert capture(sim, trip, "25.99").status_code == 200
    state = sim.trip(trip)
    assert state["state"] == "CAPTURED"
    assert [e["eventType"] for e in state["events"]].count("CaptureApproved") == 1
    assert error_of(capture(sim, trip, "20.00")) == "BadRequestException"


def test_capture_less_than_approved_and_over_approved(sim):
    trip = new_trip(sim)
    adjust(sim, trip, "30.00")
    assert error_of(capture(sim, trip, "30.01")) == "BadRequestException"
    assert capture(sim, trip, "12.00").status_code == 200


@pytest.mark.parametrize("setup", ["preauthorized", "pending", "declined"])
def test_capture_without_current_approved_adjust_is_bad_request(sim, setup):
    profiles = {
        "preauthorized": {},
        "pending": {"profile": "PENDING_THEN", "n": 5},
        "declined": {"profile": "DECLINE_OVER_LIMIT", "limit": D("1.00")},
    }
    sim.set_shopper("s", **(profiles[setup] or {"profile": "APPROVE_ALL"}))
    sim.set_store("STORE-001", preauthAmount=D("1.00"))
    trip = new_trip(sim, "s")
    if setup != "preauthorized":
        adjust(sim, trip, "10.00")
    assert error_of(capture(sim, trip, "10.00")) == "BadRequestException"


def test_cancel_is_async_and_repeatable_can_1(sim):
    """CAN-1 / CONN-CAN: 200 empty; AuthorizationCancelled; a repeat answers 200."""
    trip = new_trip(sim)
    response = cancel(sim, trip)
    assert (response.status_code, response.content) == (200, b"")
    assert cancel(sim, trip).status_code == 200
    state = sim.trip(trip)
    assert state["state"] == "CANCELLED"
    assert state["events"][-1]["eventType"] == "AuthorizationCancelled"
    assert state["events"][-1]["declineReason"] is None
    assert [e["eventType"] for e in state["events"]].count("AuthorizationCancelled") == 1


@pytest.mark.parametrize("call", ["adjust", "capture", "refund"])
def test_after_cancel_adjust_capture_refund_are_bad_request(sim, call):
    trip = new_trip(sim)
    adjust(sim, trip, "10.00")
    cancel(sim, trip)
    response = {
        "adjust": lambda: adjust(sim, trip, "11.00"),
        "capture": lambda: capture(sim, trip, "10.00"),
        "refund": lambda: refund(sim, trip, "1.00"),
    }[call]()
    assert error_of(response) == "BadRequestException"


def test_cancel_and_adjust_after_capture_are_bad_request(sim):
    trip = captured_trip(sim)
    assert error_of(cancel(sim, trip)) == "BadRequestException"
    assert error_of(adjust(sim, trip, "1.00")) == "BadRequestException"


def test_async_delay_keeps_capturing_until_the_clock_moves(sim):
    sim.set_store("STORE-001", asyncDelaySeconds=30)
    trip = new_trip(sim)
    adjust(sim, trip, "20.00")
    capture(sim, trip, "20.00")
    assert sim.trip(trip)["state"] == "CAPTURING"
    assert capture(sim, trip, "20.00").status_code == 200
    assert error_of(capture(sim, trip, "19.00")) == "BadRequestException"
    sim.advance(29)
    assert sim.trip(trip)["state"] == "CAPTURING"
    sim.advance(1)
    state = sim.trip(trip)
    assert state["state"] == "CAPTURED"
    assert state["events"][-1]["eventTime"] == "2025-05-02T17:00:30.000Z"


def test_cancel_with_delay_passes_through_cancelling(sim):
    sim.set_store("STORE-001", asyncDelaySeconds=10)
    trip = new_trip(sim)
    cancel(sim, trip)
    assert sim.trip(trip)["state"] == "CANCELLING"
    assert cancel(sim, trip).status_code == 200
    sim.advance(10)
    assert sim.trip(trip)["state"] == "CANCELLED"


def test_decline_capture_flag_ends_in_capture_declined(sim):
    sim.set_shopper("dc", declineCapture=True)
    trip = captured_trip(sim, shopper="dc")
    state = sim.trip(trip)
    assert state["state"] == "CAPTURE_DECLINED"
    assert state["events"][-1]["eventType"] == "CaptureDeclined"
    assert error_of(refund(sim, trip, "1.00")) == "BadRequestException"


def test_refund_success_and_partial_then_full_rfd_1(sim):
    """RFD-1 / AE-7.6 / CONN-RFD: 200 reconciliationId; RefundApproved with refundRequestId."""
    trip = captured_trip(sim, "25.99")
    refund_id = "550e8400-e29b-41d4-a716-446655440000"
    response = refund(sim, trip, "10.00", refund_id)
    assert response.status_code == 200
    assert body_of(response)["reconciliationId"].startswith("RFD-")
    state = sim.trip(trip)
    assert state["state"] == "PARTIALLY_REFUNDED"
    assert state["events"][-1]["eventType"] == "RefundApproved"
    assert state["events"][-1]["refundRequestId"] == refund_id
    assert error_of(refund(sim, trip, "15.999")) == "BadRequestException"
    assert error_of(refund(sim, trip, "16.00")) == "BadRequestException"  # over refundable
    assert refund(sim, trip, "15.99").status_code == 200
    assert sim.trip(trip)["state"] == "REFUNDED"


@pytest.mark.parametrize(
    "reason", ["DAMAGED_ITEM", "EXPIRED_ITEM", "UNWANTED_ITEM", "JWO_TECH_ERROR", "OTHER"]
)
def test_every_refund_reason_code_ae_7_7(sim, reason):
    """AE-7.7: 200 for each reason code."""
    trip = captured_trip(sim)
    assert refund(sim, trip, "1.00", reason=reason).status_code == 200


def test_refund_idempotency_ae_7_8(sim):
    """AE-7.8: same id and body → same reconciliationId, no second refund; other body → 400."""
    trip = captured_trip(sim, "25.99")
    body = refund_body(trip, "5.00")
    first = body_of(sim.call("/v1/refund", body))
    again = body_of(sim.call("/v1/refund", body))
    assert first == again
    assert len(sim.trip(trip)["refunds"]) == 1
    changed = dict(body, amount={"amount": D("6.00"), "code": "USD"})
    assert error_of(sim.call("/v1/refund", changed)) == "BadRequestException"
    # a replay still answers after the trip is fully refunded and after the window (§0.10)
    refund(sim, trip, "20.99")
    sim.advance(31 * 86400)
    assert body_of(sim.call("/v1/refund", body)) == first


def test_refund_window_from_trip_end_ae_7_9(sim):
    """AE-7.9: default 30 days from endTime; after it → RefundWindowExpiredException."""
    trip = new_trip(sim)
    sim.exit(
        trip,
        [{"id": "SKU-001", "type": "SKU", "quantity": {"value": "1", "unit": "unit"}}],
        endTime="2025-05-02T17:10:00Z",
    )
    adjust(sim, trip, "25.99")
    capture(sim, trip, "25.99")
    sim.set_clock("2025-06-01T17:10:00Z")
    assert refund(sim, trip, "1.00").status_code == 200
    sim.set_clock("2025-06-01T17:10:01Z")
    assert error_of(refund(sim, trip, "1.00")) == "RefundWindowExpiredException"


def test_refund_window_is_a_store_setting(sim):
    sim.set_store("STORE-001", refundWindowDays=7)
    trip = captured_trip(sim)
    sim.advance(7 * 86400 + 1)
    assert error_of(refund(sim, trip, "1.00")) == "RefundWindowExpiredException"


def test_declined_refund_frees_its_amount(sim):
    sim.set_shopper("dr", declineRefund=True)
    trip = captured_trip(sim, "10.00", shopper="dr")
    refund(sim, trip, "10.00")
    state = sim.trip(trip)
    assert state["state"] == "CAPTURED"
    assert state["events"][-1]["eventType"] == "RefundDeclined"
    sim.set_shopper("dr")
    assert refund(sim, trip, "10.00").status_code == 200


def test_in_flight_refunds_count_against_the_captured_amount(sim):
    sim.set_store("STORE-001", asyncDelaySeconds=60)
    trip = new_trip(sim)
    adjust(sim, trip, "10.00")
    capture(sim, trip, "10.00")
    sim.advance(60)
    refund(sim, trip, "6.00")
    assert error_of(refund(sim, trip, "5.00")) == "BadRequestException"


def test_refund_id_reused_on_another_trip_is_bad_request(sim):
    first, second = captured_trip(sim), captured_trip(sim)
    refund_id = str(uuid.uuid4())
    refund(sim, first, "1.00", refund_id)
    assert error_of(refund(sim, second, "1.00", refund_id)) == "BadRequestException"


def test_transactional_data_after_approval_txd_1(sim):
    """TXD-1 / CONN-TXD: all strings; INSERT → EMV_9F39_05; stays after capture and refund."""
    sim.set_shopper("card", interactionType="INSERT", expirationYear="2025")
    trip = new_trip(sim, "card")
    assert error_of(txd(sim, trip)) == "UnknownShoppingTrip"  # TXD-2: not yet available
    adjust(sim, trip, "25.99")
    data = body_of(txd(sim, trip))
    assert data["posEntryMode"] == "EMV_9F39_05"
    assert data["expirationDate"] == {"expirationYear": "2025", "expirationMonth": "12"}
    flat = {k: v for k, v in data.items() if k != "expirationDate"}
    assert all(isinstance(value, str) for value in flat.values())
    assert (data["brand"], data["tail"], data["currency"]) == ("VISA", "1234", "USD")
    capture(sim, trip, "25.99")
    refund(sim, trip, "1.00")
    assert body_of(txd(sim, trip)) == data


@pytest.mark.parametrize(("interaction", "code"), [("TAP", "07"), ("SWIPE", "90"), ("PALM", "07")])
def test_pos_entry_mode_follows_the_gate_interaction(sim, interaction, code):
    trip = new_trip(sim, interactionType=interaction)
    adjust(sim, trip, "1.00")
    assert body_of(txd(sim, trip))["posEntryMode"] == f"EMV_9F39_{code}"


def test_transactional_data_stays_after_cancel(sim):
    trip = new_trip(sim)
    adjust(sim, trip, "5.00")
    cancel(sim, trip)
    assert txd(sim, trip).status_code == 200


def test_shopper_identity_sid_1_17_18(sim):
    """SID-1 / CONN-SID: the e-mail on file; SID-17: id characters; SID-18: unknown → {}."""
    sim.set_shopper("pat.smith_1-x", email="pat@example.com")
    answer = sim.call(
        "/v1/identity/shopper", {"storeId": "STORE-001", "shopperId": {"id": "pat.smith_1-x"}}
    )
    assert body_of(answer) == {"shopperEmail": "pat@example.com"}
    unknown = sim.call(
        "/v1/identity/shopper", {"storeId": "STORE-001", "shopperId": {"id": "nobody"}}
    )
    assert (unknown.status_code, body_of(unknown)) == (200, {})


def test_trip_of_another_store_is_unknown(sim):
    sim.set_store("STORE-002")
    trip = new_trip(sim)
    assert error_of(adjust(sim, trip, "1.00", store="STORE-002")) == "UnknownShoppingTrip"


def test_trip_declined_at_the_gate_does_not_exist(sim):
    sim.set_shopper("expired", profile="EXPIRED_CARD")
    answer = sim.gate("STORE-001", "expired")
    assert answer["gateOpen"] is False
    assert error_of(adjust(sim, answer["shoppingTripId"], "1.00")) == "UnknownShoppingTrip"


def test_jpy_store_amounts_have_no_decimals(sim):
    sim.set_store("STORE-JP", currency="JPY", preauthAmount=5000)
    trip = new_trip(sim, store="STORE-JP")
    assert body_of(adjust(sim, trip, "1500", store="STORE-JP", code="JPY")) == {
        "status": "APPROVED",
        "authorizedAmount": {"amount": 1500, "code": "JPY"},
    }
    assert error_of(adjust(sim, trip, "1500.5", store="STORE-JP", code="JPY")) == (
        "BadRequestException"
    )


def test_inspection_shows_call_history(sim):
    trip = new_trip(sim)
    adjust(sim, trip, "3.00")
    calls = [h for h in sim.trip(trip)["history"] if h["kind"] == "call"]
    assert calls[-1]["path"] == "/v1/adjust/charge"
    assert calls[-1]["status"] == 200

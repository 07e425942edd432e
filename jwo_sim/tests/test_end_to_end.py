"""End-to-end flows and the remaining simulator-side cases of the test plan."""

from __future__ import annotations

from pathlib import Path

from .helpers import D, adjust, body_of, cancel, capture, error_of, new_trip, refund, report, txd

CART = [
    {
        "id": "SKU-001",
        "type": "SKU",
        "quantity": {"value": "2.0", "unit": "unit"},
        "externalIdentifiers": [{"id": "012345678905", "type": "UPC"}],
        "lineItemId": "li-1",
    },
    {
        "id": "SKU-BANANA",
        "type": "SKU",
        "quantity": {"value": "0.742", "unit": "kg"},
        "lineItemId": "li-2",
    },
    {
        "id": "0049000042566",
        "type": "SCANCODE",
        "quantity": {"value": "1", "unit": "unit"},
        "lineItemId": "li-3",
    },
]


def test_full_validation_flow_conn_e2e(sim, retailer):
    """CONN-E2E: gate → exit 201 → adjust APPROVED → capture 200 → CaptureApproved → report
    total/total Accepted → transactional data and e-mail → CSV rows, in one run."""
    sim.set_shopper("shopper-001", email="pat@example.com")
    trip = new_trip(sim)
    order = sim.exit(trip, CART, endTime="2025-05-02T17:09:39Z")
    assert (order["httpStatus"], order["attempts"]) == (201, 1)
    assert body_of(adjust(sim, trip, "23.47"))["status"] == "APPROVED"
    assert capture(sim, trip, "23.47").status_code == 200
    assert body_of(report(sim, trip, "23.47", "23.47", 1746206123000)) == {"status": "Accepted"}
    assert body_of(txd(sim, trip))["tail"] == "1234"
    email = sim.call(
        "/v1/identity/shopper", {"storeId": "STORE-001", "shopperId": {"id": "shopper-001"}}
    )
    assert body_of(email) == {"shopperEmail": "pat@example.com"}
    sim.drain()
    assert retailer.event_types(trip)[-1] == "CaptureApproved"
    [path] = sim.flush_csv()
    text = Path(path).read_text(encoding="utf-8")
    assert f"{trip}:P:CAPTURE:1" in text and f"{trip}:L:li-3" in text
    assert sim.balances("shopper-001") == []


def test_cart_shapes_reach_the_connector_unchanged_cp_1_2_cp_1_5_cp_1_6(sim, retailer):
    """CP-1.2 multi-item, CP-1.5 external identifiers, CP-1.6 lineItemId kept per line."""
    trip = new_trip(sim)
    sim.exit(trip, CART)
    assert retailer.order_requests[-1]["cartItems"] == CART


def test_financial_auth_event_at_gate_time_cp_1_8_and_optional_fields_cp_1_15(sim, retailer):
    """CP-1.8: the FINANCIAL event carries the gate time; CP-1.15: optional fields omitted."""
    trip = new_trip(sim)
    sim.advance(300)
    bare = [{"id": "ae-1", "timestamp": "2025-05-02T17:00:00Z", "payloadType": "FINANCIAL"}]
    sim.exit(
        trip,
        [{"id": "SKU-001", "type": "SKU", "quantity": {"value": "1", "unit": "unit"}}],
        authEvents=bare,
        shopperIdentity=None,
    )
    request = retailer.order_requests[-1]
    assert request["shoppingTrip"]["startTime"] == "2025-05-02T17:00:00Z"
    assert request["shoppingTrip"]["endTime"] == "2025-05-02T17:05:00Z"
    assert request["shoppingTrip"]["authEvents"] == bare
    assert "shopperIdentity" not in request and "paymentSource" not in request
    other = new_trip(sim)
    sim.exit(other, [])
    event = retailer.order_requests[-1]["shoppingTrip"]["authEvents"][0]
    assert (event["payloadType"], event["timestamp"]) == ("FINANCIAL", "2025-05-02T17:05:00Z")


def test_total_rules_cc_7c_11_cc_7c_12_cc_7c_13(sim):
    """CC-7c.11: capture never above the approved amount; CC-7c.12: a zero total cannot be
    adjusted and is settled by Cancel, reported 0/0; CC-7c.13: 9 integer digits pass."""
    trip = new_trip(sim)
    adjust(sim, trip, "23.47")
    assert error_of(capture(sim, trip, "23.48")) == "BadRequestException"
    zero = new_trip(sim)
    assert error_of(adjust(sim, zero, "0.00")) == "BadRequestException"
    assert cancel(sim, zero).status_code == 200
    assert body_of(report(sim, zero, "0", "0", 1746206123000)) == {"status": "Accepted"}
    large = new_trip(sim)
    assert body_of(adjust(sim, large, "999999999.99"))["authorizedAmount"]["amount"] == D(
        "999999999.99"
    )
    assert error_of(adjust(sim, large, "1000000000.00")) == "BadRequestException"


def test_decline_events_carry_reasons_ae_6_8(sim, retailer):
    """AE-6.8: AuthorizationDeclined, CaptureDeclined and RefundDeclined are emitted."""
    sim.set_shopper("d", profile="DECLINE_OVER_LIMIT", limit=D("60.00"), declineCapture=True)
    trip = new_trip(sim, "d")
    adjust(sim, trip, "70.00")
    adjust(sim, trip, "40.00")
    capture(sim, trip, "40.00")
    sim.set_shopper("r", declineRefund=True)
    other = new_trip(sim, "r")
    adjust(sim, other, "5.00")
    capture(sim, other, "5.00")
    refund(sim, other, "5.00")
    sim.drain()
    details = [e["detail"] for e in retailer.events]
    declined = {
        (d["eventType"], d["declineReason"]) for d in details if d["eventType"].endswith("Declined")
    }
    assert declined == {
        ("AuthorizationDeclined", "INSUFFICIENT_FUNDS"),
        ("CaptureDeclined", "CARD_DECLINED"),
        ("RefundDeclined", "CARD_DECLINED"),
    }
    refund_event = next(d for d in details if d["eventType"] == "RefundDeclined")
    assert refund_event["refundRequestId"] and refund_event["reconciliationId"]


def test_test_events_are_flagged_ae_6_9(sim, retailer):
    """AE-6.9: the simulator can send an isTest event; it changes nothing on its side."""
    trip = new_trip(sim)
    detail = sim.control(
        "POST", "/events/test", {"shoppingTripId": trip, "eventType": "CaptureApproved"}
    )
    assert detail["isTest"] is True
    sim.drain()
    assert retailer.events[-1]["detail"]["isTest"] is True
    assert sim.trip(trip)["state"] == "PREAUTHORIZED"


def test_cart_events_are_not_emitted_ae_6_6(sim, retailer):
    """AE-6.6: ORDERING events are optional for the simulator (MAY); it sends PAYMENT only."""
    trip = new_trip(sim)
    sim.exit(trip, CART)
    sim.drain()
    assert {e["detail-type"] for e in retailer.events} == {"PAYMENT"}

"""Event feed (§5): PAYMENT events in the EventBridge envelope, at least once, with faults."""

from __future__ import annotations

from .conftest import EVENT_KEY
from .helpers import adjust, capture, new_trip


def test_payment_events_envelope_and_order_ae_6_7(sim, retailer):
    """AE-6.7 / CONN-CAP: x-api-key, one event per POST, EventBridge envelope, in order."""
    trip = new_trip(sim)
    adjust(sim, trip, "23.47")
    capture(sim, trip, "23.47")
    sim.drain()
    assert retailer.event_types(trip) == [
        "AuthorizationApproved",
        "AuthorizationApproved",
        "CaptureApproved",
    ]
    envelope = retailer.events[-1]
    assert {k: envelope[k] for k in ("version", "detail-type", "source", "region")} == {
        "version": "0",
        "detail-type": "PAYMENT",
        "source": "jwo.simulator",
        "region": "us-east-1",
    }
    detail = envelope["detail"]
    assert detail["eventId"] == f"evt-{trip}-0003"
    assert detail["eventTime"] == "2025-05-02T17:00:00.000Z"
    assert (
        detail["amount"] == {"amount": 23.47, "code": "USD"}
        or str(detail["amount"]["amount"]) == "23.47"
    )
    assert detail["reconciliationId"] and detail["isTest"] is False
    assert detail["refundRequestId"] is None and detail["declineReason"] is None


def test_5xx_is_retried_on_the_business_clock_ae_6_10(sim, retailer):
    """AE-6.10: 503, 500 → retried with backoff on the business clock, then delivered."""
    retailer.event_statuses = [503, 500]
    trip = new_trip(sim)
    sim.drain()
    assert retailer.event_types(trip) == []
    sim.advance(1)
    sim.advance(2)
    assert retailer.event_types(trip) == ["AuthorizationApproved"]
    assert [status for status, _ in retailer.event_attempts] == [503, 500, 200]
    delivery = sim.trip(trip)["deliveries"][0]
    assert (delivery["delivery"], delivery["attempts"]) == ("DELIVERED", 3)


def test_wrong_api_key_401_is_retried(sim, retailer):
    sim.set_store("STORE-001", eventApiKey="wrong")
    trip = new_trip(sim)
    sim.drain()
    assert sim.trip(trip)["deliveries"][0]["delivery"] == "PENDING"
    sim.set_store("STORE-001", eventApiKey=EVENT_KEY)
    sim.advance(2)
    assert retailer.event_types(trip) == ["AuthorizationApproved"]


def test_dead_letter_after_24_hours_ae_6_10(sim, retailer):
    """AE-6.10: failing for 24 h of simulated time → dead-letter list."""
    retailer.event_statuses = [500] * 50
    trip = new_trip(sim)
    sim.drain()
    sim.advance(3600)
    assert sim.dead_letters() == []
    sim.advance(24 * 3600)
    dead = sim.dead_letters()
    assert [d["shoppingTripId"] for d in dead] == [trip]
    assert dead[0]["event"]["detail"]["eventType"] == "AuthorizationApproved"


def test_400_is_not_retried(sim, retailer):
    retailer.event_statuses = [400]
    new_trip(sim)
    sim.drain()
    assert "not retried" in sim.dead_letters()[0]["lastError"]


def test_pdrop_goes_straight_to_dead_letter(sim, retailer):
    sim.faults(events={"pDrop": 1.0})
    trip = new_trip(sim)
    sim.drain()
    assert retailer.event_types(trip) == []
    assert sim.dead_letters()[0]["lastError"] == "pDrop"


def test_pduplicate_sends_the_same_event_id_twice_ae_6_7(sim, retailer):
    sim.faults(events={"pDuplicate": 1.0})
    trip = new_trip(sim)
    sim.drain()
    ids = [e["detail"]["eventId"] for e in retailer.events]
    envelopes = {e["id"] for e in retailer.events}
    assert ids == [f"evt-{trip}-0001"] * 2
    assert len(envelopes) == 2


def test_preorder_holds_an_event_behind_a_later_one_ae_6_7(sim, retailer):
    sim.faults(events={"pReorder": 1.0})
    trip = new_trip(sim)
    sim.faults({})
    adjust(sim, trip, "5.00")
    sim.drain()
    sim.drain()
    assert [e["detail"]["eventId"] for e in retailer.events] == [
        f"evt-{trip}-0002",
        f"evt-{trip}-0001",
    ]


def test_held_event_is_released_after_60_s_alone(sim, retailer):
    sim.faults(events={"pReorder": 1.0})
    trip = new_trip(sim)
    sim.drain()
    assert retailer.event_types(trip) == []
    sim.advance(60)
    assert retailer.event_types(trip) == ["AuthorizationApproved"]


def test_no_endpoint_means_no_delivery(sim, retailer):
    sim.set_store("STORE-001", eventEndpointUrl=None)
    trip = new_trip(sim)
    sim.drain()
    assert sim.trip(trip)["deliveries"][0]["delivery"] == "NO_ENDPOINT"


def test_ordering_and_shopper_events_on_request_ae_6_6(sim, retailer):
    """AE-6.6 / §5.1: ORDERING and SHOPPER events are a MAY; a store that asks for them
    (``orderingEvents``, ``shopperEvents``) gets ``GateEntry``/``GateDenied``, ``GateExit``,
    ``CartCreated`` and ``PurchaseCreated`` (with the ``purchaseId``) in the same envelope."""
    sim.set_store("STORE-001", orderingEvents=True, shopperEvents=True)
    sim.set_shopper("risky", recommendationRisks=["CustomerFraud"])
    trip = new_trip(sim)
    denied = sim.gate("STORE-001", "risky")["shoppingTripId"]
    sim.exit(trip, [{"id": "SKU-001", "type": "SKU", "quantity": {"value": "1", "unit": "unit"}}])
    sim.drain()
    by_type = {(e["detail-type"], e["detail"]["eventType"]): e for e in retailer.events}
    assert set(by_type) == {
        ("SHOPPER", "GateEntry"),
        ("SHOPPER", "GateDenied"),
        ("PAYMENT", "AuthorizationApproved"),
        ("SHOPPER", "GateExit"),
        ("ORDERING", "CartCreated"),
        ("ORDERING", "PurchaseCreated"),
    }
    assert by_type[("SHOPPER", "GateDenied")]["detail"]["shoppingTripId"] == denied
    purchase = by_type[("ORDERING", "PurchaseCreated")]["detail"]
    assert purchase["purchaseId"] == f"P-{trip[:8]}"
    assert purchase["shoppingTripId"] == trip and purchase["isTest"] is False
    assert retailer.event_types(trip) == [
        "GateEntry",
        "AuthorizationApproved",
        "GateExit",
        "CartCreated",
        "PurchaseCreated",
    ]

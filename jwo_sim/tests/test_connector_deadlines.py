"""Deadlines of the simulator's own calls are overall deadlines: a retailer that trickles its
answer a byte at a time is cut off at 2 s at the gate (contract §2.3), 10 s for Create Purchases
(§1.6) and 5 s for an event delivery (§5), exactly as if it had not answered at all."""

from __future__ import annotations

import time

from .helpers import new_trip
from .stub_retailer import Trickle

CART = [{"id": "SKU-001", "type": "SKU", "quantity": {"value": "1", "unit": "unit"}}]


def _timed(call):
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


def test_gate_deadline_is_2_s_overall_when_the_body_trickles_cc_7a_16(sim, retailer):
    """CC-7a.16 / §2.3: headers at once, then one body byte every 0.4 s (about 10 s in all):
    the simulator gives up at 2 s and applies Amazon's recommendation, source FALLBACK."""
    retailer.fa = lambda request: (200, {"shopperAuthorized": False}, 0, Trickle(0.4))
    answer, elapsed = _timed(lambda: sim.gate("STORE-001", "shopper-001"))
    assert (answer["decisionSource"], answer["gateOpen"]) == ("FALLBACK", True)
    assert "timeout" in answer["error"]
    assert elapsed < 3.5, elapsed


def test_gate_deadline_is_2_s_overall_when_the_status_line_trickles_cc_7a_16(sim, retailer):
    retailer.fa = lambda request: (200, {"shopperAuthorized": False}, 0, Trickle(0.4, head=True))
    answer, elapsed = _timed(lambda: sim.gate("STORE-001", "shopper-001"))
    assert answer["decisionSource"] == "FALLBACK"
    assert elapsed < 3.5, elapsed


def test_gate_answer_within_the_deadline_is_the_retailers(sim, retailer):
    """A complete answer a little under 2 s, written slowly, still counts as RETAILER's."""
    retailer.fa = lambda request: (200, {"shopperAuthorized": False}, 0, Trickle(0.02))
    answer = sim.gate("STORE-001", "shopper-001")
    assert (answer["decisionSource"], answer["gateOpen"]) == ("RETAILER", False)


def test_create_purchases_deadline_is_10_s_overall_cp_2(sim, retailer):
    """CP-2 / §1.6: an order answer trickled over about 15 s is a timeout at 10 s, retried
    with a fresh requestId on the business clock."""
    answers = [(201, {"purchaseId": "P-SLOW"}, 0, Trickle(0.5))]
    retailer.order = lambda request: answers.pop(0) if answers else (201, {"purchaseId": "P-1"})
    trip = new_trip(sim)
    first, elapsed = _timed(lambda: sim.exit(trip, CART))
    assert (first["orderStatus"], first["lastError"]) == ("RETRYING", "timeout")
    assert 9.5 < elapsed < 12.5, elapsed
    sim.advance(2)
    order = sim.trip(trip)["order"]
    assert (order["status"], order["purchaseId"], order["attempts"]) == ("DELIVERED", "P-1", 2)
    assert len({r["requestId"] for r in retailer.order_requests}) == 2


def test_event_delivery_deadline_is_5_s_overall_ae_6_10(sim, retailer):
    """AE-6.10 / §5.2: a 200 trickled over about 10 s is a timeout at 5 s; EventBridge retries
    it like any timeout."""
    retailer.event_trickle = Trickle(0.4)
    trip = new_trip(sim)
    started = time.monotonic()
    deadline = started + 12
    while time.monotonic() < deadline:
        delivery = sim.trip(trip)["deliveries"][0]
        if delivery["attempts"]:
            break
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    assert (delivery["delivery"], delivery["lastError"]) == ("PENDING", "timeout")
    assert elapsed < 7.5, elapsed
    retailer.event_trickle = None
    sim.advance(2)
    delivery = sim.trip(trip)["deliveries"][0]
    assert (delivery["delivery"], delivery["attempts"]) == ("DELIVERED", 2)

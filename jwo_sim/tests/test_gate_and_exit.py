"""Gate (§2, §8.5) and exit (§1.6) through the control API, against the stub retailer."""

from __future__ import annotations

import pytest

from .helpers import D, adjust, error_of, new_trip

CART = [
    {
        "id": "SKU-001",
        "type": "SKU",
        "quantity": {"value": "1.0", "unit": "unit"},
        "lineItemId": "li-1",
    }
]


def test_authorized_low_risk_shopper_cc_7a_1(sim, retailer):
    """CC-7a.1 / VAL-CONN-001: signed call, 200 authorize → pre-auth 50.00, PREAUTHORIZED,
    AuthorizationApproved."""
    answer = sim.gate("STORE-001", "shopper-001", type="CREDIT_CARD", interactionType="TAP")
    assert (answer["shopperAuthorized"], answer["gateOpen"]) == (True, True)
    assert answer["preauthAmount"] == D("50.00")
    assert answer["decisionSource"] == "RETAILER"
    assert retailer.auth_failures == []
    request = retailer.fa_requests[-1]
    assert request["authorizedAmount"] == {"value": D("50.00"), "currencyCode": "USD"}
    assert str(request["authorizedAmount"]["value"]) == "50.00"
    interaction = request["shopperInteraction"]
    assert interaction["shoppingTripId"] == answer["shoppingTripId"]
    assert interaction["gateAuthenticationEvent"]["location"] == "ENTRY"
    trip = sim.trip(answer["shoppingTripId"])
    assert trip["state"] == "PREAUTHORIZED"
    assert trip["events"][0]["eventType"] == "AuthorizationApproved"


def test_denied_no_trip_cc_7a_2(sim, retailer):
    """CC-7a.2: retailer denies (CustomerFraud) → gate shut, no trip, no pre-auth event."""
    sim.set_shopper("fraud", recommendationRisks=["CustomerFraud"])
    answer = sim.gate("STORE-001", "fraud")
    assert answer["recommendation"] == {
        "shopperAuthorized": False,
        "shopperRisks": ["CustomerFraud"],
    }
    assert (answer["shopperAuthorized"], answer["gateOpen"], answer["preauthStatus"]) == (
        False,
        False,
        None,
    )
    assert sim.trip(answer["shoppingTripId"])["events"] == []
    assert error_of(adjust(sim, answer["shoppingTripId"], "1.00")) == "UnknownShoppingTrip"


def test_reduced_preauth_adjust_echoed_cc_7a_3(sim, retailer):
    """CC-7a.3: Amazon recommends ADJUST 30.00; the retailer echoes it → 30.00 pre-authorized."""
    sim.set_store("STORE-001", reducedPreauth={"shopper-r": D("30.00")})
    answer = sim.gate("STORE-001", "shopper-r")
    conditions = retailer.fa_requests[-1]["shopperInteraction"]["recommendation"][
        "authorizationConditions"
    ]
    assert conditions == [
        {"type": "ADJUST", "amount": {"value": D("30.00"), "currencyCode": "USD"}}
    ]
    assert answer["preauthAmount"] == D("30.00")
    assert answer["decisionSource"] == "RETAILER"


@pytest.mark.parametrize(
    ("profile", "risk", "reason", "case"),
    [
        ("INVALID_CARD", "InvalidCard", "CARD_DECLINED", "CC-7a.4"),
        ("EXPIRED_CARD", "ExpiredCard", "EXPIRED_CARD", "CC-7a.5"),
    ],
)
def test_card_problems_and_override_cc_7a_4_5(sim, retailer, profile, risk, reason, case):
    """CC-7a.4 / CC-7a.5: recommendation false + risk; accepting anyway ends in a declined
    pre-auth: gate shut, AuthorizationDeclined with the reason, no trip."""
    sim.set_shopper("card", profile=profile)
    denied = sim.gate("STORE-001", "card")
    assert denied["recommendation"] == {"shopperAuthorized": False, "shopperRisks": [risk]}
    assert denied["gateOpen"] is False
    retailer.fa = lambda request: (200, {"shopperAuthorized": True})
    accepted = sim.gate("STORE-001", "card")
    assert (accepted["shopperAuthorized"], accepted["preauthStatus"]) == (True, "DECLINED"), case
    assert accepted["gateOpen"] is False
    events = sim.trip(accepted["shoppingTripId"])["events"]
    assert [(e["eventType"], e["declineReason"]) for e in events] == [
        ("AuthorizationDeclined", reason)
    ]
    assert error_of(adjust(sim, accepted["shoppingTripId"], "1.00")) == "UnknownShoppingTrip"


@pytest.mark.parametrize(
    "risk", ["InvalidCard", "CustomerFraud", "BadDebt", "ExpiredCard", "NonpaymentHighRisk"]
)
def test_every_shopper_risk_value_cc_7a_6(sim, retailer, risk):
    """CC-7a.6: the simulator can send every risk; the decision is still valid."""
    sim.set_shopper("risky", recommendationRisks=[risk])
    answer = sim.gate("STORE-001", "risky")
    assert answer["recommendation"]["shopperRisks"] == [risk]
    assert answer["decisionSource"] == "RETAILER"


@pytest.mark.parametrize(
    "auth_type",
    ["CREDIT_CARD", "AMAZON_ONE", "QR", "MOBILE_WALLET", "UNRECOGNIZED", "SOMETHING_NEW"],
)
@pytest.mark.parametrize("interaction", ["TAP", "INSERT", "SWIPE", "SCAN", "PALM"])
def test_every_authentication_event_type_cc_7a_7(sim, retailer, auth_type, interaction):
    """CC-7a.7: every type and interactionType is sent as given."""
    answer = sim.gate("STORE-001", "shopper-001", type=auth_type, interactionType=interaction)
    event = retailer.fa_requests[-1]["shopperInteraction"]["gateAuthenticationEvent"]
    assert (event["type"], event["interactionType"]) == (auth_type, interaction)
    assert answer["gateOpen"]


def test_override_accept_cc_7a_8(sim, retailer):
    """CC-7a.8: recommendation false, retailer accepts → the store amount, source RETAILER."""
    sim.set_shopper("risky", recommendationRisks=["CustomerFraud"])
    retailer.fa = lambda request: (200, {"shopperAuthorized": True})
    answer = sim.gate("STORE-001", "risky")
    assert (answer["gateOpen"], answer["preauthAmount"], answer["decisionSource"]) == (
        True,
        D("50.00"),
        "RETAILER",
    )


def test_override_deny_ignores_conditions_cc_7a_9(sim, retailer):
    """CC-7a.9: recommendation true, retailer denies → gate shut; conditions ignored."""
    retailer.fa = lambda request: (
        200,
        {
            "shopperAuthorized": False,
            "authorizationConditions": [
                {"type": "ADJUST", "amount": {"value": D("1.00"), "currencyCode": "USD"}}
            ],
        },
    )
    answer = sim.gate("STORE-001", "shopper-001")
    assert (answer["gateOpen"], answer["decisionSource"]) == (False, "RETAILER")


def _adjust(value, code="USD"):
    return {"type": "ADJUST", "amount": {"value": D(value), "currencyCode": code}}


def test_own_adjust_and_invalid_adjusts_cc_7a_10(sim, retailer):
    """CC-7a.10: a single ADJUST is pre-authorized; two ADJUSTs or another currency → FALLBACK
    with Amazon's recommendation."""
    retailer.fa = lambda request: (
        200,
        {"shopperAuthorized": True, "authorizationConditions": [_adjust("20.00")]},
    )
    assert sim.gate("STORE-001", "shopper-001")["preauthAmount"] == D("20.00")
    for conditions in (
        [_adjust("20.00"), _adjust("10.00")],
        [_adjust("20.00", "EUR")],
        [_adjust("0.00")],
        [_adjust("20.001")],
    ):
        retailer.fa = lambda request, c=conditions: (
            200,
            {"shopperAuthorized": True, "authorizationConditions": c},
        )
        answer = sim.gate("STORE-001", "shopper-001")
        assert (answer["decisionSource"], answer["preauthAmount"]) == ("FALLBACK", D("50.00"))


@pytest.mark.parametrize(
    ("status", "case"), [(400, "CC-7a.12"), (404, "CC-7a.14"), (500, "CC-7a.15"), (503, "CC-7a.15")]
)
def test_errors_fall_back_to_the_recommendation(sim, retailer, status, case):
    """CC-7a.12 / CC-7a.14 / CC-7a.15: any 4xx or 5xx → Amazon's recommendation, FALLBACK."""
    sim.set_shopper("risky", recommendationRisks=["CustomerFraud"])
    retailer.fa = lambda request: (status, {"errorMsg": "x"})
    assert sim.gate("STORE-001", "shopper-001")["decisionSource"] == "FALLBACK", case
    denied = sim.gate("STORE-001", "risky")
    assert (denied["decisionSource"], denied["gateOpen"]) == ("FALLBACK", False)


def test_slow_retailer_falls_back_after_2_s_cc_7a_16(sim, retailer):
    """CC-7a.16: no answer within 2 s → FALLBACK."""
    retailer.fa = lambda request: (200, {"shopperAuthorized": False}, 2.3)
    answer = sim.gate("STORE-001", "shopper-001")
    assert (answer["decisionSource"], answer["gateOpen"]) == ("FALLBACK", True)


def test_amazon_managed_makes_no_call_cc_7a_14(sim, retailer):
    """CC-7a.14: faMode AMAZON_MANAGED: no connector call, Amazon's decision."""
    sim.set_store("STORE-001", faMode="AMAZON_MANAGED")
    answer = sim.gate("STORE-001", "shopper-001")
    assert retailer.fa_requests == []
    assert (answer["decisionSource"], answer["gateOpen"]) == ("AMAZON", True)


def test_outbound_faults_on_the_gate_call(sim, retailer):
    sim.faults(script=[{"path": "/v1/fraudandabuse/shopperauthorization", "status": 500}])
    assert sim.gate("STORE-001", "shopper-001")["decisionSource"] == "FALLBACK"
    assert retailer.fa_requests == []


def test_unsigned_simulator_would_be_refused(sim, retailer):
    """VAL-CONN-001: the stub refuses wrong signatures; the simulator's are accepted."""
    sim.gate("STORE-001", "shopper-001")
    assert retailer.auth_failures == []
    assert len(retailer.fa_requests) == 1


# exit ------------------------------------------------------------------------------------------
def test_exit_delivers_the_cart_cp_1_1(sim, retailer):
    """CP-1.1 / CONN-ORD: signed Create Purchases → 201 with purchaseId; 1 attempt recorded."""
    trip = new_trip(sim)
    answer = sim.exit(trip, CART, endTime="2025-05-02T17:09:39Z")
    assert (answer["httpStatus"], answer["attempts"], answer["orderStatus"]) == (
        201,
        1,
        "DELIVERED",
    )
    assert answer["purchaseId"] == f"P-{trip[:8]}"
    request = retailer.order_requests[-1]
    assert request["idempotentShoppingTripId"] == trip
    assert request["shoppingTrip"]["endTime"] == "2025-05-02T17:09:39Z"
    assert request["shoppingTrip"]["authEvents"][0]["payloadType"] == "FINANCIAL"
    assert request["cartItems"] == CART


def test_group_trip_weight_items_and_scan_codes_cp_1_3_cp_1_4(sim, retailer):
    """CP-1.3 / CP-1.4 / CP-1.13 input: weight item, SCANCODE, several authEvents."""
    trip = new_trip(sim)
    cart = [
        {"id": "SKU-BANANA", "type": "SKU", "quantity": {"value": "0.742", "unit": "kg"}},
        {"id": "0049000042566", "type": "SCANCODE", "quantity": {"value": "1", "unit": "unit"}},
    ]
    sim.exit(trip, cart, authEvents=3)
    request = retailer.order_requests[-1]
    assert len(request["shoppingTrip"]["authEvents"]) == 3
    assert request["cartItems"][0]["quantity"]["value"] == "0.742"


def test_empty_cart_cp_1_7(sim, retailer):
    """CP-1.7: 201 with purchaseId "" (the retailer then cancels)."""
    trip = new_trip(sim)
    answer = sim.exit(trip, [])
    assert (answer["httpStatus"], answer["purchaseId"]) == (201, "")


def test_retries_with_fresh_request_id_on_the_business_clock_cp_2(sim, retailer):
    """CP-2: 503 and 500 are retried with a fresh requestId and the same key, backoff 2, 4 s
    (or Retry-After), scheduled on the business clock."""
    answers = [(503, {"errorMsg": "ServiceUnavailableException"}), (500, {"errorMsg": "x"})]
    retailer.order = lambda request: answers.pop(0) if answers else (201, {"purchaseId": "P-1"})
    trip = new_trip(sim)
    first = sim.exit(trip, CART)
    assert (first["orderStatus"], first["attempts"]) == ("RETRYING", 1)
    assert first["nextAttemptAt"] == "2025-05-02T17:00:02Z"
    sim.advance(2)
    sim.advance(4)
    order = sim.trip(trip)["order"]
    assert (order["status"], order["attempts"], order["purchaseId"]) == ("DELIVERED", 3, "P-1")
    ids = {r["requestId"] for r in retailer.order_requests}
    keys = {r["idempotentShoppingTripId"] for r in retailer.order_requests}
    assert len(ids) == 3 and keys == {trip}


@pytest.mark.parametrize("status", [400, 403, 409])
def test_final_rejections_mark_order_rejected_and_redrive(sim, retailer, status):
    """CP-2 / §1.6: 400, 403, 409 are not retried → ORDER_REJECTED; re-drive sends again."""
    retailer.order = lambda request: (status, {"errorMsg": "x"})
    trip = new_trip(sim)
    assert sim.exit(trip, CART)["orderStatus"] == "ORDER_REJECTED"
    sim.advance(600)
    assert len(retailer.order_requests) == 1
    retailer.order = retailer.default_order
    again = sim.control("POST", f"/trips/{trip}/redrive", {})
    assert (again["orderStatus"], again["attempts"]) == ("DELIVERED", 2)


def test_timeouts_are_retried_until_the_preauth_deadline(sim, retailer):
    sim.set_store("STORE-001", preauthWindowHours=1)
    sim.faults({"/v1/order/purchases": {"p500": 1.0}})
    trip = new_trip(sim)
    sim.exit(trip, CART)
    sim.advance(3600)
    order = sim.trip(trip)["order"]
    assert order["status"] == "GAVE_UP"
    # 0, 2, 6, 14, 30, 62, 126, 254, 510, then every 300 s up to 3510 s
    assert order["attempts"] == 19


def test_exit_twice_needs_redeliver(sim, retailer):
    trip = new_trip(sim)
    sim.exit(trip, CART)
    refused = sim.control("POST", f"/trips/{trip}/exit", {"cartItems": CART}, check=False)
    assert "error" in refused
    replay = sim.exit(trip, CART, redeliver=True)
    assert replay["httpStatus"] == 201
    assert len({r["requestId"] for r in retailer.order_requests}) == 2


def test_control_api_errors(sim):
    assert "error" in sim.control(
        "POST", "/gate", {"storeId": "NOPE", "shopperIdentityId": "x"}, check=False
    )
    assert "error" in sim.control("GET", "/trips/unknown", check=False)
    assert "error" in sim.control("PUT", "/stores/BAD@ID", {}, check=False)
    assert "error" in sim.control("PUT", "/stores/S1", {"currency": "XXX"}, check=False)
    assert "error" in sim.control("PUT", "/shoppers/x", {"profile": "NOPE"}, check=False)

"""Shopper Authorization against the Amazon-side simulator (the "both" cases of test plan 7a and
VAL-CONN-001): the simulator builds the request from its balance book and card profiles, signs
it, calls our live server with its 2 s deadline, and records whether our answer decided
(``RETAILER``) or its own recommendation did (``FALLBACK``)."""

import time
from decimal import Decimal

import pytest
from django.db import transaction

from debt.enums import DebtRootCause
from debt.services.debts import debt_incur
from gate.enums import Action
from gate.models import GateDecision
from gate.tests.conftest import fresh_gate_cache  # noqa: F401 - autouse fixture
from gate.tests.factories import make_version
from jwo_client import wire
from jwo_sim.testing import RunningSimulator
from tests import factories
from trips.enums import TripState
from trips.models import ShoppingTrip

SIM_KEY = ("AKIDSIMGATE", "simulator-gate-secret")
STORE = "STORE-G01"


@pytest.fixture(scope="module")
def simulator(tmp_path_factory):
    with RunningSimulator(tmpdir=tmp_path_factory.mktemp("gate-sim"), signing_key=SIM_KEY) as sim:
        yield sim


@pytest.fixture
def sim(simulator, live_server, transactional_db, settings):
    """The simulator calls our live server's connector, signed with a key we accept."""
    simulator.reset()
    settings.JWO_INBOUND_KEYS = {**settings.JWO_INBOUND_KEYS, SIM_KEY[0]: SIM_KEY[1]}
    simulator.set_store(STORE, retailerBaseUrl=live_server.url, preauthAmount=Decimal("50.00"))
    simulator.store = factories.make_store(store_id=STORE)
    return simulator


def our_decision(answer) -> GateDecision:
    return GateDecision.objects.get(shopping_trip_id=answer["shoppingTripId"])


def test_low_risk_shopper_enters_on_our_answer_cc_7a_1_val_conn_001(sim):
    """CC-7a.1 and VAL-CONN-001 (both): the simulator's signed call gets our 200 within 2 s;
    it pre-authorizes the store amount and the trip is linked on our side."""
    started = time.perf_counter()
    answer = sim.gate(STORE, "shopper-001", type="CREDIT_CARD", interactionType="TAP")
    elapsed = time.perf_counter() - started

    assert answer["decisionSource"] == "RETAILER" and answer["retailerStatus"] == 200
    assert answer["shopperAuthorized"] is True and answer["gateOpen"] is True
    assert Decimal(str(answer["preauthAmount"])) == Decimal("50.00")
    assert answer["latencyMs"] < 2000 and elapsed < 2
    assert sim.trip(answer["shoppingTripId"])["state"] == "PREAUTHORIZED"
    trip = ShoppingTrip.objects.get(shopping_trip_id=answer["shoppingTripId"])
    assert trip.state == TripState.ENTERED and trip.shopper.identity_id == "shopper-001"
    assert trip.preauth_amount == Decimal("50.00")


def test_reduced_preauth_is_accepted_by_echoing_it_cc_7a_3(sim):
    """CC-7a.3 (both): Amazon recommends ADJUST 30.00; we echo it; 30.00 is pre-authorized."""
    sim.set_store(STORE, reducedPreauth={"shopper-adjusted": Decimal("30.00")})

    answer = sim.gate(STORE, "shopper-adjusted", type="CREDIT_CARD", interactionType="TAP")

    assert answer["decisionSource"] == "RETAILER"
    assert Decimal(str(answer["preauthAmount"])) == Decimal("30.00")
    assert our_decision(answer).preauth_amount == Decimal("30.00")


@pytest.mark.parametrize(
    ("case", "profile", "risk"),
    [("CC-7a.4", "INVALID_CARD", "InvalidCard"), ("CC-7a.5", "EXPIRED_CARD", "ExpiredCard")],
)
def test_card_risks_are_denied_at_the_gate(sim, case, profile, risk):
    """CC-7a.4 / CC-7a.5 (both): the card profile makes Amazon recommend a denial with the
    card's risk; we deny; the gate stays shut and no trip exists on Amazon's side."""
    sim.set_shopper("shopper-card", profile=profile)

    answer = sim.gate(STORE, "shopper-card", type="CREDIT_CARD", interactionType="INSERT")

    assert answer["decisionSource"] == "RETAILER", case
    assert answer["shopperAuthorized"] is False and answer["gateOpen"] is False
    assert our_decision(answer).response_risks == [risk]


def test_accepting_an_expired_card_anyway_leaves_the_gate_shut_cc_7a_5_cc_7a_8(sim):
    """CC-7a.8 / CC-7a.5 (both): our rule accepts against Amazon's denial; the simulator
    pre-authorizes the request's amount, which the expired card declines: gate shut."""
    make_version(
        sim.store,
        rules=[{"name": "Let cards try", "risks_any": ["ExpiredCard"], "action": "ALLOW"}],
    )
    sim.set_shopper("shopper-expired", profile="EXPIRED_CARD")

    answer = sim.gate(STORE, "shopper-expired", type="CREDIT_CARD", interactionType="TAP")

    assert answer["decisionSource"] == "RETAILER"
    assert answer["shopperAuthorized"] is True and answer["gateOpen"] is False
    assert answer["declineReason"] == "EXPIRED_CARD"
    assert our_decision(answer).override == "ALLOW"


def test_our_own_adjust_is_the_amount_preauthorized_cc_7a_10(sim):
    """CC-7a.10 (both): our single ADJUST in the store currency is pre-authorized as is."""
    make_version(
        sim.store,
        rules=[
            {
                "name": "Palm 75",
                "interaction_types": ["PALM"],
                "action": Action.ADJUST,
                "adjust_amount": Decimal("75.00"),
            }
        ],
    )

    answer = sim.gate(STORE, "shopper-palm", type="AMAZON_ONE", interactionType="PALM")

    assert answer["decisionSource"] == "RETAILER"
    assert Decimal(str(answer["preauthAmount"])) == Decimal("75.00")


def test_override_deny_shuts_the_gate_cc_7a_9(sim):
    """CC-7a.9 (both): Amazon recommends entry, our rule denies: gate shut, no trip."""
    make_version(sim.store, rules=[{"name": "No QR", "event_types": ["QR"], "action": "DENY"}])

    answer = sim.gate(STORE, "shopper-qr", type="QR", interactionType="SCAN")

    assert answer["decisionSource"] == "RETAILER"
    assert answer["shopperAuthorized"] is False and answer["gateOpen"] is False
    assert answer["recommendation"]["shopperAuthorized"] is True


@pytest.mark.parametrize(
    ("kind", "interaction"),
    [
        ("CREDIT_CARD", "SWIPE"),
        ("AMAZON_ONE", "PALM"),
        ("QR", "SCAN"),
        ("MOBILE_WALLET", "TAP"),
        ("UNRECOGNIZED", "TAP"),
    ],
)
def test_every_event_type_gets_our_decision_cc_7a_7(sim, kind, interaction):
    """CC-7a.7 (both): every authentication event type and interaction type is answered."""
    answer = sim.gate(STORE, "shopper-types", type=kind, interactionType=interaction)

    assert answer["decisionSource"] == "RETAILER" and answer["shopperAuthorized"] is True


def test_outstanding_balance_denies_entry_on_both_books_cc_7a_11(sim):
    """CC-7a.11 (both): a report leaves a balance; Amazon now recommends false + BadDebt; our
    books show the debt and we answer OUTSTANDING_BALANCE."""
    first = sim.gate(STORE, "shopper-debtor", type="CREDIT_CARD", interactionType="TAP")
    trip = ShoppingTrip.objects.get(shopping_trip_id=first["shoppingTripId"])
    ShoppingTrip.objects.filter(pk=trip.pk).update(
        state=TripState.SETTLING, cart_total=Decimal("23.47")
    )
    with transaction.atomic():
        debt_incur(
            trip=ShoppingTrip.objects.get(pk=trip.pk),
            cart_total=Decimal("23.47"),
            settled_amount=Decimal("15.00"),
            root_cause=DebtRootCause.PARTIAL_CAPTURE,
            actor="system:test",
        )
    report = {
        "storeId": STORE,
        "shoppingTripId": first["shoppingTripId"],
        "totalAmount": {"amount": Decimal("23.47"), "code": "USD"},
        "settledAmount": {"amount": Decimal("15.00"), "code": "USD"},
        "paymentStatusTime": int(time.time() * 1000),
    }
    reported = sim.call("/v1/feedback/payment-status", report)
    assert wire.loads(reported.content) == {"status": "Accepted"}

    answer = sim.gate(STORE, "shopper-debtor", type="CREDIT_CARD", interactionType="TAP")

    assert answer["recommendation"]["shopperAuthorized"] is False
    assert "BadDebt" in answer["recommendation"]["shopperRisks"]
    assert answer["decisionSource"] == "RETAILER"
    assert answer["shopperAuthorized"] is False and answer["gateOpen"] is False
    decision = our_decision(answer)
    assert decision.response == {
        "shopperAuthorized": False,
        "shopperRisks": ["BadDebt"],
        "reason": "OUTSTANDING_BALANCE",
    }


def test_unknown_store_is_our_400_and_amazon_falls_back_cc_7a_13(sim):
    """CC-7a.13 / CC-7a.12 (both): our 400 makes the simulator apply its recommendation."""
    sim.set_store(
        "STORE-NOT-OURS", retailerBaseUrl=sim.control("GET", f"/stores/{STORE}")["retailerBaseUrl"]
    )

    answer = sim.gate("STORE-NOT-OURS", "shopper-x", type="CREDIT_CARD", interactionType="TAP")

    assert answer["retailerStatus"] == 400 and answer["decisionSource"] == "FALLBACK"
    assert answer["shopperAuthorized"] is True


def test_a_key_we_do_not_know_is_refused_and_amazon_falls_back_val_conn_001(sim, settings):
    """VAL-CONN-001 (both): a signature by an unknown key gets our 403 before anything else;
    the simulator then applies its own recommendation."""
    settings.JWO_INBOUND_KEYS = {
        key: secret for key, secret in settings.JWO_INBOUND_KEYS.items() if key != SIM_KEY[0]
    }

    answer = sim.gate(STORE, "shopper-unsigned", type="CREDIT_CARD", interactionType="TAP")

    assert answer["retailerStatus"] == 403 and answer["decisionSource"] == "FALLBACK"
    assert not GateDecision.objects.exists()

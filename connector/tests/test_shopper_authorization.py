"""Shopper Authorization through the signed HTTP endpoint: Amazon's test plan section 7a
(retailer side) and VAL-CONN-001."""

from decimal import Decimal

import pytest
from django.db import transaction

from core import clock
from debt.enums import DebtRootCause
from debt.services.debts import debt_incur
from gate.enums import DecisionSource, OverrideKind
from gate.models import GateDecision
from gate.tests.conftest import fresh_gate_cache  # noqa: F401 - autouse fixture
from gate.tests.factories import PATH, gate_payload
from jwo_client import wire
from tests.factories import make_shopper, make_trip
from trips.enums import TripState
from trips.models import GateEvent, Shopper, ShoppingTrip

pytestmark = pytest.mark.django_db

RISKS = ["InvalidCard", "CustomerFraud", "BadDebt", "ExpiredCard", "NonpaymentHighRisk"]
EVENT_TYPES = ["CREDIT_CARD", "AMAZON_ONE", "QR", "MOBILE_WALLET", "UNRECOGNIZED"]
INTERACTION_TYPES = ["TAP", "INSERT", "SWIPE", "SCAN", "PALM"]


def post(client, payload, **sign):
    response = client.post_signed(PATH, payload, **sign)
    return response.status_code, (wire.loads(response.content) if response.content else None)


def owe(store, identity_id: str, total="23.47", settled="15.00"):
    """Give the shopper an unpaid trip in our books (a shortfall recorded as debt)."""
    shopper = Shopper.objects.filter(identity_id=identity_id).first() or make_shopper(identity_id)
    trip = make_trip(
        store=store, shopper=shopper, state=TripState.SETTLING, cart_total=Decimal(total)
    )
    with transaction.atomic():
        debt_incur(
            trip=trip,
            cart_total=Decimal(total),
            settled_amount=Decimal(settled),
            root_cause=DebtRootCause.PARTIAL_CAPTURE,
            actor="system:test",
        )


def test_low_risk_shopper_is_authorized_at_the_store_preauth(amazon_client, store):
    """CC-7a.1: Authorized, low-risk shopper → 200 {"shopperAuthorized": true}; the trip is
    linked to the shopper with the store's pre-auth and its deadlines."""
    payload = gate_payload(store, shopper_id="shopper-low-risk")

    status, body = post(amazon_client, payload)

    assert status == 200
    assert body == {"shopperAuthorized": True}
    event = payload["shopperInteraction"]["gateAuthenticationEvent"]
    gate_event = GateEvent.objects.select_related("trip", "shopper").get(gate_event_id=event["id"])
    assert gate_event.authorized is True
    assert gate_event.shopper.identity_id == "shopper-low-risk"
    trip = gate_event.trip
    assert trip.shopping_trip_id == payload["shopperInteraction"]["shoppingTripId"]
    assert trip.state == TripState.ENTERED
    assert trip.shopper_id == gate_event.shopper_id
    assert trip.preauth_amount == Decimal("50.00")
    assert trip.preauth_at == wire.parse_timestamp(event["timestamp"])
    assert (trip.preauth_deadline - trip.preauth_at).total_seconds() == 46 * 3600
    assert (trip.preauth_deadline - trip.settle_by).total_seconds() == 4 * 3600


@pytest.mark.parametrize(
    "risks", [["CustomerFraud"], ["CustomerFraud", "BadDebt"]], ids=["fraud", "fraud+debt"]
)
def test_high_risk_recommendation_is_denied_and_no_trip_is_entered(amazon_client, store, risks):
    """CC-7a.2: Denied, high risk (CustomerFraud, BadDebt) → 200 deny with the risks; the trip
    is recorded as DENIED, with no pre-auth."""
    payload = gate_payload(store, authorized=False, risks=risks)

    status, body = post(amazon_client, payload)

    assert status == 200
    assert body["shopperAuthorized"] is False
    assert body["shopperRisks"] == risks
    trip = ShoppingTrip.objects.get(shopping_trip_id=_trip_id(payload))
    assert trip.state == TripState.DENIED
    assert trip.preauth_amount is None
    assert trip.preauth_deadline is None


def test_amazons_adjust_is_accepted_by_echoing_it(amazon_client, store):
    """CC-7a.3: conditional authorization with a reduced pre-auth: the retailer echoes ADJUST."""
    payload = gate_payload(store, adjust="30.00")

    status, body = post(amazon_client, payload)

    assert status == 200
    assert body == {
        "shopperAuthorized": True,
        "authorizationConditions": [
            {"type": "ADJUST", "amount": {"value": Decimal("30.00"), "currencyCode": "USD"}}
        ],
    }
    response = amazon_client.post_signed(PATH, gate_payload(store, adjust="30.00"))
    assert b'"value":30.00' in response.content  # a JSON number with its exact decimals
    trip = ShoppingTrip.objects.get(shopping_trip_id=_trip_id(payload))
    assert trip.preauth_amount == Decimal("30.00")
    decision = GateDecision.objects.get(shopping_trip_id=trip.shopping_trip_id)
    assert decision.override == OverrideKind.NONE


@pytest.mark.parametrize(("case", "risk"), [("CC-7a.4", "InvalidCard"), ("CC-7a.5", "ExpiredCard")])
def test_invalid_or_expired_card_is_denied(amazon_client, store, case, risk):
    """CC-7a.4 (invalid card) and CC-7a.5 (expired card): recommendation false + the card risk →
    200 deny carrying that risk."""
    status, body = post(amazon_client, gate_payload(store, authorized=False, risks=[risk]))

    assert status == 200, case
    assert body == {
        "shopperAuthorized": False,
        "shopperRisks": [risk],
        "reason": "AMAZON_RECOMMENDATION",
    }


@pytest.mark.parametrize("risk", RISKS)
@pytest.mark.parametrize("recommended", [True, False], ids=["recommended", "not-recommended"])
def test_every_shopper_risk_gets_a_valid_decision(amazon_client, store, risk, recommended):
    """CC-7a.6: 200 with a valid decision for each ShopperRisk value."""
    payload = gate_payload(store, authorized=recommended, risks=[risk])

    status, body = post(amazon_client, payload)

    assert status == 200
    assert isinstance(body["shopperAuthorized"], bool)
    assert set(body) <= {"shopperAuthorized", "authorizationConditions", "shopperRisks", "reason"}
    decision = GateDecision.objects.get(
        gate_event_id=payload["shopperInteraction"]["gateAuthenticationEvent"]["id"]
    )
    assert decision.recommended_risks == [risk]


def test_unknown_risk_is_ignored_logged_and_counted(amazon_client, store, caplog):
    """CC-7a.6: an unknown risk is ignored, never a 400; it is logged and kept in the log row."""
    payload = gate_payload(store, authorized=True, risks=["SomethingNew", "InvalidCard"])

    with caplog.at_level("WARNING", logger="jwo.gate"):
        status, body = post(amazon_client, payload)

    assert status == 200
    assert body == {"shopperAuthorized": True}
    decision = GateDecision.objects.get()
    assert decision.recommended_risks == ["InvalidCard"]
    assert decision.unknown_values == {"shopperRisks": ["SomethingNew"]}
    assert any("unknown values" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_authentication_event_type_is_accepted(amazon_client, store, event_type):
    """CC-7a.7: 200 for each gateAuthenticationEvent.type."""
    status, body = post(amazon_client, gate_payload(store, event_type=event_type))

    assert status == 200
    assert body == {"shopperAuthorized": True}
    assert GateDecision.objects.get().event_type == event_type


@pytest.mark.parametrize("interaction_type", INTERACTION_TYPES)
def test_every_interaction_type_is_accepted(amazon_client, store, interaction_type):
    """CC-7a.7: 200 for each interactionType."""
    status, _body = post(amazon_client, gate_payload(store, interaction_type=interaction_type))

    assert status == 200
    decision = GateDecision.objects.get()
    assert decision.interaction_type == interaction_type
    assert GateEvent.objects.get().interaction_type == interaction_type


def test_unknown_event_type_counts_as_unrecognized(amazon_client, store):
    """CC-7a.7: an unknown type is treated as UNRECOGNIZED, never a 400; unknown interaction
    types and locations are tolerated too."""
    payload = gate_payload(store, event_type="BRAIN_SCAN", interaction_type="THINK")
    payload["shopperInteraction"]["gateAuthenticationEvent"]["location"] = "ROOFTOP"

    status, body = post(amazon_client, payload)

    assert status == 200
    assert body == {"shopperAuthorized": True}
    decision = GateDecision.objects.get()
    assert decision.event_type == "UNRECOGNIZED"
    assert decision.interaction_type == "UNRECOGNIZED"
    assert decision.unknown_values == {
        "type": "BRAIN_SCAN",
        "interactionType": "THINK",
        "location": "ROOFTOP",
    }
    assert GateEvent.objects.get().event_type == "UNRECOGNIZED"


def test_outstanding_balance_in_our_books_denies_entry(amazon_client, store):
    """CC-7a.11: after a report leaving a balance, the retailer whose books show the debt answers
    {"shopperAuthorized": false, "shopperRisks": ["BadDebt"], "reason": "OUTSTANDING_BALANCE"}."""
    owe(store, "shopper-owes")
    payload = gate_payload(store, shopper_id="shopper-owes", authorized=False, risks=["BadDebt"])

    status, body = post(amazon_client, payload)

    assert status == 200
    assert body == {
        "shopperAuthorized": False,
        "shopperRisks": ["BadDebt"],
        "reason": "OUTSTANDING_BALANCE",
    }
    decision = GateDecision.objects.get(gate_event_id=_event_id(payload))
    assert decision.rule_name == "Outstanding balance"
    assert decision.outstanding_amount == Decimal("8.47")
    assert decision.blocks_entry is True


def test_outstanding_balance_denies_even_when_amazon_recommends_entry(amazon_client, store):
    """CC-7a.11 / CC-7a.9: our books deny although Amazon's book has not caught up yet."""
    owe(store, "shopper-owes-2")

    status, body = post(amazon_client, gate_payload(store, shopper_id="shopper-owes-2"))

    assert status == 200
    assert body["reason"] == "OUTSTANDING_BALANCE"
    assert GateDecision.objects.get().override == OverrideKind.DENY


def test_amazon_balance_risk_alone_is_judged_by_our_books(amazon_client, store):
    """Balance strategy OWN_BOOKS: Amazon's BadDebt with no debt in our books (our payoff report
    not yet applied at Amazon) is overridden to an entry."""
    status, body = post(amazon_client, gate_payload(store, authorized=False, risks=["BadDebt"]))

    assert status == 200
    assert body == {"shopperAuthorized": True}
    assert GateDecision.objects.get().override == OverrideKind.ALLOW


def _trip_id(payload) -> str:
    return payload["shopperInteraction"]["shoppingTripId"]


def _event_id(payload) -> str:
    return payload["shopperInteraction"]["gateAuthenticationEvent"]["id"]


def test_a_replayed_event_id_returns_the_stored_decision_whatever_the_body(amazon_client, store):
    """Contract §2.2: the same gateAuthenticationEvent.id again → the stored decision, and
    nothing else is written."""
    first = gate_payload(store, adjust="30.00")
    _status, first_body = post(amazon_client, first)
    replay = gate_payload(
        store, authorized=False, risks=["CustomerFraud"], event_id=_event_id(first)
    )

    status, body = post(amazon_client, replay)

    assert status == 200
    assert body == first_body
    assert GateDecision.objects.count() == 1
    assert ShoppingTrip.objects.count() == 1
    assert GateEvent.objects.count() == 1


def test_decision_log_keeps_inputs_answer_and_version_but_no_pii(amazon_client, store):
    """The decision log: inputs minus PII, Amazon's recommendation, the rule, our answer, the
    override flag, the latency and the policy version."""
    payload = gate_payload(
        store,
        shopper_id="pat.shopper-9931",
        authorized=False,
        risks=["BadDebt"],
        cart_hint={"totalPrice": Decimal("12.50"), "items": [{"id": "SKU-1", "type": "SKU"}]},
    )

    post(amazon_client, payload)

    decision = GateDecision.objects.get()
    assert decision.recommended_authorized is False
    assert decision.recommended_risks == ["BadDebt"]
    assert decision.authorized is True and decision.preauth_amount == Decimal("50.00")
    assert decision.override == OverrideKind.ALLOW
    assert decision.source == DecisionSource.POLICY
    assert decision.rule_name == "default"
    assert decision.policy_version is None  # the built-in default policy
    assert decision.cart_hint_total == Decimal("12.50") and decision.cart_hint_items == 1
    assert decision.response == {"shopperAuthorized": True}
    assert 0 < decision.latency_ms < 1000
    assert decision.decided_at <= clock.now()
    row = " ".join(str(value) for value in GateDecision.objects.values().get().values())
    assert "pat.shopper-9931" not in row
    assert "G2" not in row  # gate data is not kept
    assert len(decision.identity_digest) == 32

"""Shopper Authorization under store policies: overrides by rule (CC-7a.8 to CC-7a.10), the rule
levers of issue 6, balance strategies, and versions taking effect on the next decision."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction

from core import clock
from debt.enums import DebtRootCause, EscalationLevel
from debt.models import ShopperStanding
from debt.services.debts import debt_incur
from gate.enums import Action, BalanceCondition, CartHintCondition, OverrideKind
from gate.models import GateDecision
from gate.services.policies import policy_rollback
from gate.tests.conftest import fresh_gate_cache  # noqa: F401 - autouse fixture
from gate.tests.factories import PATH, gate_payload, make_version
from jwo_client import wire
from tests.factories import make_shopper, make_trip
from trips.enums import BalanceStrategy, TripState
from trips.models import Shopper, ShoppingTrip

pytestmark = pytest.mark.django_db


def post(client, payload):
    response = client.post_signed(PATH, payload)
    assert response.status_code == 200, response.content
    return wire.loads(response.content)


def owe(store, identity_id, *, total="23.47", settled="15.00", incurred_hours_ago=0):
    shopper = Shopper.objects.filter(identity_id=identity_id).first() or make_shopper(identity_id)
    trip = make_trip(
        store=store, shopper=shopper, state=TripState.SETTLING, cart_total=Decimal(total)
    )
    with clock.override(clock.now() - timedelta(hours=incurred_hours_ago)), transaction.atomic():
        debt_incur(
            trip=trip,
            cart_total=Decimal(total),
            settled_amount=Decimal(settled),
            root_cause=DebtRootCause.DECLINED_ADJUSTMENT,
            actor="system:test",
        )


def last_decision() -> GateDecision:
    return GateDecision.objects.order_by("-id").first()


def test_rule_allows_entry_against_amazons_denial(amazon_client, store):
    """CC-7a.8: recommendation false, retailer 200 {"shopperAuthorized": true}."""
    make_version(
        store,
        rules=[{"name": "Trust expired cards", "risks_any": ["ExpiredCard"], "action": "ALLOW"}],
    )

    body = post(amazon_client, gate_payload(store, authorized=False, risks=["ExpiredCard"]))

    assert body == {"shopperAuthorized": True}
    decision = last_decision()
    assert decision.override == OverrideKind.ALLOW
    assert decision.rule_name == "Trust expired cards"
    trip = ShoppingTrip.objects.get(shopping_trip_id=decision.shopping_trip_id)
    assert trip.state == TripState.ENTERED
    assert trip.preauth_amount == Decimal("50.00")


def test_rule_denies_entry_against_amazons_authorization(amazon_client, store):
    """CC-7a.9: recommendation true, retailer 200 {"shopperAuthorized": false}; Amazon's
    conditions are not echoed in a denial."""
    make_version(
        store,
        rules=[
            {
                "name": "No QR entry",
                "event_types": ["QR"],
                "action": "DENY",
                "deny_reason": "QR_DISABLED",
            }
        ],
    )

    body = post(amazon_client, gate_payload(store, event_type="QR", adjust="30.00"))

    assert body == {"shopperAuthorized": False, "reason": "QR_DISABLED"}
    decision = last_decision()
    assert decision.override == OverrideKind.DENY
    assert ShoppingTrip.objects.get().state == TripState.DENIED
    # the same store lets a card in
    assert post(amazon_client, gate_payload(store, event_type="CREDIT_CARD"))["shopperAuthorized"]


def test_rule_adjusts_the_preauth_amount(amazon_client, store):
    """CC-7a.10: the retailer answers its own single ADJUST (amount > 0, the currency of
    authorizedAmount), and that amount is the trip's pre-auth."""
    make_version(
        store,
        rules=[
            {
                "name": "Palm entries pre-auth 75",
                "interaction_types": ["PALM"],
                "action": "ADJUST",
                "adjust_amount": Decimal("75.00"),
            }
        ],
    )

    payload = gate_payload(store, event_type="AMAZON_ONE", interaction_type="PALM")

    body = post(amazon_client, payload)

    assert body == {
        "shopperAuthorized": True,
        "authorizationConditions": [
            {"type": "ADJUST", "amount": {"value": Decimal("75.00"), "currencyCode": "USD"}}
        ],
    }
    assert last_decision().override == OverrideKind.AMOUNT
    assert ShoppingTrip.objects.get().preauth_amount == Decimal("75.00")


def test_small_balance_enters_with_a_higher_preauth(amazon_client, store):
    """Conditional entry: a shopper owing a small amount may enter, pre-authorized for the store
    amount plus the balance; a larger balance is still denied."""
    make_version(
        store,
        rules=[
            {
                "name": "Small balance: raise the pre-auth",
                "balance": BalanceCondition.OUTSTANDING,
                "max_outstanding": Decimal("10.00"),
                "escalation_levels": [EscalationLevel.NONE, EscalationLevel.NOTICE],
                "action": Action.ADJUST,
                "adjust_add_outstanding": True,
            },
            {
                "name": "Outstanding balance",
                "balance": BalanceCondition.BLOCKING,
                "action": Action.DENY,
                "deny_reason": "OUTSTANDING_BALANCE",
                "deny_risks": ["BadDebt"],
            },
        ],
    )
    owe(store, "small-debtor", total="20.00", settled="11.53")  # owes 8.47
    owe(store, "large-debtor", total="80.00", settled="0.00")

    small = post(
        amazon_client,
        gate_payload(store, shopper_id="small-debtor", authorized=False, risks=["BadDebt"]),
    )
    large = post(amazon_client, gate_payload(store, shopper_id="large-debtor"))

    assert small["authorizationConditions"][0]["amount"]["value"] == Decimal("58.47")
    assert large == {
        "shopperAuthorized": False,
        "shopperRisks": ["BadDebt"],
        "reason": "OUTSTANDING_BALANCE",
    }


def test_balance_age_and_unpaid_trips_select_a_rule(amazon_client, store):
    """Rules over the age of the balance and the number of unpaid trips."""
    make_version(
        store,
        rules=[
            {
                "name": "Old debt",
                "balance": BalanceCondition.OUTSTANDING,
                "min_balance_age_hours": 72,
                "action": Action.DENY,
                "deny_reason": "OLD_DEBT",
            },
            {
                "name": "Repeat debtor",
                "min_unpaid_trips": 2,
                "action": Action.DENY,
                "deny_reason": "REPEAT",
            },
        ],
        default_action="ALLOW",
    )
    owe(store, "old-debtor", incurred_hours_ago=100)
    owe(store, "repeat-debtor")
    owe(store, "repeat-debtor")
    owe(store, "new-debtor")

    assert post(amazon_client, gate_payload(store, shopper_id="old-debtor"))["reason"] == "OLD_DEBT"
    repeat = post(amazon_client, gate_payload(store, shopper_id="repeat-debtor"))
    assert repeat["reason"] == "REPEAT"
    assert post(amazon_client, gate_payload(store, shopper_id="new-debtor")) == {
        "shopperAuthorized": True
    }


def test_escalation_level_denies_without_a_balance(amazon_client, store):
    """Escalation (issue 7) feeds the gate: a shopper under fraud review is denied by rule."""
    make_version(
        store,
        rules=[
            {
                "name": "Fraud review",
                "escalation_levels": [EscalationLevel.FRAUD_REVIEW],
                "action": Action.DENY,
                "deny_reason": "FRAUD_REVIEW",
                "deny_risks": ["CustomerFraud"],
            }
        ],
    )
    ShopperStanding.objects.create(
        identity_id="under-review", currency="USD", escalation_level=EscalationLevel.FRAUD_REVIEW
    )

    body = post(amazon_client, gate_payload(store, shopper_id="under-review"))

    assert body == {
        "shopperAuthorized": False,
        "shopperRisks": ["CustomerFraud"],
        "reason": "FRAUD_REVIEW",
    }


def test_allow_and_block_lists_by_shopper_identity(amazon_client, store):
    """Allow and block lists by shopper identity, first match wins."""
    make_version(
        store,
        lists={"staff": ["staff-001"], "blocked": ["banned-007", "banned-008"]},
        rules=[
            {"name": "Staff always in", "identity_list": "staff", "action": Action.ALLOW},
            {
                "name": "Blocked",
                "identity_list": "blocked",
                "action": Action.DENY,
                "deny_reason": "BLOCK_LIST",
            },
        ],
    )

    staff = post(
        amazon_client,
        gate_payload(store, shopper_id="staff-001", authorized=False, risks=["CustomerFraud"]),
    )
    banned = post(amazon_client, gate_payload(store, shopper_id="banned-008"))
    other = post(amazon_client, gate_payload(store, shopper_id="someone-else"))

    assert staff == {"shopperAuthorized": True}
    assert banned == {"shopperAuthorized": False, "reason": "BLOCK_LIST"}
    assert other == {"shopperAuthorized": True}


def test_cart_hint_rule_raises_the_preauth_for_large_carts(amazon_client, store):
    """Rules over the cart hint when present."""
    make_version(
        store,
        rules=[
            {
                "name": "Big cart hint",
                "cart_hint": CartHintCondition.PRESENT,
                "min_cart_total": Decimal("100.00"),
                "action": Action.ADJUST,
                "adjust_amount": Decimal("150.00"),
            }
        ],
    )
    hint = {"totalPrice": Decimal("120.00"), "items": []}

    big = post(amazon_client, gate_payload(store, cart_hint=hint))
    none = post(amazon_client, gate_payload(store))

    assert big["authorizationConditions"][0]["amount"]["value"] == Decimal("150.00")
    assert none == {"shopperAuthorized": True}


def test_explicit_default_denies_when_no_rule_matches(amazon_client, store):
    """First match wins, with an explicit default."""
    make_version(
        store,
        rules=[{"name": "Cards in", "event_types": ["CREDIT_CARD"], "action": Action.ALLOW}],
        default_action="DENY",
        default_reason="CLOSED_TO_OTHERS",
    )

    assert post(amazon_client, gate_payload(store)) == {"shopperAuthorized": True}
    assert post(amazon_client, gate_payload(store, event_type="QR")) == {
        "shopperAuthorized": False,
        "reason": "CLOSED_TO_OTHERS",
    }


def test_amazon_managed_balances_follow_amazons_bad_debt(amazon_client, store):
    """Balance strategy AMAZON: Amazon's BadDebt decides, our books are not read."""
    store.balance_strategy = BalanceStrategy.AMAZON
    store.save()
    owe(store, "debtor-amazon")

    with_risk = post(amazon_client, gate_payload(store, authorized=False, risks=["BadDebt"]))
    ours_only = post(amazon_client, gate_payload(store, shopper_id="debtor-amazon"))

    assert with_risk["reason"] == "OUTSTANDING_BALANCE"
    assert ours_only == {"shopperAuthorized": True}
    assert last_decision().outstanding_amount is None


def test_no_balance_strategy_ignores_balances(amazon_client, store):
    """Balance strategy NONE (a per-version override here): neither books nor BadDebt deny."""
    make_version(store, balance_strategy=BalanceStrategy.NONE, rules=[])
    owe(store, "debtor-none")

    ours = post(amazon_client, gate_payload(store, shopper_id="debtor-none"))
    amazons = post(amazon_client, gate_payload(store, authorized=False, risks=["BadDebt"]))

    assert ours == amazons == {"shopperAuthorized": True}


def test_new_version_takes_effect_on_the_next_decision(amazon_client, store):
    """Versioned policies: a published version decides the next call, with no restart (the
    process's cache is warm and is not cleared)."""
    v1 = make_version(store, rules=[])
    first = post(amazon_client, gate_payload(store, event_type="QR"))
    v2 = make_version(
        store, rules=[{"name": "No QR", "event_types": ["QR"], "action": Action.DENY}]
    )

    second = post(amazon_client, gate_payload(store, event_type="QR"))

    assert first == {"shopperAuthorized": True}
    assert second["shopperAuthorized"] is False
    versions = list(GateDecision.objects.order_by("id").values_list("policy_version", flat=True))
    assert versions == [v1.pk, v2.pk]


def test_rollback_restores_the_earlier_policy_at_once(amazon_client, store):
    """One-click rollback: a new version with the old content, effective for the next call."""
    v1 = make_version(store, rules=[])
    make_version(store, rules=[{"name": "No QR", "event_types": ["QR"], "action": Action.DENY}])
    assert post(amazon_client, gate_payload(store, event_type="QR"))["shopperAuthorized"] is False

    v3 = policy_rollback(to_version=v1, actor="user:1:risk", reason="QR rule too strict")

    assert post(amazon_client, gate_payload(store, event_type="QR")) == {"shopperAuthorized": True}
    assert v3.number == 3 and v3.based_on == v1 and v3.reason == "QR rule too strict"
    assert last_decision().policy_version == v3


def test_a_store_setting_change_takes_effect_on_the_next_decision(amazon_client, store):
    """The cache stamp covers the store's gate settings too (here the balance strategy)."""
    owe(store, "debtor-switch")
    assert post(amazon_client, gate_payload(store, shopper_id="debtor-switch"))["reason"]

    store.balance_strategy = BalanceStrategy.NONE
    store.save(update_fields=["balance_strategy"])

    assert post(amazon_client, gate_payload(store, shopper_id="debtor-switch")) == {
        "shopperAuthorized": True
    }

"""The decision engine on plain data: first match wins, the explicit default, the balance
strategies, and §2.2 shape invariants for any policy and any input (property-based)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from gate.enums import (
    Action,
    BalanceCondition,
    GateEventType,
    InteractionType,
    OverrideKind,
    ShopperRisk,
)
from gate.rules import (
    BUILT_IN_POLICY,
    BalanceFacts,
    CompiledList,
    CompiledPolicy,
    CompiledRule,
    DecisionInputs,
    evaluate,
    fallback_outcome,
    response_body,
)
from trips.enums import BalanceStrategy, GateFallback

NOW = datetime(2026, 5, 2, 17, 0, tzinfo=UTC)


def inputs(**overrides) -> DecisionInputs:
    fields = {
        "identity_id": "shopper-1",
        "identity_digest": "d1",
        "currency": "USD",
        "authorized_amount": Decimal("50.00"),
        "event_type": "CREDIT_CARD",
        "interaction_type": "TAP",
        "recommended_authorized": True,
        "recommended_amount": None,
        "recommended_risks": frozenset(),
        "cart_hint_present": False,
        "cart_hint_total": None,
        "balance": BalanceFacts(strategy=BalanceStrategy.OWN_BOOKS, amounts_known=True),
        "now": NOW,
    }
    fields.update(overrides)
    return DecisionInputs(**fields)


def policy(*rules, default=Action.FOLLOW_AMAZON) -> CompiledPolicy:
    return CompiledPolicy(version_id=1, number=1, rules=tuple(rules), default_action=default)


def test_first_matching_rule_wins():
    first = CompiledRule(
        position=1, name="qr out", action=Action.DENY, event_types=frozenset({"QR"})
    )
    second = CompiledRule(position=2, name="all in", action=Action.ALLOW)

    outcome = evaluate(policy(first, second), inputs(event_type="QR"))

    assert (outcome.authorized, outcome.rule_name) == (False, "qr out")
    assert evaluate(policy(first, second), inputs()).rule_name == "all in"


def test_default_applies_when_no_rule_matches():
    rule = CompiledRule(position=1, name="qr", action=Action.ALLOW, event_types=frozenset({"QR"}))

    outcome = evaluate(policy(rule, default=Action.DENY), inputs())

    assert outcome.authorized is False
    assert outcome.rule_name == "default" and outcome.rule_position is None
    assert outcome.override == OverrideKind.DENY


def test_built_in_policy_denies_a_blocking_balance_with_bad_debt():
    balance = BalanceFacts(
        strategy=BalanceStrategy.OWN_BOOKS,
        amounts_known=True,
        outstanding=Decimal("8.47"),
        has_balance=True,
        blocks_entry=True,
    )

    outcome = evaluate(BUILT_IN_POLICY, inputs(balance=balance))

    assert response_body(outcome, "USD") == {
        "shopperAuthorized": False,
        "shopperRisks": ["BadDebt"],
        "reason": "OUTSTANDING_BALANCE",
    }


def test_escalated_repeat_offender_is_denied_with_nonpayment_high_risk():
    """AE-7.15 (retailer side): a shopper at extended denial is told apart from a one-off debt."""
    balance = BalanceFacts(
        strategy=BalanceStrategy.OWN_BOOKS,
        amounts_known=True,
        outstanding=Decimal("180.00"),
        unpaid_trips=3,
        escalation_level="EXTENDED_DENIAL",
        has_balance=True,
        blocks_entry=True,
    )

    outcome = evaluate(BUILT_IN_POLICY, inputs(balance=balance))

    assert response_body(outcome, "USD") == {
        "shopperAuthorized": False,
        "shopperRisks": ["BadDebt", "NonpaymentHighRisk"],
        "reason": "OUTSTANDING_BALANCE",
    }


def test_conditions_on_book_figures_never_match_without_our_books():
    rule = CompiledRule(position=1, name="owes", action=Action.DENY, min_outstanding=Decimal(1))
    amazon = BalanceFacts(strategy=BalanceStrategy.AMAZON, has_balance=True, blocks_entry=True)

    assert evaluate(policy(rule), inputs(balance=amazon)).authorized is True


def test_balance_age_is_measured_at_the_decision_time():
    rule = CompiledRule(position=1, name="old", action=Action.DENY, min_balance_age_hours=72)
    balance = BalanceFacts(
        strategy=BalanceStrategy.OWN_BOOKS,
        amounts_known=True,
        outstanding=Decimal("5.00"),
        has_balance=True,
        oldest_unpaid_at=NOW - timedelta(hours=71),
    )

    assert evaluate(policy(rule), inputs(balance=balance)).authorized is True
    later = inputs(balance=balance, now=NOW + timedelta(hours=2))
    assert evaluate(policy(rule), later).authorized is False


def test_identity_lists_match_clear_ids_live_and_digests_in_dry_runs():
    staff = CompiledList("staff", frozenset({"shopper-1"}), frozenset({"d1"}))
    rule = CompiledRule(position=1, name="staff", action=Action.DENY, identity_list=staff)

    assert evaluate(policy(rule), inputs()).authorized is False
    assert evaluate(policy(rule), inputs(identity_id=None)).authorized is False
    assert evaluate(policy(rule), inputs(identity_id=None, identity_digest="d2")).authorized


def test_follow_amazon_echoes_its_adjust():
    outcome = evaluate(BUILT_IN_POLICY, inputs(recommended_amount=Decimal("30")))

    assert response_body(outcome, "USD") == {
        "shopperAuthorized": True,
        "authorizationConditions": [
            {"type": "ADJUST", "amount": {"value": Decimal("30.00"), "currencyCode": "USD"}}
        ],
    }
    assert outcome.override == OverrideKind.NONE


def test_balance_only_denial_is_judged_by_the_strategy():
    bad_debt = {"recommended_authorized": False, "recommended_risks": frozenset({"BadDebt"})}
    own = BalanceFacts(strategy=BalanceStrategy.OWN_BOOKS, amounts_known=True)
    amazon = BalanceFacts(strategy=BalanceStrategy.AMAZON, has_balance=True, blocks_entry=True)
    none = BalanceFacts(strategy=BalanceStrategy.NONE)
    fraud = {**bad_debt, "recommended_risks": frozenset({"BadDebt", "CustomerFraud"})}

    assert evaluate(BUILT_IN_POLICY, inputs(balance=own, **bad_debt)).authorized is True
    assert evaluate(BUILT_IN_POLICY, inputs(balance=none, **bad_debt)).authorized is True
    assert evaluate(BUILT_IN_POLICY, inputs(balance=amazon, **bad_debt)).authorized is False
    assert evaluate(BUILT_IN_POLICY, inputs(balance=own, **fraud)).authorized is False


def test_adjust_adds_the_outstanding_balance():
    rule = CompiledRule(position=1, name="raise", action=Action.ADJUST, adjust_add_outstanding=True)
    balance = BalanceFacts(
        strategy=BalanceStrategy.OWN_BOOKS, amounts_known=True, outstanding=Decimal("8.47")
    )

    outcome = evaluate(policy(rule), inputs(balance=balance))

    assert outcome.preauth_amount == Decimal("58.47")
    assert outcome.override == OverrideKind.AMOUNT


def test_adjust_to_the_requested_amount_sends_no_condition():
    rule = CompiledRule(position=1, name="same", action=Action.ADJUST)

    assert response_body(evaluate(policy(rule), inputs()), "USD") == {"shopperAuthorized": True}


def test_jpy_adjust_has_no_decimals():
    rule = CompiledRule(position=1, name="yen", action=Action.ADJUST, adjust_amount=Decimal("8000"))

    outcome = evaluate(policy(rule), inputs(currency="JPY", authorized_amount=Decimal("5000")))

    assert response_body(outcome, "JPY")["authorizationConditions"][0]["amount"] == {
        "value": Decimal("8000"),
        "currencyCode": "JPY",
    }


def test_fallbacks():
    denied_by_amazon = inputs(
        recommended_authorized=False, recommended_risks=frozenset({"InvalidCard"})
    )

    assert fallback_outcome(GateFallback.FOLLOW_AMAZON, denied_by_amazon).authorized is False
    assert fallback_outcome(GateFallback.ALLOW, denied_by_amazon).authorized is True
    deny = fallback_outcome(GateFallback.DENY, inputs())
    assert (deny.authorized, deny.reason) == (False, "FALLBACK_DENY")


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2)
rules = st.builds(
    CompiledRule,
    position=st.integers(1, 20),
    name=st.text(min_size=1, max_size=5),
    action=st.sampled_from(Action.values),
    recommendation=st.sampled_from(["ANY", "AUTHORIZED", "DENIED"]),
    risks_any=st.frozensets(st.sampled_from(ShopperRisk.values), max_size=2),
    event_types=st.frozensets(st.sampled_from(GateEventType.values), max_size=2),
    balance=st.sampled_from(BalanceCondition.values),
    max_outstanding=st.none() | amounts,
    adjust_amount=st.none() | amounts,
    adjust_add_outstanding=st.booleans(),
    deny_risks=st.lists(st.sampled_from(ShopperRisk.values), max_size=2).map(tuple),
)
balances = st.builds(
    BalanceFacts,
    strategy=st.sampled_from(BalanceStrategy.values),
    amounts_known=st.booleans(),
    outstanding=st.none() | amounts,
    has_balance=st.booleans(),
    blocks_entry=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    policy_rules=st.lists(rules, max_size=5),
    default=st.sampled_from(["FOLLOW_AMAZON", "ALLOW", "DENY"]),
    authorized=st.booleans(),
    amount=amounts,
    amazon_adjust=st.none() | amounts,
    risks=st.frozensets(st.sampled_from(ShopperRisk.values)),
    event_type=st.sampled_from(GateEventType.values),
    interaction=st.sampled_from(InteractionType.values),
    balance=balances,
)
def test_any_policy_gives_a_contract_shaped_answer(
    policy_rules,
    default,
    authorized,
    amount,
    amazon_adjust,
    risks,
    event_type,
    interaction,
    balance,
):
    """§2.2: at most one ADJUST, amount > 0, in the request's currency; no conditions in a
    denial; the override flag agrees with the answer."""
    decision_inputs = inputs(
        authorized_amount=amount,
        recommended_authorized=authorized,
        recommended_amount=amazon_adjust,
        recommended_risks=risks,
        event_type=event_type,
        interaction_type=interaction,
        balance=balance,
    )

    outcome = evaluate(policy(*policy_rules, default=default), decision_inputs)
    body = response_body(outcome, "USD")

    conditions = body.get("authorizationConditions", [])
    if outcome.authorized:
        assert outcome.preauth_amount > 0
        assert set(body) <= {"shopperAuthorized", "authorizationConditions"}
        assert len(conditions) <= 1
        for condition in conditions:
            assert condition["type"] == "ADJUST"
            assert condition["amount"]["currencyCode"] == "USD"
            assert condition["amount"]["value"] > 0
            assert condition["amount"]["value"] != amount
        if not conditions:
            assert outcome.preauth_amount == amount
    else:
        assert outcome.preauth_amount is None and not conditions
        assert set(body.get("shopperRisks", [])) <= set(ShopperRisk)
    if outcome.authorized != authorized:
        assert outcome.override == (OverrideKind.ALLOW if outcome.authorized else OverrideKind.DENY)
    elif outcome.authorized and outcome.preauth_amount != decision_inputs.amazon_amount:
        assert outcome.override == OverrideKind.AMOUNT
    else:
        assert outcome.override == OverrideKind.NONE

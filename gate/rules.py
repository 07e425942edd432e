"""The decision engine: pure functions over plain data, no database, no clock.

A compiled policy is an ordered tuple of rules plus an explicit default. The first rule whose
conditions all hold decides; otherwise the default does. The same engine serves live decisions,
the fallback, and dry runs over the decision log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from core.money import round_money
from debt.enums import EscalationLevel
from trips.enums import BalanceStrategy, GateFallback

from .enums import (
    BALANCE_RISKS,
    Action,
    BalanceCondition,
    CartHintCondition,
    OverrideKind,
    Reason,
    RecommendationCondition,
    ShopperRisk,
)

DEFAULT_RULE_NAME = "default"
HOUR = 3600


@dataclass(frozen=True, slots=True)
class BalanceFacts:
    """What the store's balance strategy lets the rules know about the shopper's debt.

    ``amounts_known`` is true only with our own books; with Amazon-managed balances the rules
    only know whether Amazon flagged a balance risk; with none, nothing.
    """

    strategy: str
    amounts_known: bool = False
    outstanding: Decimal | None = None
    unpaid_trips: int | None = None
    oldest_unpaid_at: datetime | None = None
    escalation_level: str = ""
    has_balance: bool = False
    blocks_entry: bool = False


NO_BALANCE = BalanceFacts(strategy=BalanceStrategy.NONE)


@dataclass(frozen=True, slots=True)
class DecisionInputs:
    """Everything a rule may look at. ``identity_id`` is None in dry runs (the log keeps only
    ``identity_digest``)."""

    identity_id: str | None
    identity_digest: str
    currency: str
    authorized_amount: Decimal
    event_type: str
    interaction_type: str
    recommended_authorized: bool
    recommended_amount: Decimal | None
    recommended_risks: frozenset[str]
    cart_hint_present: bool
    cart_hint_total: Decimal | None
    balance: BalanceFacts
    now: datetime

    @property
    def amazon_amount(self) -> Decimal | None:
        """The pre-auth Amazon's recommendation would take, or None when it recommends denial."""
        if not self.recommended_authorized:
            return None
        return self.recommended_amount or self.authorized_amount


@dataclass(frozen=True, slots=True)
class CompiledList:
    name: str
    identities: frozenset[str]
    digests: frozenset[str] = frozenset()

    def contains(self, inputs: DecisionInputs) -> bool:
        if inputs.identity_id is not None:
            return inputs.identity_id in self.identities
        return inputs.identity_digest in self.digests


@dataclass(frozen=True, slots=True)
class CompiledRule:
    position: int
    name: str
    action: str
    recommendation: str = RecommendationCondition.ANY
    risks_any: frozenset[str] = frozenset()
    no_risks: bool = False
    event_types: frozenset[str] = frozenset()
    interaction_types: frozenset[str] = frozenset()
    balance: str = BalanceCondition.ANY
    min_outstanding: Decimal | None = None
    max_outstanding: Decimal | None = None
    min_balance_age_hours: int | None = None
    max_balance_age_hours: int | None = None
    min_unpaid_trips: int | None = None
    escalation_levels: frozenset[str] = frozenset()
    identity_list: CompiledList | None = None
    cart_hint: str = CartHintCondition.ANY
    min_cart_total: Decimal | None = None
    max_cart_total: Decimal | None = None
    adjust_amount: Decimal | None = None
    adjust_add_outstanding: bool = False
    deny_reason: str = ""
    deny_risks: tuple[str, ...] = ()

    def matches(self, inputs: DecisionInputs) -> bool:
        wanted = self.recommendation
        if wanted != RecommendationCondition.ANY and inputs.recommended_authorized != (
            wanted == RecommendationCondition.AUTHORIZED
        ):
            return False
        if self.risks_any and not (self.risks_any & inputs.recommended_risks):
            return False
        if self.no_risks and inputs.recommended_risks:
            return False
        if self.event_types and inputs.event_type not in self.event_types:
            return False
        if self.interaction_types and inputs.interaction_type not in self.interaction_types:
            return False
        if not self._balance_matches(inputs.balance, inputs.now):
            return False
        if self.identity_list is not None and not self.identity_list.contains(inputs):
            return False
        return self._cart_hint_matches(inputs)

    def _balance_matches(self, balance: BalanceFacts, now: datetime) -> bool:
        if self.balance == BalanceCondition.NONE and balance.has_balance:
            return False
        if self.balance == BalanceCondition.OUTSTANDING and not balance.has_balance:
            return False
        if self.balance == BalanceCondition.BLOCKING and not balance.blocks_entry:
            return False
        needs_amounts = (
            self.min_outstanding is not None
            or self.max_outstanding is not None
            or self.min_unpaid_trips is not None
            or self.min_balance_age_hours is not None
            or self.max_balance_age_hours is not None
            or bool(self.escalation_levels)
        )
        if not needs_amounts:
            return True
        if not balance.amounts_known:
            return False  # a condition on figures we do not have never holds
        outstanding = balance.outstanding or Decimal("0")
        if self.min_outstanding is not None and outstanding < self.min_outstanding:
            return False
        if self.max_outstanding is not None and outstanding > self.max_outstanding:
            return False
        unpaid_trips = balance.unpaid_trips or 0
        if self.min_unpaid_trips is not None and unpaid_trips < self.min_unpaid_trips:
            return False
        if self.escalation_levels:
            level = balance.escalation_level or EscalationLevel.NONE
            if level not in self.escalation_levels:
                return False
        if self.min_balance_age_hours is not None or self.max_balance_age_hours is not None:
            if balance.oldest_unpaid_at is None:
                return False
            age_hours = (now - balance.oldest_unpaid_at).total_seconds() / HOUR
            if self.min_balance_age_hours is not None and age_hours < self.min_balance_age_hours:
                return False
            if self.max_balance_age_hours is not None and age_hours > self.max_balance_age_hours:
                return False
        return True

    def _cart_hint_matches(self, inputs: DecisionInputs) -> bool:
        if self.cart_hint == CartHintCondition.PRESENT and not inputs.cart_hint_present:
            return False
        if self.cart_hint == CartHintCondition.ABSENT and inputs.cart_hint_present:
            return False
        if self.min_cart_total is not None or self.max_cart_total is not None:
            total = inputs.cart_hint_total
            if total is None:
                return False
            if self.min_cart_total is not None and total < self.min_cart_total:
                return False
            if self.max_cart_total is not None and total > self.max_cart_total:
                return False
        return True


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """A policy ready to evaluate. ``version_id`` None is the built-in default policy."""

    version_id: int | None
    number: int | None
    rules: tuple[CompiledRule, ...]
    default_action: str = Action.FOLLOW_AMAZON
    default_reason: str = ""
    balance_strategy: str = ""  # blank: the store's
    fallback: str = ""  # blank: the store's
    lists: tuple[CompiledList, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Outcome:
    """Our answer, before it is written in the contract's shape (§2.2)."""

    authorized: bool
    preauth_amount: Decimal | None  # the amount Amazon will pre-authorize; None when denied
    adjusted: bool  # the answer carries an ADJUST condition
    risks: tuple[str, ...]
    reason: str
    rule_position: int | None
    rule_name: str
    override: str


BUILT_IN_RULES = (
    CompiledRule(
        position=1,
        name="Outstanding balance",
        action=Action.DENY,
        balance=BalanceCondition.BLOCKING,
        deny_reason=Reason.OUTSTANDING_BALANCE,
        deny_risks=(ShopperRisk.BAD_DEBT,),
    ),
)
HIGH_RISK_LEVELS = frozenset({EscalationLevel.EXTENDED_DENIAL, EscalationLevel.FRAUD_REVIEW})
BUILT_IN_POLICY = CompiledPolicy(version_id=None, number=None, rules=BUILT_IN_RULES)


def _known_risks(inputs: DecisionInputs) -> tuple[str, ...]:
    return tuple(risk for risk in ShopperRisk.values if risk in inputs.recommended_risks)


def _override(inputs: DecisionInputs, authorized: bool, amount: Decimal | None) -> str:
    if authorized and not inputs.recommended_authorized:
        return OverrideKind.ALLOW
    if not authorized and inputs.recommended_authorized:
        return OverrideKind.DENY
    if authorized and amount != inputs.amazon_amount:
        return OverrideKind.AMOUNT
    return OverrideKind.NONE


def _allow(inputs, amount, *, position, name, reason="") -> Outcome:
    amount = round_money(amount, inputs.currency)
    if amount <= 0:  # an ADJUST must be positive (§2.2): keep the requested pre-auth
        amount = inputs.authorized_amount
    return Outcome(
        authorized=True,
        preauth_amount=amount,
        adjusted=amount != inputs.authorized_amount,
        risks=(),
        reason=reason,
        rule_position=position,
        rule_name=name,
        override=_override(inputs, True, amount),
    )


def _deny(inputs, *, risks, reason, position, name) -> Outcome:
    return Outcome(
        authorized=False,
        preauth_amount=None,
        adjusted=False,
        risks=tuple(risks),
        reason=reason,
        rule_position=position,
        rule_name=name,
        override=_override(inputs, False, None),
    )


def follow_amazon(inputs: DecisionInputs, *, position=None, name=DEFAULT_RULE_NAME) -> Outcome:
    """Amazon's recommendation as it stands, its ADJUST echoed (contract §2.2)."""
    if inputs.recommended_authorized:
        return _allow(inputs, inputs.amazon_amount, position=position, name=name)
    return _deny(
        inputs,
        risks=_known_risks(inputs),
        reason=Reason.AMAZON_RECOMMENDATION,
        position=position,
        name=name,
    )


def _follow_amazon_under_strategy(inputs: DecisionInputs, position, name) -> Outcome:
    """Follow Amazon, but let the store's balance strategy judge balance-only denials.

    With our own books, or with balances ignored, a denial whose only reasons are balance
    risks (BadDebt, NonpaymentHighRisk) is Amazon's view of a debt our books decide on: when our
    books do not block the shopper, we allow.
    """
    balance = inputs.balance
    risks = inputs.recommended_risks
    balance_only = bool(risks) and risks <= BALANCE_RISKS
    if (
        not inputs.recommended_authorized
        and balance_only
        and balance.strategy in (BalanceStrategy.OWN_BOOKS, BalanceStrategy.NONE)
        and not balance.blocks_entry
    ):
        return _allow(inputs, inputs.authorized_amount, position=position, name=name)
    return follow_amazon(inputs, position=position, name=name)


def _apply(inputs: DecisionInputs, rule: CompiledRule) -> Outcome:
    position, name = rule.position, rule.name
    if rule.action == Action.ALLOW:
        return _allow(inputs, inputs.authorized_amount, position=position, name=name)
    if rule.action == Action.DENY:
        risks = rule.deny_risks or _known_risks(inputs)
        if (
            ShopperRisk.BAD_DEBT in risks
            and inputs.balance.escalation_level in HIGH_RISK_LEVELS
            and ShopperRisk.NONPAYMENT_HIGH_RISK not in risks
        ):
            # Escalated repeat offenders are told apart from a one-off balance (issue 7).
            risks = (*risks, ShopperRisk.NONPAYMENT_HIGH_RISK)
        reason = rule.deny_reason or Reason.POLICY_RULE
        return _deny(inputs, risks=risks, reason=reason, position=position, name=name)
    if rule.action == Action.ADJUST:
        amount = rule.adjust_amount or inputs.authorized_amount
        if rule.adjust_add_outstanding and inputs.balance.amounts_known:
            amount = amount + (inputs.balance.outstanding or Decimal("0"))
        return _allow(inputs, amount, position=position, name=name)
    return _follow_amazon_under_strategy(inputs, position, name)


def evaluate(policy: CompiledPolicy, inputs: DecisionInputs) -> Outcome:
    """First matching rule wins; otherwise the explicit default."""
    for rule in policy.rules:
        if rule.matches(inputs):
            return _apply(inputs, rule)
    if policy.default_action == Action.ALLOW:
        return _allow(inputs, inputs.authorized_amount, position=None, name=DEFAULT_RULE_NAME)
    if policy.default_action == Action.DENY:
        return _deny(
            inputs,
            risks=_known_risks(inputs),
            reason=policy.default_reason or Reason.POLICY_DEFAULT,
            position=None,
            name=DEFAULT_RULE_NAME,
        )
    return _follow_amazon_under_strategy(inputs, None, DEFAULT_RULE_NAME)


def fallback_outcome(fallback: str, inputs: DecisionInputs) -> Outcome:
    """The store's answer when its own data could not be read in time."""
    name = "fallback"
    if fallback == GateFallback.ALLOW:
        return _allow(inputs, inputs.authorized_amount, position=None, name=name)
    if fallback == GateFallback.DENY:
        return _deny(
            inputs,
            risks=_known_risks(inputs),
            reason=Reason.FALLBACK_DENY,
            position=None,
            name=name,
        )
    return follow_amazon(inputs, name=name)


def response_body(outcome: Outcome, currency: str) -> dict:
    """The §2.2 body: accept, accept with one ADJUST, or deny with risks and a reason."""
    if outcome.authorized:
        body: dict = {"shopperAuthorized": True}
        if outcome.adjusted:
            body["authorizationConditions"] = [
                {
                    "type": "ADJUST",
                    "amount": {"value": outcome.preauth_amount, "currencyCode": currency},
                }
            ]
        return body
    body = {"shopperAuthorized": False}
    if outcome.risks:
        body["shopperRisks"] = list(outcome.risks)
    if outcome.reason:
        body["reason"] = outcome.reason[:255]
    return body

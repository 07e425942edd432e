"""Decide at the gate: validate, read what the policy needs within budget, evaluate, record.

Hot path (warm cache, own-books balance strategy): two SQL statements, both autocommit —
``debt.selectors.shopper_standing`` under the store's budget, then the one-statement write of
``gate.services.recording``. The store's settings and policy come from ``gate.policy_cache``.
When the balance lookup or a policy load misses its budget, the store's fallback answers, the
decision is logged as ``FALLBACK`` and an alert counts it. The answer is given even when the
write fails: Amazon needs a decision more than we need the log line.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError

from core import clock
from core.errors import FieldProblem, ValidationFailed
from debt.enums import DENYING_LEVELS
from debt.selectors import shopper_standing
from jwo_client import wire
from trips.enums import BalanceStrategy, GateFallback, TripState

from .. import policy_cache
from ..connection import health_check_skip, with_reconnect
from ..deadline import BudgetExceeded, statement_deadline
from ..enums import BALANCE_RISKS, DecisionSource, FallbackReason
from ..identity import identity_digest
from ..inputs import GateRequest, parse_gate_request
from ..policy_cache import GateContext
from ..rules import (
    NO_BALANCE,
    BalanceFacts,
    DecisionInputs,
    Outcome,
    evaluate,
    fallback_outcome,
    response_body,
)
from .fallback_alerts import gate_fallback_count
from .recording import TripLink, decision_write

logger = logging.getLogger("jwo.gate")

MIN_LOOKUP_SECONDS = 0.01
MAX_ATTEMPTS = 3  # a decision made again after a policy change, at most twice


def _setting_ms(name: str, default: int) -> float:
    return getattr(settings, name, default) / 1000


@dataclass(frozen=True)
class GateAnswer:
    body: dict
    source: str
    replayed: bool = False
    recorded: bool = True


def gate_decide(*, payload, started: float) -> GateAnswer:
    """Answer one Shopper Authorization call (contract §2). ``started`` is ``perf_counter()`` at
    the request's arrival; the budget and the logged latency count from it."""
    request = parse_gate_request(payload)
    health_check_skip()
    if request.unknown:
        logger.warning(
            "gate: unknown values tolerated",
            extra={"store_id": request.store_id, "unknown": request.unknown},
        )
    context, fallback_reason = _context(request.store_id)
    if context is None:
        return _answer_without_store(request, fallback_reason)
    _check_currencies(request, context)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        balance = NO_BALANCE
        if fallback_reason is None:
            balance, fallback_reason = _balance(request, context, started)
        inputs = _inputs(request, context, balance)
        if fallback_reason is None:
            outcome, source = evaluate(context.policy, inputs), DecisionSource.POLICY
        else:
            outcome, source = fallback_outcome(context.fallback, inputs), DecisionSource.FALLBACK
        body = response_body(outcome, request.currency)
        latency_ms = (time.perf_counter() - started) * 1000
        result = _record(
            request,
            context,
            inputs,
            outcome,
            body,
            source=source,
            fallback_reason=fallback_reason,
            latency_ms=latency_ms,
            guarded=source == DecisionSource.POLICY and attempt < MAX_ATTEMPTS,
        )
        if result is None:  # could not record: answer anyway
            _count_fallback(context, fallback_reason, recorded=False)
            return GateAnswer(body=body, source=source, recorded=False)
        if result.stale:
            context, reload_reason = _load(request.store_id, context)
            fallback_reason = fallback_reason or reload_reason
            _check_currencies(request, context)
            continue
        if result.stored_response is not None:
            return GateAnswer(body=wire.loads(result.stored_response), source="", replayed=True)
        if fallback_reason is not None:
            _count_fallback(context, fallback_reason, recorded=True)
        return GateAnswer(body=body, source=source)
    raise AssertionError("unreachable: the last attempt is unguarded")


def _context(store_id: str) -> tuple[GateContext | None, str | None]:
    context = policy_cache.cached_context(store_id)
    if context is not None:
        return context, None
    return _load(store_id, None)


def _load(store_id: str, stale: GateContext | None) -> tuple[GateContext | None, str | None]:
    """Load the store's settings, then its policy, within the budget. On a miss the caller
    answers with the fallback: the store's own when its settings could be read."""
    budget = stale.budget_seconds if stale else _setting_ms("GATE_LOAD_BUDGET_MS", 300)
    started = time.perf_counter()
    settings_read = stale.store if stale else None

    def load_settings():
        with statement_deadline(budget):
            return policy_cache.settings_load(store_id)

    try:
        settings_read = with_reconnect(load_settings)
        if settings_read is None:
            raise ValidationFailed([FieldProblem("storeId", "UNKNOWN")])
        remaining = max(budget - (time.perf_counter() - started), MIN_LOOKUP_SECONDS)
        with statement_deadline(remaining):
            policy = policy_cache.compiled_version(settings_read.active_version_id)
    except (BudgetExceeded, DatabaseError) as error:
        timed_out = isinstance(error, BudgetExceeded)
        if not timed_out:
            logger.exception("gate: policy load failed", extra={"store_id": store_id})
        reason = FallbackReason.POLICY_TIMEOUT if timed_out else FallbackReason.POLICY_ERROR
        if settings_read is None:
            return None, reason
        # Keep the stale policy only for its fallback setting, when the settings are the same.
        policy = stale.policy if stale is not None and settings_read is stale.store else None
        return GateContext(store=settings_read, policy=policy), reason
    context = GateContext(store=settings_read, policy=policy)
    return policy_cache.context_remember(context), None


def _check_currencies(request: GateRequest, context: GateContext) -> None:
    problems = []
    if request.currency != context.store.currency:
        problems.append(FieldProblem("authorizedAmount.currencyCode", "NOT_ALLOWED"))
    if (
        request.recommended_amount_currency is not None
        and request.recommended_amount_currency != request.currency
    ):
        path = "shopperInteraction.recommendation.authorizationConditions[0].amount.currencyCode"
        problems.append(FieldProblem(path, "NOT_ALLOWED"))
    if problems:
        raise ValidationFailed(problems)


def _balance(
    request: GateRequest, context: GateContext, started: float
) -> tuple[BalanceFacts, str | None]:
    strategy = context.balance_strategy
    if strategy == BalanceStrategy.AMAZON:
        flagged = bool(request.recommended_risks & BALANCE_RISKS)
        return BalanceFacts(strategy=strategy, has_balance=flagged, blocks_entry=flagged), None
    if strategy != BalanceStrategy.OWN_BOOKS:
        return BalanceFacts(strategy=strategy), None
    remaining = context.budget_seconds - (time.perf_counter() - started)

    def lookup():
        with statement_deadline(max(remaining, MIN_LOOKUP_SECONDS)):
            return shopper_standing(identity_id=request.identity_id, currency=request.currency)

    try:
        standing = with_reconnect(lookup)
    except BudgetExceeded:
        return NO_BALANCE, FallbackReason.BALANCE_TIMEOUT
    except DatabaseError:
        logger.exception("gate: balance lookup failed", extra={"store_id": request.store_id})
        return NO_BALANCE, FallbackReason.BALANCE_ERROR
    if standing is None:
        clean = BalanceFacts(
            strategy=strategy, amounts_known=True, outstanding=Decimal(0), unpaid_trips=0
        )
        return clean, None
    level = standing.escalation_level
    # A store that does not deny entry for debt still denies a shopper escalated to denial.
    blocks = level in DENYING_LEVELS
    if context.store.deny_entry_with_debt:
        blocks = standing.blocks_entry
    facts = BalanceFacts(
        strategy=strategy,
        amounts_known=True,
        outstanding=standing.outstanding_amount,
        unpaid_trips=standing.unpaid_trips,
        oldest_unpaid_at=standing.oldest_unpaid_at,
        escalation_level=level,
        has_balance=standing.outstanding_amount > 0,
        blocks_entry=blocks,
    )
    return facts, None


def _inputs(request: GateRequest, context: GateContext, balance: BalanceFacts) -> DecisionInputs:
    return DecisionInputs(
        identity_id=request.identity_id,
        identity_digest=identity_digest(request.identity_id),
        currency=request.currency,
        authorized_amount=request.authorized_amount,
        event_type=request.event_type,
        interaction_type=request.interaction_type,
        recommended_authorized=request.recommended_authorized,
        recommended_amount=request.recommended_amount,
        recommended_risks=request.recommended_risks,
        cart_hint_present=request.cart_hint_present,
        cart_hint_total=request.cart_hint_total,
        balance=balance,
        now=clock.now(),
    )


def _record(request, context, inputs, outcome: Outcome, body, **details):
    store = context.store
    preauth_at = request.event_time if outcome.authorized else None
    deadline = settle_by = None
    if preauth_at is not None:
        deadline = preauth_at + timedelta(hours=store.preauth_window_hours)
        settle_by = deadline - timedelta(hours=store.settle_margin_hours)
    link = TripLink(
        store_pk=store.pk,
        shopping_trip_id=request.shopping_trip_id,
        identity_id=request.identity_id,
        state=TripState.ENTERED if outcome.authorized else TripState.DENIED,
        currency=request.currency,
        preauth_amount=outcome.preauth_amount,
        preauth_at=preauth_at,
        preauth_deadline=deadline,
        settle_by=settle_by,
        gate_event_id=request.event_id,
        event_type=request.event_type,
        interaction_type=request.interaction_type,
        event_time=request.event_time,
        authorized=outcome.authorized,
    )
    decision = _decision_row(request, context, inputs, outcome, body, **details)
    try:
        return decision_write(
            decision=decision,
            link=link,
            stamp=store.stamp,
            guarded=details["guarded"],
            business_now=inputs.now,
            synchronous_commit=getattr(settings, "GATE_SYNCHRONOUS_COMMIT", False),
            budget_seconds=_setting_ms("GATE_WRITE_BUDGET_MS", 400),
        )
    except (BudgetExceeded, DatabaseError):
        logger.exception("gate: decision not recorded", extra={"store_id": store.store_id})
        return None


def _decision_row(request, context, inputs, outcome, body, **details) -> dict:
    balance = inputs.balance
    return {
        "gate_event_id": request.event_id,
        "store_id": context.store.pk,
        "shopping_trip_id": request.shopping_trip_id,
        "identity_digest": inputs.identity_digest,
        "decided_at": inputs.now,
        "event_type": request.event_type,
        "interaction_type": request.interaction_type,
        "location": request.location,
        "event_time": request.event_time,
        "recommended_authorized": request.recommended_authorized,
        "recommended_risks": sorted(request.recommended_risks),
        "recommended_amount": request.recommended_amount,
        "authorized_amount": request.authorized_amount,
        "currency": request.currency,
        "cart_hint_total": request.cart_hint_total,
        "cart_hint_items": request.cart_hint_items,
        "balance_strategy": context.balance_strategy,
        "outstanding_amount": balance.outstanding if balance.amounts_known else None,
        "unpaid_trips": balance.unpaid_trips,
        "oldest_unpaid_at": balance.oldest_unpaid_at,
        "escalation_level": balance.escalation_level,
        "blocks_entry": balance.blocks_entry if balance.strategy != BalanceStrategy.NONE else None,
        "policy_version_id": context.policy.version_id if context.policy else None,
        "rule_position": outcome.rule_position,
        "rule_name": outcome.rule_name,
        "source": details["source"],
        "fallback_reason": details["fallback_reason"] or "",
        "authorized": outcome.authorized,
        "preauth_amount": outcome.preauth_amount,
        "reason": outcome.reason,
        "response_risks": list(outcome.risks),
        "response": body,
        "override": outcome.override,
        "latency_ms": round(details["latency_ms"], 3),
        "unknown_values": request.unknown,
    }


def _count_fallback(context: GateContext | None, reason: str | None, *, recorded: bool) -> None:
    store_id = context.store.store_id if context else "unknown"
    gate_fallback_count(store_id=store_id, reason=reason, recorded=recorded)


def _answer_without_store(request: GateRequest, reason: str | None) -> GateAnswer:
    """The store's settings could not be read at all: the product-wide fallback, not recorded."""
    fallback = getattr(settings, "GATE_DEFAULT_FALLBACK", GateFallback.FOLLOW_AMAZON)
    inputs = DecisionInputs(
        identity_id=request.identity_id,
        identity_digest="",
        currency=request.currency,
        authorized_amount=request.authorized_amount,
        event_type=request.event_type,
        interaction_type=request.interaction_type,
        recommended_authorized=request.recommended_authorized,
        recommended_amount=request.recommended_amount,
        recommended_risks=request.recommended_risks,
        cart_hint_present=request.cart_hint_present,
        cart_hint_total=request.cart_hint_total,
        balance=NO_BALANCE,
        now=clock.now(),
    )
    outcome = fallback_outcome(fallback, inputs)
    logger.error("gate: store settings unreadable, fallback answered", extra={"reason": reason})
    _count_fallback(None, reason, recorded=False)
    return GateAnswer(
        body=response_body(outcome, request.currency),
        source=DecisionSource.FALLBACK,
        recorded=False,
    )

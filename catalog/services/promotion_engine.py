"""Item-level promotions over runs of identical units (part of the pure pricing engine).

A cart line of N unit-priced items becomes one *run* of N identical units; a weighed line is one
run of a single unit priced at the line amount. A promotion is *planned* on the current runs (which
units it uses and the exact discount on each), then *applied*: the runs it touched are split so
that every run again holds identical units. Work is proportional to the number of lines and
promotions, never to quantities, so ``"9999999999"`` units cost no more than one.

The rules (docs/pricing.md): tiers by priority, highest first; inside a tier the promotion that
saves the shopper more on the current cart goes first (ties: code order); an exclusive promotion
uses units that no promotion has touched and locks them; a stackable promotion uses units not
locked and not already given the same promotion, and applies to their price after earlier ones.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal

from ..enums import PromotionKind, Stacking
from .pricing_types import PromotionRule

ZERO = Decimal(0)
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class LineFacts:
    """What promotions may look at on a line: its SKU and category."""

    sku: str
    category: str | None


@dataclass(frozen=True, slots=True)
class Run:
    uid: int
    line: int  # index of the cart line
    count: int
    price: Decimal  # remaining price of one unit, exact
    order: tuple  # tie-break key that does not depend on the cart's order
    weighed: bool
    locked: bool = False
    touched: bool = False
    applied: frozenset[str] = frozenset()


# A plan: run uid -> [(units, discount per unit)], units counted from the start of the run.
Plan = dict[int, list[tuple[int, Decimal]]]


def plan_value(plan: Plan) -> Decimal:
    return sum((units * each for chunks in plan.values() for units, each in chunks), ZERO)


def _matches(facts: LineFacts, sku: str | None, category: str | None) -> bool:
    if sku is not None:
        return facts.sku == sku
    if category is not None:
        return facts.category == category
    return True


def _eligible(run: Run, rule: PromotionRule) -> bool:
    if run.locked or run.count == 0:
        return False
    if rule.stacking == Stacking.EXCLUSIVE:
        return not run.touched
    return rule.code not in run.applied


def _desc(runs: list[Run]) -> list[Run]:
    return sorted(runs, key=lambda run: (-run.price, run.order))


def _asc(runs: list[Run]) -> list[Run]:
    return sorted(runs, key=lambda run: (run.price, run.order))


def _cap(rule: PromotionRule) -> int | None:
    return rule.max_applications_per_cart


def _per_unit(runs: list[Run], cap: int | None, discount_of) -> Plan:
    """Percent or amount off each unit, most valuable units first when capped."""
    plan: Plan = {}
    left = cap
    for run in _desc(runs):
        if left is not None and left <= 0:
            break
        each = discount_of(run.price)
        if each <= 0:
            continue
        units = run.count if left is None else min(run.count, left)
        plan[run.uid] = [(units, each)]
        if left is not None:
            left -= units
    return plan


def _free_positions(end: int, size: int, paid: int) -> int:
    """How many of positions [0, end) fall in the discounted part of their group."""
    return (end // size) * (size - paid) + max(0, end % size - paid)


def _grouped(runs: list[Run], size: int, paid: int, fraction: Decimal, cap: int | None) -> Plan:
    """Groups of ``size`` units from the dearest down; in each group all but the ``paid``
    dearest units get ``fraction`` off. Grouping dearest-first gives the shopper the most."""
    ordered = _desc(runs)
    groups = sum(run.count for run in ordered) // size
    if cap is not None:
        groups = min(groups, cap)
    limit = groups * size
    plan: Plan = {}
    position = 0
    for run in ordered:
        if position >= limit:
            break
        end = min(position + run.count, limit)
        free = _free_positions(end, size, paid) - _free_positions(position, size, paid)
        used = end - position
        chunks = []
        if free:
            chunks.append((free, run.price * fraction))
        if used - free:
            chunks.append((used - free, ZERO))
        plan[run.uid] = chunks
        position += run.count
    return plan


def _bundles(runs: list[Run], size: int, price: Decimal, cap: int | None) -> Plan:
    """``size`` units for ``price``, dearest units first, only while a bundle saves money."""
    ordered = _desc(runs)
    groups_left = sum(run.count for run in ordered) // size
    if cap is not None:
        groups_left = min(groups_left, cap)
    plan: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    partial: list[tuple[Run, int]] = []
    for run in ordered:
        available = run.count
        while available > 0 and groups_left > 0:
            if not partial and available >= size:
                whole = min(available // size, groups_left)
                total = run.price * size
                if total <= price:
                    return dict(plan)
                plan[run.uid].append((whole * size, run.price - run.price * price / total))
                available -= whole * size
                groups_left -= whole
                continue
            taking = min(size - sum(units for _, units in partial), available)
            partial.append((run, taking))
            available -= taking
            if sum(units for _, units in partial) == size:
                total = sum((member.price * units for member, units in partial), ZERO)
                if total <= price:
                    return dict(plan)
                for member, units in partial:
                    plan[member.uid].append((units, member.price - member.price * price / total))
                partial = []
                groups_left -= 1
    return dict(plan)


def _take(runs: list[Run], units: int, discount_of) -> Plan:
    plan: Plan = {}
    for run in runs:
        if units <= 0:
            break
        taking = min(run.count, units)
        plan[run.uid] = [(taking, discount_of(run.price))]
        units -= taking
    return plan


def plan_promotion(rule: PromotionRule, runs: list[Run], facts: list[LineFacts]) -> Plan:
    """Which units ``rule`` uses on the current runs, and the exact discount of each."""
    eligible = [run for run in runs if _eligible(run, rule)]
    targets = [
        run for run in eligible if _matches(facts[run.line], rule.target_sku, rule.target_category)
    ]
    kind = rule.kind
    if kind == PromotionKind.PERCENT_OFF:
        fraction = (rule.percent or ZERO) / HUNDRED
        return _per_unit(targets, _cap(rule), lambda price: price * fraction)
    if kind == PromotionKind.AMOUNT_OFF:
        amount = rule.amount or ZERO
        return _per_unit(targets, _cap(rule), lambda price: min(amount, price))
    counted = [run for run in targets if not run.weighed]  # multi-buys count pieces
    if kind == PromotionKind.BUY_N_PAY_M:
        return _grouped(counted, rule.quantity, rule.pay_quantity, Decimal(1), _cap(rule))
    if kind == PromotionKind.BUNDLE_PRICE:
        return _bundles(counted, rule.quantity, rule.bundle_price, _cap(rule))
    if kind == PromotionKind.BUY_X_GET_Y:
        fraction = (rule.percent if rule.percent is not None else HUNDRED) / HUNDRED
        if rule.reward_sku is None and rule.reward_category is None:
            size = rule.quantity + rule.get_quantity
            return _grouped(counted, size, rule.quantity, fraction, _cap(rule))
        return _buy_x_get_y(rule, eligible, facts, fraction)
    return {}


def _buy_x_get_y(rule, eligible: list[Run], facts, fraction: Decimal) -> Plan:
    """Distinct reward target: the cheapest qualifying units are used up (they pay full price)
    and the dearest reward units get the reward. A unit matching the reward target is only ever
    a reward."""
    pieces = [run for run in eligible if not run.weighed]
    rewards = [
        run for run in pieces if _matches(facts[run.line], rule.reward_sku, rule.reward_category)
    ]
    reward_uids = {run.uid for run in rewards}
    buying = [
        run
        for run in pieces
        if run.uid not in reward_uids
        and _matches(facts[run.line], rule.target_sku, rule.target_category)
    ]
    sets = min(
        sum(run.count for run in buying) // rule.quantity,
        sum(run.count for run in rewards) // rule.get_quantity,
    )
    if rule.max_applications_per_cart is not None:
        sets = min(sets, rule.max_applications_per_cart)
    if sets <= 0:
        return {}
    plan = _take(_asc(buying), sets * rule.quantity, lambda price: ZERO)
    plan.update(_take(_desc(rewards), sets * rule.get_quantity, lambda price: price * fraction))
    return plan


def apply_plan(rule: PromotionRule, runs: list[Run], plan: Plan, next_uid) -> list[Run]:
    """Split the runs the plan uses; used units get their new price and flags."""
    exclusive = rule.stacking == Stacking.EXCLUSIVE
    result: list[Run] = []
    for run in runs:
        chunks = plan.get(run.uid)
        if not chunks:
            result.append(run)
            continue
        used = 0
        for units, each in chunks:
            if units <= 0:
                continue
            result.append(
                replace(
                    run,
                    uid=next_uid(),
                    count=units,
                    price=run.price - each,
                    locked=run.locked or exclusive,
                    touched=True,
                    applied=run.applied | {rule.code},
                )
            )
            used += units
        if run.count - used > 0:
            result.append(replace(run, count=run.count - used))
    return result


def run_item_promotions(
    rules: list[PromotionRule], runs: list[Run], facts: list[LineFacts]
) -> list[tuple[PromotionRule, dict[int, Decimal]]]:
    """Apply item-level promotions; return, in application order, each promotion's exact
    discount per line index."""
    counter = iter(range(10**9, 10**12))
    applied: list[tuple[PromotionRule, dict[int, Decimal]]] = []
    tiers: dict[int, list[PromotionRule]] = defaultdict(list)
    for rule in rules:
        tiers[rule.priority].append(rule)
    for priority in sorted(tiers, reverse=True):
        waiting = sorted(tiers[priority], key=lambda rule: rule.code)
        while waiting:
            best = None
            still_waiting = []
            for rule in waiting:
                plan = plan_promotion(rule, runs, facts)
                value = plan_value(plan)
                if value <= 0:
                    continue  # runs only lose eligibility and prices only fall: never later
                still_waiting.append(rule)
                if best is None or value > best[0]:
                    best = (value, rule, plan)
            if best is None:
                break
            _, rule, plan = best
            by_uid = {run.uid: run for run in runs}
            per_line: dict[int, Decimal] = defaultdict(lambda: ZERO)
            for uid, chunks in plan.items():
                for units, each in chunks:
                    per_line[by_uid[uid].line] += units * each
            applied.append((rule, {line: amount for line, amount in per_line.items() if amount}))
            runs = apply_plan(rule, runs, plan, lambda: next(counter))
            waiting = [other for other in still_waiting if other is not rule]
    return applied

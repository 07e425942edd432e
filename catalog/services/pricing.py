"""The pricing engine: a pure function from a cart and a price version's rules to priced lines.

No database, no clock, no settings: everything it needs is in its arguments, so the same input
always gives the same output (a replay re-prices identically) and property tests can run it
thousands of times. The rules are documented in docs/pricing.md; in short:

1. **Gross**: unit items ``quantity × unit price``; weight items convert the cart's kg/g/lb/oz to
   the price's kg or lb exactly, multiply, and round half-up to the currency's minor unit.
2. **Item promotions** (``promotion_engine``): by priority, then by the better saving; exclusive
   or stackable. Each promotion's discount is rounded half-up once for the whole cart and shared
   over the lines by largest remainder, never taking a line below zero.
3. **Basket promotions** (spend thresholds) on what the lines cost after item promotions.
4. **Tax** on each line's net (after every discount): added on top, or contained in the price,
   rounded half-up per line or per invoice (per rate, shared over the lines).
5. **Totals** are sums of the lines, so the lines always add up to the total.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, localcontext

from core.money import quantum

from ..enums import BASKET_KINDS, PromotionKind, Stacking, TaxRounding
from .pricing_types import (
    AMOUNT_OUT_OF_RANGE,
    DROPPED,
    KG_PER_SALE_UNIT,
    KG_PER_UNIT,
    MANUAL,
    PRICED,
    TOTAL_OUT_OF_RANGE,
    UNIT_MISMATCH,
    UNKNOWN_ITEM,
    CartLine,
    DiscountResult,
    LineResult,
    PricingContext,
    PricingResult,
    PricingRules,
    PromotionRule,
)
from .promotion_engine import LineFacts, Run, run_item_promotions

ZERO = Decimal(0)
HUNDRED = Decimal(100)
MAX_AMOUNT = Decimal(10) ** 9  # at most 9 integer digits (contract §0.5)
# Exact intermediate arithmetic; every rounding to money names its mode explicitly.
ENGINE_CONTEXT = Context(prec=50, rounding=ROUND_HALF_EVEN)


def price_cart(
    rules: PricingRules, lines: Sequence[CartLine], context: PricingContext
) -> PricingResult:
    with localcontext(ENGINE_CONTEXT):
        return _Pricing(rules, list(lines), context).run()


def round_half_up(amount: Decimal, step: Decimal) -> Decimal:
    return amount.quantize(step, rounding=ROUND_HALF_UP)


def allocate(
    exact: dict[int, Decimal], total: Decimal, step: Decimal, order: Callable[[int], tuple]
) -> dict[int, Decimal]:
    """Share ``total`` (a multiple of ``step``) over keys in proportion to ``exact`` amounts:
    floor each, then give one ``step`` to the largest remainders (ties in ``order``)."""
    floors = {key: value.quantize(step, rounding=ROUND_FLOOR) for key, value in exact.items()}
    extra = int((total - sum(floors.values(), ZERO)) / step)
    if extra > 0:
        ranked = sorted(exact, key=lambda key: (-(exact[key] - floors[key]), order(key)))
        for key in ranked[:extra]:
            floors[key] += step
    return floors


def weight_gross(quantity: Decimal, unit: str, sale_unit: str, price: Decimal) -> Decimal:
    """Exact amount of a weighed line before rounding: kg/g/lb/oz converted to the sale unit."""
    return quantity * KG_PER_UNIT[unit] * price / KG_PER_SALE_UNIT[sale_unit]


def _unit_fits(line: CartLine) -> bool:
    product = line.product
    if product.sale_unit == "UNIT":
        return line.unit == "unit" and line.quantity == line.quantity.to_integral_value()
    return line.unit in KG_PER_UNIT and product.sale_unit in KG_PER_SALE_UNIT


def rule_in_force(rule: PromotionRule, context: PricingContext) -> bool:
    if rule.starts_at is not None and context.at < rule.starts_at:
        return False
    if rule.ends_at is not None and context.at >= rule.ends_at:
        return False
    if rule.members_only and not context.members:
        return False
    if rule.max_uses_per_shopper is not None:
        # A cap needs an identity to count against; without one the promotion is not offered.
        if not context.shopper_known:
            return False
        if context.shopper_uses.get(rule.code, 0) >= rule.max_uses_per_shopper:
            return False
    return True


class _Pricing:
    def __init__(self, rules: PricingRules, lines: list[CartLine], context: PricingContext):
        self.rules = rules
        self.lines = lines
        self.context = context
        self.step = quantum(rules.currency)
        count = len(lines)
        self.status: list[str] = [""] * count
        self.gross: list[Decimal | None] = [None] * count
        self.net: list[Decimal] = [ZERO] * count
        self.discounts: list[list[DiscountResult]] = [[] for _ in range(count)]
        self.order = [
            (
                (line.product.sku if line.product else line.item_id),
                line.unit,
                line.quantity,
                line.key,
            )
            for line in lines
        ]

    def run(self) -> PricingResult:
        for index, line in enumerate(self.lines):
            self._gross(index, line)
        live = [rule for rule in self.rules.promotions if rule_in_force(rule, self.context)]
        self._item_promotions([rule for rule in live if rule.kind not in BASKET_KINDS])
        self._basket_promotions([rule for rule in live if rule.kind in BASKET_KINDS])
        taxes = self._taxes()
        return self._result(taxes)

    # 1. gross -----------------------------------------------------------------------------
    def _gross(self, index: int, line: CartLine) -> None:
        if line.dropped:
            self.status[index] = DROPPED
            return
        if line.manual is not None:
            amount = round_half_up(line.manual.amount, self.step)
            self._set_gross(index, MANUAL, amount)
            return
        if line.product is None:
            self.status[index] = line.problem or UNKNOWN_ITEM
            return
        if not _unit_fits(line):
            self.status[index] = UNIT_MISMATCH
            return
        product = line.product
        if product.sale_unit == "UNIT":
            exact = line.quantity * product.unit_price
        else:
            exact = weight_gross(line.quantity, line.unit, product.sale_unit, product.unit_price)
        self._set_gross(index, PRICED, round_half_up(exact, self.step))

    def _set_gross(self, index: int, status: str, amount: Decimal) -> None:
        if amount >= MAX_AMOUNT:
            self.status[index] = AMOUNT_OUT_OF_RANGE
            return
        self.status[index] = status
        self.gross[index] = amount
        self.net[index] = amount

    # 2. item promotions ---------------------------------------------------------------------
    def _item_promotions(self, rules: list[PromotionRule]) -> None:
        if not rules:
            return
        facts = [
            LineFacts(line.product.sku, line.product.category)
            if line.product is not None
            else LineFacts("", None)
            for line in self.lines
        ]
        runs = []
        for index, line in enumerate(self.lines):
            if self.status[index] != PRICED or self.gross[index] == 0:
                continue
            weighed = line.product.sale_unit != "UNIT"
            runs.append(
                Run(
                    uid=index,
                    line=index,
                    count=1 if weighed else int(line.quantity),
                    price=self.gross[index] if weighed else line.product.unit_price,
                    order=self.order[index],
                    weighed=weighed,
                )
            )
        for rule, per_line in run_item_promotions(rules, runs, facts):
            total = round_half_up(sum(per_line.values(), ZERO), self.step)
            self._record(rule, allocate(per_line, total, self.step, self.order.__getitem__))

    def _record(self, rule: PromotionRule, amounts: dict[int, Decimal]) -> None:
        for index in sorted(amounts, key=self.order.__getitem__):
            amount = min(amounts[index], self.net[index])
            if amount <= 0:
                continue
            self.net[index] -= amount
            self.discounts[index].append(
                DiscountResult(rule.code, rule.promotion_id, rule.name, amount)
            )

    # 3. basket promotions -------------------------------------------------------------------
    def _basket_targets(self, rule: PromotionRule) -> list[int]:
        found = []
        for index, line in enumerate(self.lines):
            if self.status[index] != PRICED:
                continue
            product = line.product
            if rule.target_sku is not None and product.sku != rule.target_sku:
                continue
            if rule.target_category is not None and product.category != rule.target_category:
                continue
            found.append(index)
        return found

    def _basket_plan(self, rule: PromotionRule, base: list[Decimal]) -> dict[int, Decimal]:
        if rule.kind != PromotionKind.SPEND_THRESHOLD:
            return {}
        targets = self._basket_targets(rule)
        if sum((base[index] for index in targets), ZERO) < (rule.threshold or ZERO):
            return {}
        current = {index: self.net[index] for index in targets if self.net[index] > 0}
        spend = sum(current.values(), ZERO)
        if spend <= 0:
            return {}
        if rule.percent is not None:
            exact = spend * rule.percent / HUNDRED
        else:
            exact = min(rule.amount or ZERO, spend)
        total = round_half_up(exact, self.step)
        if total <= 0:
            return {}
        shares = {index: total * amount / spend for index, amount in current.items()}
        return allocate(shares, total, self.step, self.order.__getitem__)

    def _basket_promotions(self, rules: list[PromotionRule]) -> None:
        if not rules:
            return
        base = list(self.net)  # thresholds look at the spend after item promotions
        tiers: dict[int, list[PromotionRule]] = defaultdict(list)
        for rule in rules:
            tiers[rule.priority].append(rule)
        used_any = False
        for priority in sorted(tiers, reverse=True):
            waiting = sorted(tiers[priority], key=lambda rule: rule.code)
            while waiting:
                best = None
                for rule in waiting:
                    if rule.stacking == Stacking.EXCLUSIVE and used_any:
                        continue
                    plan = self._basket_plan(rule, base)
                    value = sum(plan.values(), ZERO)
                    if value > 0 and (best is None or value > best[0]):
                        best = (value, rule, plan)
                if best is None:
                    break
                _, rule, plan = best
                self._record(rule, plan)
                used_any = True
                if rule.stacking == Stacking.EXCLUSIVE:
                    return  # an exclusive basket promotion is the only one
                waiting = [other for other in waiting if other is not rule]

    # 4. tax ----------------------------------------------------------------------------------
    def _tax_of(self, index: int) -> tuple[str, Decimal]:
        line = self.lines[index]
        if line.manual is not None:
            return line.manual.tax_category, line.manual.tax_rate
        return line.product.tax_category, line.product.tax_rate

    def _taxes(self) -> dict[int, Decimal]:
        exact: dict[int, Decimal] = {}
        for index, status in enumerate(self.status):
            if status not in (PRICED, MANUAL):
                continue
            _, rate = self._tax_of(index)
            if self.rules.prices_include_tax:
                exact[index] = self.net[index] * rate / (HUNDRED + rate)
            else:
                exact[index] = self.net[index] * rate / HUNDRED
        if self.rules.tax_rounding != TaxRounding.PER_INVOICE:
            return {index: round_half_up(amount, self.step) for index, amount in exact.items()}
        by_rate: dict[Decimal, dict[int, Decimal]] = defaultdict(dict)
        for index, amount in exact.items():
            by_rate[self._tax_of(index)[1].normalize()][index] = amount
        taxes: dict[int, Decimal] = {}
        for group in by_rate.values():
            total = round_half_up(sum(group.values(), ZERO), self.step)
            taxes.update(allocate(group, total, self.step, self.order.__getitem__))
        return taxes

    # 5. result -------------------------------------------------------------------------------
    def _result(self, taxes: dict[int, Decimal]) -> PricingResult:
        results = []
        subtotal = discount_total = tax_total = total = ZERO
        used: set[str] = set()
        for index, line in enumerate(self.lines):
            status = self.status[index]
            if status not in (PRICED, MANUAL):
                results.append(LineResult(key=line.key, status=status))
                continue
            tax_category, rate = self._tax_of(index)
            gross, net, tax = self.gross[index], self.net[index], taxes[index]
            line_total = net if self.rules.prices_include_tax else net + tax
            discounts = tuple(self.discounts[index])
            line_discount = sum((discount.amount for discount in discounts), ZERO)
            used.update(discount.promotion_code for discount in discounts)
            results.append(
                LineResult(
                    key=line.key,
                    status=status,
                    unit_price=line.product.unit_price if status == PRICED else None,
                    sale_unit=line.product.sale_unit if status == PRICED else "",
                    gross=gross,
                    discounts=discounts,
                    discount_total=line_discount,
                    net=net,
                    tax_category=tax_category,
                    tax_rate=rate,
                    tax=tax,
                    total=line_total,
                )
            )
            subtotal += gross
            discount_total += line_discount
            tax_total += tax
            total += line_total
        problems = (TOTAL_OUT_OF_RANGE,) if total >= MAX_AMOUNT else ()
        return PricingResult(
            currency=self.rules.currency,
            lines=tuple(results),
            subtotal=subtotal,
            discount_total=discount_total,
            tax_total=tax_total,
            total=total,
            problems=problems,
            promotions_used=tuple(sorted(used)),
        )

"""Properties of the pricing engine over random carts, catalogs and promotions (hypothesis):
totals are the sum of the lines; no line goes below zero; promotions never raise a price; the
result does not depend on the order of items or promotions; a replay prices identically."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.services.pricing import price_cart
from catalog.services.pricing_types import (
    MANUAL,
    PRICED,
    CartLine,
    ManualPrice,
    PricingContext,
    PricingRules,
    ProductRule,
    PromotionRule,
)
from core.money import quantum

AT = datetime(2025, 5, 2, 17, 9, tzinfo=UTC)
SKUS = ["A", "B", "C", "D", "E", "F"]
CATEGORIES = ["FRUIT", "DAIRY", None]
RATES = [Decimal("0"), Decimal("2.5"), Decimal("8.875"), Decimal("20")]
PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def money(currency: str, high: int = 50000):
    step = quantum(currency)
    return st.integers(min_value=0, max_value=high).map(lambda cents: Decimal(cents) * step)


@st.composite
def catalogs(draw, currency):
    products = {}
    for sku in SKUS:
        products[sku] = ProductRule(
            sku=sku,
            sale_unit=draw(st.sampled_from(["UNIT", "UNIT", "KG", "LB"])),
            unit_price=draw(money(currency)),
            tax_category="T",
            tax_rate=draw(st.sampled_from(RATES)),
            category=draw(st.sampled_from(CATEGORIES)),
        )
    return products


@st.composite
def cart_lines(draw, products, currency):
    lines = []
    for index in range(draw(st.integers(min_value=0, max_value=10))):
        key = f"#{index}"
        kind = draw(st.sampled_from(["known", "known", "known", "unknown", "manual"]))
        if kind == "unknown":
            lines.append(CartLine(key, f"X{index}", Decimal(1), "unit", problem="UNKNOWN_ITEM"))
            continue
        if kind == "manual":
            manual = ManualPrice(draw(money(currency)), "T", draw(st.sampled_from(RATES)))
            lines.append(CartLine(key, f"M{index}", Decimal(1), "unit", manual=manual))
            continue
        product = products[draw(st.sampled_from(SKUS))]
        if product.sale_unit == "UNIT":
            quantity, unit = Decimal(draw(st.integers(min_value=1, max_value=12))), "unit"
        else:
            thousandths = draw(st.integers(min_value=1, max_value=20000))
            quantity = Decimal(thousandths) / 1000
            unit = draw(st.sampled_from(["kg", "g", "lb", "oz"]))
        lines.append(CartLine(key, product.sku, quantity, unit, product))
    return lines


@st.composite
def promotions(draw, currency):
    found = []
    for index in range(draw(st.integers(min_value=0, max_value=5))):
        kind = draw(
            st.sampled_from(
                [
                    "PERCENT_OFF",
                    "AMOUNT_OFF",
                    "BUY_N_PAY_M",
                    "BUNDLE_PRICE",
                    "BUY_X_GET_Y",
                    "SPEND_THRESHOLD",
                ]
            )
        )
        target = draw(st.sampled_from(["sku", "category", "all"]))
        fields = {
            "code": f"P{index}",
            "kind": kind,
            "stacking": draw(st.sampled_from(["STACKABLE", "EXCLUSIVE"])),
            "priority": draw(st.integers(min_value=0, max_value=2)),
            "target_sku": draw(st.sampled_from(SKUS)) if target == "sku" else None,
            "target_category": draw(st.sampled_from(CATEGORIES[:2]))
            if target == "category"
            else None,
            "max_applications_per_cart": draw(st.none() | st.integers(min_value=1, max_value=4)),
        }
        percent = Decimal(draw(st.integers(min_value=1, max_value=100)))
        if kind == "PERCENT_OFF":
            fields["percent"] = percent
        elif kind == "AMOUNT_OFF":
            fields["amount"] = draw(money(currency, 2000))
        elif kind == "BUY_N_PAY_M":
            size = draw(st.integers(min_value=2, max_value=4))
            fields.update(
                quantity=size, pay_quantity=draw(st.integers(min_value=1, max_value=size - 1))
            )
        elif kind == "BUNDLE_PRICE":
            fields.update(
                quantity=draw(st.integers(min_value=2, max_value=4)),
                bundle_price=draw(money(currency, 3000)),
            )
        elif kind == "BUY_X_GET_Y":
            fields.update(
                quantity=draw(st.integers(min_value=1, max_value=3)),
                get_quantity=draw(st.integers(min_value=1, max_value=2)),
                percent=percent,
            )
            if draw(st.booleans()):
                fields["reward_sku"] = draw(st.sampled_from(SKUS))
        else:
            fields["threshold"] = draw(money(currency, 5000))
            if draw(st.booleans()):
                fields["percent"] = percent
            else:
                fields["amount"] = draw(money(currency, 2000))
        found.append(PromotionRule(**fields))
    return tuple(found)


@st.composite
def scenarios(draw):
    currency = draw(st.sampled_from(["USD", "USD", "JPY"]))
    products = draw(catalogs(currency))
    rules = PricingRules(
        currency=currency,
        prices_include_tax=draw(st.booleans()),
        tax_rounding=draw(st.sampled_from(["PER_LINE", "PER_INVOICE"])),
        promotions=draw(promotions(currency)),
    )
    lines = draw(cart_lines(products, currency))
    return rules, lines


CONTEXT = PricingContext(at=AT)


def charged(result):
    return [line for line in result.lines if line.status in (PRICED, MANUAL)]


@PROPERTY_SETTINGS
@given(scenarios())
def test_totals_are_the_sum_of_the_lines(scenario):
    rules, lines = scenario
    result = price_cart(rules, lines, CONTEXT)
    priced = charged(result)

    assert result.total == sum((line.total for line in priced), Decimal(0))
    assert result.subtotal == sum((line.gross for line in priced), Decimal(0))
    assert result.discount_total == sum((line.discount_total for line in priced), Decimal(0))
    assert result.tax_total == sum((line.tax for line in priced), Decimal(0))
    for line in priced:
        assert line.discount_total == sum((d.amount for d in line.discounts), Decimal(0))
        assert line.net == line.gross - line.discount_total
    if rules.prices_include_tax:
        assert result.total == result.subtotal - result.discount_total
    else:
        assert result.total == result.subtotal - result.discount_total + result.tax_total


@PROPERTY_SETTINGS
@given(scenarios())
def test_no_line_goes_below_zero_and_every_amount_is_in_minor_units(scenario):
    rules, lines = scenario
    result = price_cart(rules, lines, CONTEXT)
    step = quantum(rules.currency)

    for line in charged(result):
        for amount in (line.gross, line.net, line.tax, line.total, line.discount_total):
            assert amount >= 0
            assert amount == amount.quantize(step)
        assert all(discount.amount > 0 for discount in line.discounts)
    assert result.total >= 0


@PROPERTY_SETTINGS
@given(scenarios())
def test_promotions_never_raise_a_price(scenario):
    rules, lines = scenario
    with_promotions = price_cart(rules, lines, CONTEXT)
    without = price_cart(replace(rules, promotions=()), lines, CONTEXT)

    assert with_promotions.total <= without.total
    assert with_promotions.tax_total <= without.tax_total
    for promoted, plain in zip(with_promotions.lines, without.lines, strict=True):
        if promoted.status in (PRICED, MANUAL):
            assert promoted.gross == plain.gross
            assert promoted.net <= plain.net


@PROPERTY_SETTINGS
@given(scenarios(), st.randoms(use_true_random=False))
def test_the_result_does_not_depend_on_item_or_promotion_order(scenario, random):
    rules, lines = scenario
    shuffled_lines = list(lines)
    random.shuffle(shuffled_lines)
    shuffled_promotions = list(rules.promotions)
    random.shuffle(shuffled_promotions)

    first = price_cart(rules, lines, CONTEXT)
    second = price_cart(
        replace(rules, promotions=tuple(shuffled_promotions)), shuffled_lines, CONTEXT
    )

    assert (second.subtotal, second.discount_total, second.tax_total, second.total) == (
        first.subtotal,
        first.discount_total,
        first.tax_total,
        first.total,
    )
    assert {line.key: line for line in second.lines} == {line.key: line for line in first.lines}
    assert second.promotions_used == first.promotions_used


@PROPERTY_SETTINGS
@given(scenarios())
def test_a_replay_prices_identically(scenario):
    rules, lines = scenario

    assert price_cart(rules, lines, CONTEXT) == price_cart(rules, list(lines), CONTEXT)


@PROPERTY_SETTINGS
@given(scenarios())
def test_unpriced_lines_are_never_charged(scenario):
    rules, lines = scenario
    result = price_cart(rules, lines, CONTEXT)

    for given_line, line in zip(lines, result.lines, strict=True):
        assert given_line.key == line.key
        if given_line.problem:
            assert line.total is None
            assert not result.complete

"""Worked examples of the pricing engine (pure, no database): every promotion kind, weight items,
both tax modes and both rounding rules. Each expected figure is worked out in the comment beside
it, so docs/pricing.md and these tests tell the same story."""

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from catalog.services.pricing import price_cart
from catalog.services.pricing_types import (
    AMOUNT_OUT_OF_RANGE,
    MANUAL,
    TOTAL_OUT_OF_RANGE,
    UNIT_MISMATCH,
    CartLine,
    ManualPrice,
    PricingContext,
    PricingRules,
    ProductRule,
    PromotionRule,
)

AT = datetime(2025, 5, 2, 17, 9, tzinfo=UTC)
CONTEXT = PricingContext(at=AT)


def product(sku, price, *, unit="UNIT", tax="STD", rate="0", category=None):
    return ProductRule(sku, unit, D(price), tax, D(rate), category)


def line(key, rule, quantity="1", unit="unit"):
    return CartLine(key, rule.sku, D(quantity), unit, rule)


def price(lines, *promotions, currency="USD", inclusive=False, rounding="PER_LINE", **context):
    rules = PricingRules(currency, inclusive, rounding, tuple(promotions))
    return price_cart(rules, lines, PricingContext(at=AT, **context))


def totals(result):
    return (result.subtotal, result.discount_total, result.tax_total, result.total)


MILK = product("MILK", "0.99", category="DAIRY")
YOGURT = product("YOGURT", "1.49", category="DAIRY")
CHEESE = product("CHEESE", "4.00", category="DAIRY")
BANANA = product("BANANA", "2.99", unit="KG", category="FRUIT")
STEAK = product("STEAK", "8.99", unit="LB")
SODA = product("SODA", "1.50", rate="8.875", category="DRINKS")


# --- weights and rounding (CC-7c.1) -----------------------------------------------------------
@pytest.mark.parametrize(
    ("rule", "quantity", "unit", "expected"),
    [
        (BANANA, "0.742", "kg", "2.22"),  # 0.742 × 2.99 = 2.21858 → 2.22
        (BANANA, "742", "g", "2.22"),  # same weight in grams
        (BANANA, "1", "lb", "1.36"),  # 0.45359237 kg × 2.99 = 1.356241... → 1.36
        (BANANA, "16", "oz", "1.36"),  # 16 oz = 1 lb
        (STEAK, "1", "kg", "19.82"),  # 8.99 / 0.45359237 = 19.81956... → 19.82
        (STEAK, "500", "g", "9.91"),  # 9.909781... → 9.91
        (STEAK, "12", "oz", "6.74"),  # 0.75 lb × 8.99 = 6.7425 → 6.74
        (STEAK, "0.5", "lb", "4.50"),  # 4.495 → 4.50
        (BANANA, "0.005", "kg", "0.01"),  # 0.01495 → 0.01
    ],
)
def test_weight_items_convert_exactly_and_round_half_up_once_cc_7c_1(
    rule, quantity, unit, expected
):
    """CC-7c.1: computed in Decimal, rounded to the cent once, half-up."""
    result = price([line("a", rule, quantity, unit)])

    assert result.lines[0].total == D(expected)
    assert result.total == D(expected)


def test_half_a_cent_rounds_up_not_to_even():
    # 0.5 lb × 0.25/lb = 0.125 → half-up 0.13 (half-even would give 0.12)
    result = price([line("a", product("X", "0.25", unit="LB"), "0.5", "lb")])

    assert result.total == D("0.13")


def test_yen_rounds_to_whole_yen():
    # 0.742 kg × 398 JPY/kg = 295.316 → 295
    result = price([line("a", product("X", "398", unit="KG"), "0.742", "kg")], currency="JPY")

    assert result.total == D("295")


def test_weight_for_a_unit_item_and_units_for_a_weight_item_are_mismatches():
    result = price([line("a", MILK, "0.5", "kg"), line("b", BANANA, "2", "unit")])

    assert [entry.status for entry in result.lines] == [UNIT_MISMATCH, UNIT_MISMATCH]
    assert not result.complete
    assert result.total == 0


# --- percent and amount off (CC-7c.2, CC-7c.3) ------------------------------------------------
def test_percent_off_rounds_the_discount_to_the_cent_cc_7c_2():
    # 3 × 0.99 = 2.97; 15 % = 0.4455 → 0.45; total 2.52
    off = PromotionRule("MILK15", "PERCENT_OFF", target_sku="MILK", percent=D("15"))

    result = price([line("a", MILK, "3")], off)

    assert totals(result) == (D("2.97"), D("0.45"), D("0.00"), D("2.52"))
    assert result.lines[0].discounts[0].promotion_code == "MILK15"


def test_percent_off_a_category_shares_one_rounded_discount_over_lines_cc_7c_2():
    # 10 % of 0.99 + 1.49 = 0.099 + 0.149 = 0.248 → 0.25 for the cart,
    # shared by largest remainder: 0.09 (+0.009) and 0.14 (+0.009): the tie goes to MILK's key
    off = PromotionRule("DAIRY10", "PERCENT_OFF", target_category="DAIRY", percent=D("10"))

    result = price([line("a", MILK), line("b", YOGURT)], off)

    assert [entry.discount_total for entry in result.lines] == [D("0.10"), D("0.15")]
    assert result.discount_total == D("0.25")
    assert result.total == D("2.23")


def test_amount_off_never_takes_a_line_below_zero_cc_7c_3():
    # 1.00 off each unit of a 0.99 item: the unit becomes free, not negative
    off = PromotionRule("DOLLAR", "AMOUNT_OFF", target_sku="MILK", amount=D("1.00"))

    result = price([line("a", MILK, "2"), line("b", CHEESE)], off)

    assert result.lines[0].total == D("0.00")
    assert result.lines[1].total == D("4.00")
    assert result.total == D("4.00")


# --- multi-buys and buy X get Y (CC-7c.4) -----------------------------------------------------
def test_buy_one_get_one_free_cc_7c_4():
    # BOGO on CHEESE: 3 units → one pair, 1 free; 3 × 4.00 − 4.00 = 8.00
    bogo = PromotionRule(
        "BOGO", "BUY_X_GET_Y", target_sku="CHEESE", quantity=1, get_quantity=1, percent=D("100")
    )

    result = price([line("a", CHEESE, "3")], bogo)

    assert totals(result) == (D("12.00"), D("4.00"), D("0.00"), D("8.00"))


def test_buy_one_get_one_half_price_on_a_category_frees_the_cheaper_of_each_pair_cc_7c_4():
    # DAIRY units dearest first: 4.00, 1.49, 1.49, 0.99 → pairs (4.00, 1.49) (1.49, 0.99):
    # half off 1.49 and 0.99 = 0.745 + 0.495 = 1.24
    bogo = PromotionRule(
        "HALF", "BUY_X_GET_Y", target_category="DAIRY", quantity=1, get_quantity=1, percent=D(50)
    )

    result = price([line("a", MILK), line("b", YOGURT, "2"), line("c", CHEESE)], bogo)

    assert result.discount_total == D("1.24")
    assert result.total == D("7.97") - D("1.24")


def test_three_for_two_frees_the_cheapest_of_each_group_of_three_cc_7c_4():
    # 7 DAIRY units dearest first: 4.00 4.00 1.49 | 1.49 1.49 0.99 | 0.99 → free 1.49 and 0.99
    three_for_two = PromotionRule(
        "3FOR2", "BUY_N_PAY_M", target_category="DAIRY", quantity=3, pay_quantity=2
    )

    result = price(
        [line("a", MILK, "2"), line("b", YOGURT, "3"), line("c", CHEESE, "2")], three_for_two
    )

    assert result.discount_total == D("2.48")
    assert result.subtotal == D("14.45")
    assert result.total == D("11.97")


def test_two_for_five_dollars_applies_only_where_it_saves_cc_7c_4():
    # SODA 1.50: no bundle would cost 5.00 > 3.00, so nothing; CHEESE 4.00: 2 for 5 saves 3.00
    soda = PromotionRule("SODA2", "BUNDLE_PRICE", target_sku="SODA", quantity=2, bundle_price=D(5))
    cheese = PromotionRule(
        "CHEESE2", "BUNDLE_PRICE", target_sku="CHEESE", quantity=2, bundle_price=D(5)
    )

    result = price([line("a", SODA, "2"), line("b", CHEESE, "5")], soda, cheese)

    assert result.lines[0].discount_total == 0
    # two bundles of two: 2 × (8.00 − 5.00) = 6.00; the fifth unit pays 4.00
    assert result.lines[1].discount_total == D("6.00")
    assert result.lines[1].net == D("14.00")


def test_mixed_bundle_shares_its_saving_in_proportion_to_price():
    # DAIRY 2 for 3.00: CHEESE 4.00 + YOGURT 1.49 = 5.49 → saving 2.49, shared 4.00:1.49
    # CHEESE 2.49 × 4.00/5.49 = 1.8142 → 1.81; YOGURT 0.6757 → 0.68 (largest remainder)
    bundle = PromotionRule(
        "DAIRY2", "BUNDLE_PRICE", target_category="DAIRY", quantity=2, bundle_price=D(3)
    )

    result = price([line("a", YOGURT), line("b", CHEESE)], bundle)

    assert [entry.net for entry in result.lines] == [D("0.81"), D("2.19")]
    assert result.total == D("3.00")


def test_buy_x_get_y_with_a_different_reward_rewards_the_dearest_reward_units():
    # buy 2 CHEESE, get 1 DRINKS item free: 2 sets possible by cheese, 1 by drinks bought
    reward = PromotionRule(
        "CHEESE_DRINK",
        "BUY_X_GET_Y",
        target_sku="CHEESE",
        reward_category="DRINKS",
        quantity=2,
        get_quantity=1,
    )

    result = price([line("a", CHEESE, "4"), line("b", SODA, "1")], reward)

    assert result.lines[1].discount_total == D("1.50")
    assert result.lines[0].discount_total == 0
    assert result.total == D("16.00")


# --- stacking, exclusivity, priority (CC-7c.5) ------------------------------------------------
def test_stackable_promotions_apply_one_after_the_other_cc_7c_5():
    # 10.00 item: 20 % → 8.00, then 10 % of 8.00 → 7.20 (in priority order)
    item = product("X", "10.00")
    first = PromotionRule("P20", "PERCENT_OFF", stacking="STACKABLE", priority=2, percent=D(20))
    second = PromotionRule("P10", "PERCENT_OFF", stacking="STACKABLE", priority=1, percent=D(10))

    result = price([line("a", item)], first, second)

    assert [d.promotion_code for d in result.lines[0].discounts] == ["P20", "P10"]
    assert [d.amount for d in result.lines[0].discounts] == [D("2.00"), D("0.80")]
    assert result.total == D("7.20")


def test_equal_priority_competitors_give_the_shopper_the_better_price_cc_7c_5():
    # exclusive 20 % off vs exclusive 1.00 off a 4.00 item: 0.80 vs 1.00 → the 1.00 wins
    percent = PromotionRule("PCT", "PERCENT_OFF", target_sku="CHEESE", percent=D(20))
    amount = PromotionRule("AMT", "AMOUNT_OFF", target_sku="CHEESE", amount=D("1.00"))

    result = price([line("a", CHEESE)], percent, amount)

    assert [d.promotion_code for d in result.lines[0].discounts] == ["AMT"]
    assert result.total == D("3.00")


def test_higher_priority_wins_even_when_it_saves_less_cc_7c_5():
    percent = PromotionRule("PCT", "PERCENT_OFF", target_sku="CHEESE", percent=D(20), priority=5)
    amount = PromotionRule("AMT", "AMOUNT_OFF", target_sku="CHEESE", amount=D("1.00"))

    result = price([line("a", CHEESE)], percent, amount)

    assert [d.promotion_code for d in result.lines[0].discounts] == ["PCT"]
    assert result.total == D("3.20")


def test_exclusive_promotion_locks_its_units_but_not_the_rest_cc_7c_5():
    # 3-for-2 (exclusive) uses 3 of 4 CHEESE; a stackable 10 % then only reaches the fourth
    three_for_two = PromotionRule(
        "3FOR2", "BUY_N_PAY_M", target_sku="CHEESE", quantity=3, pay_quantity=2, priority=1
    )
    ten = PromotionRule("TEN", "PERCENT_OFF", stacking="STACKABLE", percent=D(10))

    result = price([line("a", CHEESE, "4")], three_for_two, ten)

    # 16.00 − 4.00 (free unit) − 0.40 (10 % of the fourth) = 11.60
    assert result.total == D("11.60")


def test_same_cart_always_gives_the_same_total_cc_7c_5():
    promos = (
        PromotionRule(
            "A", "PERCENT_OFF", target_category="DAIRY", percent=D(10), stacking="STACKABLE"
        ),
        PromotionRule("B", "BUY_N_PAY_M", target_category="DAIRY", quantity=2, pay_quantity=1),
        PromotionRule("C", "SPEND_THRESHOLD", threshold=D(5), amount=D(1), stacking="STACKABLE"),
    )
    lines = [line("a", MILK, "3"), line("b", CHEESE, "2"), line("c", YOGURT)]

    first = price(lines, *promos)

    assert price(lines[::-1], *promos[::-1]).total == first.total
    assert price(lines, *promos) == first


# --- limits (CC-7c.6) --------------------------------------------------------------------------
def test_per_cart_cap_stops_the_promotion_after_its_limit_cc_7c_6():
    # 1.00 off each CHEESE, at most 2 units per cart: 5 × 4.00 − 2.00
    capped = PromotionRule(
        "CAP2", "AMOUNT_OFF", target_sku="CHEESE", amount=D(1), max_applications_per_cart=2
    )

    assert price([line("a", CHEESE, "5")], capped).total == D("18.00")


def test_per_cart_cap_on_a_multibuy_counts_groups_cc_7c_6():
    capped = PromotionRule(
        "3FOR2", "BUY_N_PAY_M", target_sku="CHEESE", quantity=3, pay_quantity=2,
        max_applications_per_cart=1,
    )  # fmt: skip

    assert price([line("a", CHEESE, "9")], capped).total == D("32.00")


def test_per_shopper_cap_counts_earlier_purchases_cc_7c_6():
    once = PromotionRule("WELCOME", "AMOUNT_OFF", amount=D(1), max_uses_per_shopper=1)
    lines = [line("a", CHEESE)]

    fresh = price(lines, once, shopper_known=True, shopper_uses={})
    used = price(lines, once, shopper_known=True, shopper_uses={"WELCOME": 1})
    anonymous = price(lines, once)

    assert (fresh.total, used.total, anonymous.total) == (D("3.00"), D("4.00"), D("4.00"))


def test_promotions_apply_only_inside_their_window_and_members_only_to_members():
    early = PromotionRule(
        "LATER", "AMOUNT_OFF", amount=D(1), starts_at=datetime(2025, 6, 1, tzinfo=UTC)
    )
    over = PromotionRule("OVER", "AMOUNT_OFF", amount=D(1), ends_at=AT)
    loyalty = PromotionRule("LOYAL", "PERCENT_OFF", percent=D(50), members_only=True)
    lines = [line("a", CHEESE)]

    assert price(lines, early, over, loyalty).total == D("4.00")
    assert price(lines, early, over, loyalty, members=True).total == D("2.00")


# --- basket promotions -------------------------------------------------------------------------
def test_spend_threshold_discount_is_shared_over_the_lines_it_covers():
    # spend 10.00 after item promotions, get 1.50 off: 12.00 of CHEESE + 0.99 MILK = 12.99 ≥ 10
    # shared 1.50 × 12.00/12.99 = 1.3857 → 1.39 and 1.50 × 0.99/12.99 = 0.1143 → 0.11
    spend = PromotionRule("SPEND10", "SPEND_THRESHOLD", threshold=D(10), amount=D("1.50"))

    result = price([line("a", CHEESE, "3"), line("b", MILK)], spend)

    assert [entry.discount_total for entry in result.lines] == [D("1.39"), D("0.11")]
    assert result.total == D("11.49")


def test_spend_threshold_not_reached_gives_nothing():
    spend = PromotionRule("SPEND10", "SPEND_THRESHOLD", threshold=D(10), percent=D(10))

    assert price([line("a", CHEESE, "2")], spend).discount_total == 0


def test_only_one_exclusive_basket_promotion_applies_the_better_one():
    five = PromotionRule("FIVE", "SPEND_THRESHOLD", threshold=D(10), amount=D(5))
    pct = PromotionRule("PCT", "SPEND_THRESHOLD", threshold=D(10), percent=D(20))

    result = price([line("a", CHEESE, "5")], five, pct)  # 20.00: 5.00 vs 4.00

    assert result.promotions_used == ("FIVE",)
    assert result.total == D("15.00")


# --- tax (CC-7c.7 … CC-7c.10) ------------------------------------------------------------------
def test_standard_sales_tax_is_added_and_rounded_to_the_cent_cc_7c_7():
    # 3 × 1.50 = 4.50 × 8.875 % = 0.399375 → 0.40
    result = price([line("a", SODA, "3")])

    assert totals(result) == (D("4.50"), D("0.00"), D("0.40"), D("4.90"))


def test_exempt_items_carry_no_tax_cc_7c_8():
    exempt = product("BREAD", "2.50", tax="EXEMPT", rate="0")

    result = price([line("a", exempt), line("b", SODA)])

    assert [entry.tax for entry in result.lines] == [D("0.00"), D("0.13")]  # 0.133125
    assert result.total == D("4.13")


def test_each_line_is_taxed_at_its_own_rate_cc_7c_9():
    food = product("FOOD", "10.00", tax="FOOD", rate="2.5")
    alcohol = product("WINE", "10.00", tax="ALCOHOL", rate="12.5")

    result = price([line("a", food), line("b", alcohol), line("c", SODA)])

    assert [entry.tax for entry in result.lines] == [D("0.25"), D("1.25"), D("0.13")]
    assert result.total == D("23.13")


def test_tax_is_computed_on_the_price_after_the_discount_cc_7c_10():
    # 4 × 1.50 = 6.00, 25 % off → 4.50, tax 8.875 % of 4.50 = 0.399375 → 0.40
    off = PromotionRule("Q", "PERCENT_OFF", target_sku="SODA", percent=D(25))

    result = price([line("a", SODA, "4")], off)

    assert totals(result) == (D("6.00"), D("1.50"), D("0.40"), D("4.90"))


def test_per_line_and_per_invoice_rounding_can_differ_by_a_cent():
    # three lines of 0.10 at 5 %: 0.005 each → per line 0.01 × 3 = 0.03; per invoice
    # 0.015 → 0.02, shared 0.01 + 0.01 + 0.00 (the lines still add up to the total)
    cheap = product("GUM", "0.10", rate="5")
    lines = [line("a", cheap), line("b", cheap), line("c", cheap)]

    per_line = price(lines)
    per_invoice = price(lines, rounding="PER_INVOICE")

    assert per_line.tax_total == D("0.03")
    assert per_invoice.tax_total == D("0.02")
    assert sum(entry.tax for entry in per_invoice.lines) == D("0.02")
    assert per_invoice.total == D("0.32")


def test_prices_including_tax_keep_the_shelf_price_and_extract_the_tax():
    # 1.50 includes 8.875 %: tax = 1.50 × 8.875/108.875 = 0.12227… → 0.12; total stays 1.50
    result = price([line("a", SODA)], inclusive=True)

    assert totals(result) == (D("1.50"), D("0.00"), D("0.12"), D("1.50"))


def test_inclusive_per_invoice_extracts_tax_from_the_sum_per_rate():
    # 3 × 0.99 at 20 % included: per line 0.165 → 0.17 × 3 = 0.51; per invoice 2.97/6 = 0.495 → 0.50
    item = product("X", "0.99", rate="20")
    lines = [line("a", item), line("b", item), line("c", item)]

    assert price(lines, inclusive=True).tax_total == D("0.51")
    assert price(lines, inclusive=True, rounding="PER_INVOICE").tax_total == D("0.50")


# --- totals (CC-7c.11 … CC-7c.13) --------------------------------------------------------------
def test_total_is_lines_minus_discounts_plus_tax_cc_7c_11():
    off = PromotionRule("Q", "PERCENT_OFF", target_sku="SODA", percent=D(25))

    result = price([line("a", SODA, "4"), line("b", CHEESE), line("c", BANANA, "0.742", "kg")], off)

    assert result.total == result.subtotal - result.discount_total + result.tax_total
    assert result.total == sum(entry.total for entry in result.lines)


def test_discounts_above_the_price_give_zero_never_negative_cc_7c_12():
    huge = PromotionRule("HUGE", "AMOUNT_OFF", amount=D("100.00"), stacking="STACKABLE")
    more = PromotionRule(
        "MORE", "SPEND_THRESHOLD", threshold=D(0), amount=D("50.00"), stacking="STACKABLE"
    )

    result = price([line("a", CHEESE, "2"), line("b", SODA)], huge, more)

    assert result.total == D("0.00")
    assert all(entry.total == 0 for entry in result.lines)
    assert result.complete


def test_total_keeps_at_most_nine_integer_digits_cc_7c_13():
    pricey = product("GOLD", "999999.99")

    fits = price([line("a", pricey, "999")])  # 998,999,990.01
    too_big = price([line("a", pricey, "1000"), line("b", pricey, "1")])
    line_too_big = price([line("a", pricey, "9999999999")])

    assert fits.total == D("998999990.01") and fits.complete
    assert too_big.problems == (TOTAL_OUT_OF_RANGE,) and not too_big.complete
    assert line_too_big.lines[0].status == AMOUNT_OUT_OF_RANGE


def test_huge_quantities_cost_no_more_than_small_ones():
    three_for_two = PromotionRule("3FOR2", "BUY_N_PAY_M", quantity=3, pay_quantity=2)

    result = price([line("a", product("PIN", "0.01"), "9999999")], three_for_two)

    # 3,333,333 groups free one cent each; one unit left over
    assert result.subtotal == D("99999.99")
    assert result.discount_total == D("33333.33")


def test_a_line_priced_by_hand_is_taxed_at_its_class_and_takes_no_promotion():
    manual = CartLine("m", "??", D(1), "unit", manual=ManualPrice(D("2.00"), "STD", D("10")))
    off = PromotionRule("ALL", "PERCENT_OFF", percent=D(50))

    result = price([manual], off)

    assert result.lines[0].status == MANUAL
    assert (result.lines[0].tax, result.total) == (D("0.20"), D("2.20"))

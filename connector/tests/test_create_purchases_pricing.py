# ruff: noqa: F811 - pytest fixtures imported from ordering.tests.fixtures
"""Pricing precision, section 7c of Amazon's credit-card test plan (CC-7c.1 … CC-7c.13), through
the signed Create Purchases endpoint: what is stored per line and per trip, and the total handed
to payments (the Adjust amount, capture and report amount). Also: a trip is priced with the
rules in force at its endTime, whatever was published since."""

from datetime import timedelta
from decimal import Decimal

import pytest

from catalog.tests import factories as catalog
from core import clock
from ordering.enums import LineStatus, PurchaseStatus
from ordering.models import LineDiscount, PromotionUse, Purchase
from ordering.tests.fixtures import NOW, PUBLISHED_AT, TRIP_END, business_time, publish_at  # noqa: F401
from ordering.tests.payloads import PATH, auth_event, cart, item
from tests.factories import make_store
from trips.enums import TripState
from trips.models import ShoppingTrip

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(db, business_time):
    for sku in ("MILK", "CHEESE", "SODA", "BREAD", "WINE", "BANANA", "GOLD"):
        catalog.product(sku)
    return make_store(store_id="STORE-001")


def buy(amazon_client, *items, store_id="STORE-001", **extra) -> Purchase:
    body = cart(store_id, list(items), **extra)
    response = amazon_client.post_signed(PATH, body)
    assert response.status_code == 201, response.content
    purchase = Purchase.objects.get(purchase_id=response.json()["purchaseId"])
    trip = ShoppingTrip.objects.get(shopping_trip_id=body["idempotentShoppingTripId"])
    if purchase.status == PurchaseStatus.PRICED:
        assert trip.cart_total == purchase.total  # the amount payments will adjust to
    return purchase


def line_totals(purchase):
    return [line.total for line in purchase.lines.order_by("position")]


def test_decimal_rounding_of_a_weight_line_cc_7c_1(amazon_client, store):
    """CC-7c.1: 0.742 kg at 2.99 USD/kg → 2.22, never 2.219."""
    publish_at(store, prices={"BANANA": (Decimal("2.99"), "KG", "STANDARD", None)})

    purchase = buy(amazon_client, item("BANANA", "0.742", "kg"))

    line = purchase.lines.get()
    assert (line.unit_price, line.gross, line.total) == (
        Decimal("2.99"),
        Decimal("2.22"),
        Decimal("2.22"),
    )
    assert purchase.total == Decimal("2.22")
    assert ShoppingTrip.objects.get().cart_total == Decimal("2.22")


def test_percentage_discount_gives_the_full_discounted_total_cc_7c_2(amazon_client, store):
    """CC-7c.2: 3 × 0.99, 15 % off → 2.97 − 0.45 = 2.52 (the full total, not a delta)."""
    publish_at(
        store,
        prices={"MILK": Decimal("0.99")},
        promotions=[
            {
                "code": "MILK15",
                "kind": "PERCENT_OFF",
                "target_product": "MILK",
                "percent": Decimal(15),
            }
        ],
    )

    purchase = buy(amazon_client, item("MILK", "3"))

    discount = LineDiscount.objects.get()
    assert (discount.promotion_code, discount.amount) == ("MILK15", Decimal("0.45"))
    assert discount.promotion.version_id == purchase.price_version_id
    assert (purchase.subtotal, purchase.discount_total, purchase.total) == (
        Decimal("2.97"),
        Decimal("0.45"),
        Decimal("2.52"),
    )


def test_fixed_amount_discount_never_below_zero_cc_7c_3(amazon_client, store):
    """CC-7c.3: 1.00 off a 0.99 item makes it free, not negative."""
    publish_at(
        store,
        prices={"MILK": Decimal("0.99"), "CHEESE": Decimal("4.00")},
        promotions=[{"code": "DOLLAR", "kind": "AMOUNT_OFF", "amount": Decimal("1.00")}],
    )

    purchase = buy(amazon_client, item("MILK"), item("CHEESE"))

    assert line_totals(purchase) == [Decimal("0.00"), Decimal("3.00")]
    assert purchase.total == Decimal("3.00")


def test_buy_one_get_one_cc_7c_4(amazon_client, store):
    """CC-7c.4: BOGO on 3 cheeses → one free; 12.00 − 4.00."""
    publish_at(
        store,
        prices={"CHEESE": Decimal("4.00")},
        promotions=[
            {
                "code": "BOGO",
                "kind": "BUY_X_GET_Y",
                "target_product": "CHEESE",
                "quantity": 1,
                "get_quantity": 1,
            }
        ],
    )

    purchase = buy(amazon_client, item("CHEESE", "3"))

    assert purchase.total == Decimal("8.00")


def test_stacked_promotions_apply_in_the_store_order_every_time_cc_7c_5(amazon_client, store):
    """CC-7c.5: 20 % (priority 2) then 10 % (priority 1), both stackable: 10.00 → 8.00 → 7.20;
    the same cart always gives the same total."""
    publish_at(
        store,
        prices={"WINE": Decimal("10.00")},
        promotions=[
            {
                "code": "P10",
                "kind": "PERCENT_OFF",
                "percent": Decimal(10),
                "stacking": "STACKABLE",
                "priority": 1,
            },
            {
                "code": "P20",
                "kind": "PERCENT_OFF",
                "percent": Decimal(20),
                "stacking": "STACKABLE",
                "priority": 2,
            },
        ],
    )

    first = buy(amazon_client, item("WINE"))
    second = buy(amazon_client, item("WINE"))

    discounts = list(
        first.lines.get().discounts.order_by("id").values_list("promotion_code", "amount")
    )
    assert discounts == [("P20", Decimal("2.00")), ("P10", Decimal("0.80"))]
    assert first.total == second.total == Decimal("7.20")


def test_promotion_stops_at_its_caps_cc_7c_6(amazon_client, store):
    """CC-7c.6: at most 2 units per cart, and once per shopper (keyed by shopperIdentity.id)."""
    publish_at(
        store,
        prices={"CHEESE": Decimal("4.00")},
        promotions=[
            {
                "code": "CAP2",
                "kind": "AMOUNT_OFF",
                "amount": Decimal(1),
                "max_applications_per_cart": 2,
            },
            {
                "code": "WELCOME",
                "kind": "SPEND_THRESHOLD",
                "threshold": Decimal(0),
                "amount": Decimal("0.50"),
                "max_uses_per_shopper": 1,
            },
        ],
    )

    first = buy(amazon_client, item("CHEESE", "5"))  # 20.00 − 2.00 − 0.50
    second = buy(amazon_client, item("CHEESE", "5"))  # the welcome offer is used up
    other_shopper = buy(amazon_client, item("CHEESE", "5"), shopper_id="shopper-002")
    anonymous = buy(amazon_client, item("CHEESE", "5"), shopper_id=None)

    assert first.total == Decimal("17.50")
    assert second.total == Decimal("18.00")
    assert other_shopper.total == Decimal("17.50")
    assert anonymous.total == Decimal("18.00")  # no identity to count against: not offered
    assert PromotionUse.objects.filter(promotion_code="WELCOME").count() == 2


def test_standard_sales_tax_cc_7c_7(amazon_client, store):
    """CC-7c.7: 3 × 1.50 at 8.875 % → tax 0.399375 → 0.40; total 4.90 goes to payments."""
    publish_at(store, prices={"SODA": Decimal("1.50")}, tax_rates={"STANDARD": Decimal("8.875")})

    purchase = buy(amazon_client, item("SODA", "3"))

    line = purchase.lines.get()
    assert (line.tax_category, line.tax_rate, line.tax) == (
        "STANDARD",
        Decimal("8.875"),
        Decimal("0.40"),
    )
    assert (purchase.tax_total, purchase.total) == (Decimal("0.40"), Decimal("4.90"))


def test_tax_exempt_items_cc_7c_8(amazon_client, store):
    """CC-7c.8"""
    publish_at(
        store,
        prices={"BREAD": (Decimal("2.50"), "UNIT", "EXEMPT", None), "SODA": Decimal("1.50")},
        tax_rates={"STANDARD": Decimal("8.875"), "EXEMPT": Decimal("0")},
    )

    purchase = buy(amazon_client, item("BREAD"), item("SODA"))

    assert [line.tax for line in purchase.lines.order_by("position")] == [
        Decimal("0.00"),
        Decimal("0.13"),
    ]
    assert purchase.total == Decimal("4.13")


def test_several_tax_rates_cc_7c_9(amazon_client, store):
    """CC-7c.9"""
    publish_at(
        store,
        prices={
            "BREAD": (Decimal("10.00"), "UNIT", "FOOD", None),
            "WINE": (Decimal("10.00"), "UNIT", "ALCOHOL", None),
        },
        tax_rates={"FOOD": Decimal("2.5"), "ALCOHOL": Decimal("12.5")},
    )

    purchase = buy(amazon_client, item("BREAD"), item("WINE"))

    assert [line.tax for line in purchase.lines.order_by("position")] == [
        Decimal("0.25"),
        Decimal("1.25"),
    ]
    assert purchase.total == Decimal("21.50")


def test_tax_on_discounted_items_cc_7c_10(amazon_client, store):
    """CC-7c.10: 4 × 1.50 = 6.00, 25 % off → 4.50; tax 8.875 % of 4.50 → 0.40."""
    publish_at(
        store,
        prices={"SODA": Decimal("1.50")},
        tax_rates={"STANDARD": Decimal("8.875")},
        promotions=[{"code": "Q", "kind": "PERCENT_OFF", "percent": Decimal(25)}],
    )

    purchase = buy(amazon_client, item("SODA", "4"))

    assert (purchase.subtotal, purchase.discount_total, purchase.tax_total, purchase.total) == (
        Decimal("6.00"),
        Decimal("1.50"),
        Decimal("0.40"),
        Decimal("4.90"),
    )


@pytest.mark.parametrize(("rounding", "tax"), [("PER_LINE", "0.03"), ("PER_INVOICE", "0.02")])
def test_the_store_rounding_rule_is_applied_cc_7c_11(amazon_client, store, rounding, tax):
    """CC-7c.11: total = Σ lines − discounts + tax, under each store rounding rule."""
    publish_at(
        store,
        prices={"MILK": Decimal("0.10"), "CHEESE": Decimal("0.10"), "BREAD": Decimal("0.10")},
        tax_rates={"STANDARD": Decimal("5")},
        tax_rounding=rounding,
    )

    purchase = buy(amazon_client, item("MILK"), item("CHEESE"), item("BREAD"))

    assert purchase.tax_total == Decimal(tax)
    assert purchase.total == purchase.subtotal - purchase.discount_total + purchase.tax_total
    assert purchase.total == sum(line_totals(purchase))
    assert purchase.tax_rounding == rounding


def test_prices_including_tax_keep_the_shelf_price(amazon_client, store):
    publish_at(
        store,
        prices={"SODA": Decimal("1.50")},
        tax_rates={"STANDARD": Decimal("8.875")},
        prices_include_tax=True,
    )

    purchase = buy(amazon_client, item("SODA"))

    assert (purchase.tax_total, purchase.total, purchase.prices_include_tax) == (
        Decimal("0.12"),
        Decimal("1.50"),
        True,
    )


def test_discounts_above_the_price_give_zero_and_the_trip_is_released_cc_7c_12(
    amazon_client, store
):
    """CC-7c.12: a zero total never goes to Adjust: the trip is EMPTY (Cancel, report 0/0) but
    keeps its non-empty purchaseId."""
    from core.models import OutboxMessage

    publish_at(
        store,
        prices={"MILK": Decimal("0.99")},
        promotions=[{"code": "FREE", "kind": "AMOUNT_OFF", "amount": Decimal("5.00")}],
    )

    purchase = buy(amazon_client, item("MILK", "2"))

    assert purchase.total == Decimal("0.00")
    assert purchase.purchase_id
    trip = ShoppingTrip.objects.get()
    assert (trip.state, trip.cart_total) == (TripState.EMPTY, Decimal("0.00"))
    assert OutboxMessage.objects.filter(kind="payments.start_charge").count() == 1


def test_large_cart_answers_quickly_and_keeps_nine_integer_digits_cc_7c_13(amazon_client, store):
    """CC-7c.13: 500 lines priced and stored in one request; a total of 10⁹ or more is not
    charged but held for review."""
    import time

    skus = [f"BULK-{n:03d}" for n in range(500)]
    for sku in skus:
        catalog.product(sku)
    publish_at(
        store,
        prices={**{sku: Decimal("19.99") for sku in skus}, "GOLD": Decimal("999999.99")},
        tax_rates={"STANDARD": Decimal("8.25")},
        promotions=[{"code": "TEN", "kind": "PERCENT_OFF", "percent": Decimal(10)}],
    )

    started = time.perf_counter()
    purchase = buy(amazon_client, *[item(sku, "3", lineItemId=sku) for sku in skus])
    elapsed = time.perf_counter() - started
    too_big = buy(amazon_client, item("GOLD", "1001"))

    assert elapsed < 10  # the simulator's delivery timeout (contract §1.6)
    assert purchase.lines.count() == 500
    # 500 × 59.97 = 29,985.00; 10 % is rounded once for the cart: 2,998.50, shared by largest
    # remainder (350 lines 6.00, 150 lines 5.99); tax 8.25 % of 53.97 or 53.98 → 4.45 per line
    assert purchase.discount_total == Decimal("2998.50")
    assert purchase.tax_total == Decimal("2225.00")
    assert purchase.total == Decimal("29211.50")
    assert too_big.status == PurchaseStatus.IN_REVIEW
    assert too_big.lines.get().status == LineStatus.AMOUNT_OUT_OF_RANGE


def test_loyalty_trip_gets_members_prices_cp_1_12(amazon_client, store):
    """CP-1.12: loyalty prices are applied by the retailer when a LOYALTY scan is present."""
    publish_at(
        store,
        prices={"CHEESE": Decimal("4.00")},
        promotions=[
            {"code": "MEMBERS", "kind": "PERCENT_OFF", "percent": Decimal(25), "members_only": True}
        ],
    )
    loyal = [auth_event(scanResult={"id": "card-1", "type": "LOYALTY"})]

    assert buy(amazon_client, item("CHEESE"), auth_events=loyal).total == Decimal("3.00")
    assert buy(amazon_client, item("CHEESE")).total == Decimal("4.00")


# --- price versions: a change never alters a trip in flight --------------------------------------
def test_a_trip_is_priced_with_the_rules_in_force_at_its_end_time(amazon_client, store):
    """The shopper left at 17:09:39; a price change published at 17:10 (before the cart
    arrives) does not apply to that trip, but applies to a trip that ended after it."""
    old = publish_at(store, prices={"CHEESE": Decimal("4.00")})
    new = publish_at(store, at=NOW, prices={"CHEESE": Decimal("5.00")}, reason="price rise")

    in_flight = buy(amazon_client, item("CHEESE"))
    later = buy(
        amazon_client,
        item("CHEESE"),
        start="2025-05-02T17:05:00Z",
        end=(NOW + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )

    assert (in_flight.total, in_flight.price_version) == (Decimal("4.00"), old)
    assert (later.total, later.price_version) == (Decimal("5.00"), new)


def test_a_scheduled_version_applies_from_its_effective_time(amazon_client, store):
    publish_at(store, prices={"CHEESE": Decimal("4.00")})
    publish_at(
        store,
        effective_from=TRIP_END + timedelta(hours=1),
        prices={"CHEESE": Decimal("3.00")},
        reason="evening sale",
    )

    assert buy(amazon_client, item("CHEESE")).total == Decimal("4.00")


def test_rollback_publishes_a_copy_of_the_earlier_version(amazon_client, store):
    from catalog.services.versions import price_version_rollback

    first = publish_at(
        store, at=PUBLISHED_AT - timedelta(hours=2), prices={"CHEESE": Decimal("4.00")}
    )
    publish_at(
        store,
        at=PUBLISHED_AT - timedelta(hours=1),
        prices={"CHEESE": Decimal("9.00")},
        reason="oops",
    )
    with clock.override(PUBLISHED_AT):
        rolled = price_version_rollback(to_version=first, actor=catalog.ACTOR, reason="wrong price")

    purchase = buy(amazon_client, item("CHEESE"))

    assert purchase.price_version == rolled
    assert rolled.number == 3 and rolled.based_on == first
    assert purchase.total == Decimal("4.00")
